"""`modelspec import`, the framework-free half (modelspec/importer): Keras
configs written here as plain data, as Keras 3 and Keras 2 save them.

The Keras half (build -> save -> import -> same layers and outputs) is
tests/test_import_keras.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelspec.errors import ModelspecError
from modelspec.importer import CLASSES, flatten, import_spec, render
from modelspec.importer.convert import spec_document
from modelspec.importer.mapping import markdown_table
from modelspec.schema import LAYER_TYPES
from modelspec.source import tomllib

ROOT = Path(__file__).resolve().parents[1]


def tensor(name: str, node: int = 0, index: int = 0) -> dict:
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": [None],
            "dtype": "float32",
            "keras_history": [name, node, index],
        },
    }


def layer(cls: str, name: str, inputs=(), module="keras.layers", kwargs=None, **config):
    args = [tensor(i) for i in inputs]
    return {
        "module": module,
        "class_name": cls,
        "registered_name": None,
        "name": name,
        "config": {"name": name, "trainable": True, **config},
        "inbound_nodes": [
            {"args": args if len(args) < 2 else [args], "kwargs": kwargs or {}}
        ]
        if inputs
        else [],
    }


def functional(layers, name="net", shape=(8, 8, 3), output=None) -> dict:
    first = layer("InputLayer", "in_0")
    first["config"] = {"batch_shape": [None, *shape], "name": "in_0"}
    return {
        "module": "keras",
        "class_name": "Functional",
        "config": {
            "name": name,
            "layers": [first, *layers],
            "input_layers": [["in_0", 0, 0]],
            "output_layers": [[output or layers[-1]["name"], 0, 0]],
        },
    }


def sequential(layers, name="seq", shape=(8, 8, 3)) -> dict:
    first = {
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, *shape], "name": "x"},
    }
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": name, "layers": [first, *[_plain(x) for x in layers]]},
    }


def _plain(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")}


def conv(name, inputs=(), **extra) -> dict:
    base = {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same"}
    return layer("Conv2D", name, inputs, **{**base, **extra})


def test_every_spec_layer_kind_has_an_import():
    assert {m.spec_type for m in CLASSES.values()} == set(LAYER_TYPES)


def test_a_functional_model_becomes_a_spec_with_defaults_left_out():
    doc = spec_document(
        flatten(
            functional(
                [
                    conv("a", ["in_0"], activation="relu", use_bias=True),
                    conv("b", ["a"], strides=[2, 2]),
                    conv("c", ["a"], strides=[2, 2]),
                    layer("Add", "sum", ["b", "c"]),
                ]
            )
        ),
        "net.keras",
    )
    assert doc["model"] == {"name": "net", "input": [8, 8, 3]}
    assert doc["layers"] == [
        {
            "type": "conv2d",
            "name": "a",
            "filters": 4,
            "kernel": 3,
            "padding": "same",
            "activation": "relu",
        },
        {
            "type": "conv2d",
            "name": "b",
            "filters": 4,
            "kernel": 3,
            "strides": 2,
            "padding": "same",
        },
        {
            "type": "conv2d",
            "name": "c",
            "inputs": ["a"],
            "filters": 4,
            "kernel": 3,
            "strides": 2,
            "padding": "same",
        },
        {"type": "add", "name": "sum", "inputs": ["b", "c"]},
    ]


def test_nested_models_are_flattened_with_their_names_and_frozen_state():
    inner = sequential([conv("s1"), conv("s2")], name="stem")
    inner["config"]["trainable"] = False
    inner["name"] = "stem"
    inner["inbound_nodes"] = [{"args": [tensor("in_0")], "kwargs": {"mask": None}}]
    graph = flatten(functional([inner, conv("head", ["stem"])]))
    assert [(c.name, c.inputs, c.config["trainable"]) for c in graph.calls] == [
        ("s1", ["input"], False),
        ("s2", ["s1"], False),
        ("head", ["s2"], True),
    ]
    assert graph.output == "head" and graph.problems == []


def test_keras2_inbound_nodes_and_input_shape_are_read():
    entry = {
        "class_name": "Model",
        "config": {
            "name": "old",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "input_1",
                    "config": {"batch_input_shape": [None, 4], "name": "input_1"},
                    "inbound_nodes": [],
                },
                {
                    "class_name": "Dense",
                    "name": "d",
                    "config": {
                        "name": "d",
                        "units": 2,
                        "activation": "softmax",
                        "kernel_initializer": {
                            "class_name": "GlorotUniform",
                            "config": {"seed": None},
                        },
                    },
                    "inbound_nodes": [[["input_1", 0, 0, {}]]],
                },
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["d", 0, 0]],
        },
    }
    doc = spec_document(flatten(entry), "old.h5")
    assert doc == {
        "model": {"name": "old", "input": [4]},
        "layers": [{"type": "dense", "name": "d", "units": 2, "activation": "softmax"}],
    }


def test_every_inexpressible_layer_is_listed_in_one_error():
    lam = layer("Lambda", "lam", ["in_0"], function="...")
    custom = layer("Swish2", "mine", ["lam"], module="my_package.layers")
    custom["registered_name"] = "my_package>Swish2"
    bad = conv(
        "c", ["mine"], padding="causal", kernel_constraint={"class_name": "NonNeg"}
    )
    shared = conv("twice", ["c"])
    shared["inbound_nodes"].append(shared["inbound_nodes"][0])
    op = layer("Add", "plus3", ["twice"], module="keras.src.ops.numpy")
    op["inbound_nodes"][0]["args"].append(3.0)
    drop = layer("Dropout", "mc", ["plus3"], kwargs={"training": True}, rate=0.5)
    with pytest.raises(ModelspecError) as e:
        spec_document(
            flatten(functional([lam, custom, bad, shared, op, drop])), "m.keras"
        )
    message = e.value.message
    assert "6 things cannot be expressed" in message, message
    for needle in [
        "layers[0] lam (Lambda): runs Python code",
        "layers[1] mine (Swish2): custom class 'my_package>Swish2'",
        "layers[2] c (Conv2D): kernel_constraint='NonNeg'",
        "model: 'twice' (Conv2D) is called 2 times (a shared layer)",
        "layers[4] plus3 (Add): a constant operand 3.0",
        "layers[5] mc (Dropout): call argument training=True",
    ]:
        assert needle in message, message
    assert e.value.exit_code == 1


def test_an_unsupported_value_is_named_by_its_field():
    with pytest.raises(ModelspecError) as e:
        spec_document(flatten(functional([conv("c", ["in_0"], padding="causal")])), "m")
    assert "layers[0] c (Conv2D): padding:" in e.value.message


def test_several_outputs_and_open_input_shapes_are_errors():
    entry = functional([conv("a", ["in_0"]), conv("b", ["a"])], shape=(None, None, 3))
    entry["config"]["output_layers"] = [["a", 0, 0], ["b", 0, 0]]
    with pytest.raises(ModelspecError) as e:
        spec_document(flatten(entry), "m")
    assert "has 2 outputs" in e.value.message
    assert "input shape [None, None, 3] is not fixed" in e.value.message


def test_hard_sigmoid_written_as_three_operations_is_one_activation():
    relu = layer("ReLU", "r", ["p"], max_value=6.0, negative_slope=0.0, threshold=0.0)
    plus = layer("Add", "p", ["c"], module="keras.src.ops.numpy")
    plus["inbound_nodes"][0]["args"].append(3.0)
    times = layer("Multiply", "t", ["r"], module="keras.src.ops.numpy")
    times["inbound_nodes"][0]["args"].append(1 / 6)
    gate = layer("Multiply", "gate", ["c", "t"], module="keras.src.ops.numpy")
    doc = spec_document(
        flatten(functional([conv("c", ["in_0"]), plus, relu, times, gate])), "m"
    )
    assert [(x["type"], x["name"], x.get("inputs")) for x in doc["layers"]] == [
        ("conv2d", "c", None),
        ("activation", "t", None),
        ("multiply", "gate", ["c", "t"]),
    ]
    assert doc["layers"][1]["activation"] == "hard_sigmoid"


def test_import_spec_checks_the_result_and_sets_classes():
    entry = sequential(
        [layer("Flatten", "f"), layer("Dense", "d", units=3, activation="softmax")],
        shape=(2, 2),
    )
    text, report = import_spec(entry, source="s.keras", weights_file="s.weights.h5")
    assert report.ok and report.total_params == 15
    data = tomllib.loads(text)
    assert data["model"] == {"name": "seq", "input": [2, 2], "classes": 3}
    assert data["transfer"] == {"from": "s.weights.h5"}


STRANGE = {
    "model": {"name": "m", "input": [2, 3]},
    "vars": {"eps": 1e-05, "w": [1, 2], "big": 1e300, "tiny": -0.0},
    "layers": [
        {"type": "dense", "name": "d", "units": 2, "note": 'quote " back \\ tab\t é'}
    ],
    "train": {"optimizer": {"type": "sgd", "learning_rate": 0.1}, "metrics": []},
    "blocks": {
        "two-words": {
            "args": ["n"],
            "defaults": {"n": 1},
            "layers": [{"type": "dense", "name": "x", "units": "${n}"}],
        }
    },
}


def test_the_toml_writer_reads_back_to_the_same_document():
    text = render(STRANGE, ["a comment"])
    assert text.startswith("# a comment\n")
    assert tomllib.loads(text) == STRANGE
    assert "[blocks.two-words]" in text
    assert text.index("layers = [") < text.index("[train]") < text.index("[blocks.")


def test_the_readme_table_of_classes_is_the_code_s():
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme
    assert markdown_table().count("\n") == len(CLASSES) + 1


def test_fold_output_is_written_as_blocks_and_checks_to_the_same_layers(monkeypatch):
    """The --fold wiring: fold_layers' (blocks, layers) become [blocks.*]
    tables and use entries, and the written spec expands to the flat layers.
    A stand-in fold_layers keeps this test about the wiring, not the folding
    (tests/test_fold.py tests that)."""
    dense = {"type": "dense", "units": 4, "activation": "relu"}

    def fold_layers(layers):
        assert [x["name"] for x in layers] == ["f", "b1_d", "b2_d", "out"]
        block = {"args": [], "layers": [{**dense, "name": "d"}]}
        use = {"use": "twice", "name": "b${i}", "repeat": 2}
        return {"twice": block}, [layers[0], use, layers[-1]]

    monkeypatch.setattr("modelspec.importer.fold.fold_layers", fold_layers)
    entry = sequential(
        [
            layer("Flatten", "f"),
            layer("Dense", "b1_d", units=4, activation="relu"),
            layer("Dense", "b2_d", units=4, activation="relu"),
            layer("Dense", "out", units=2),
        ],
        shape=(3, 3),
    )
    _, flat = import_spec(entry, source="s.keras")
    text, folded = import_spec(entry, source="s.keras", fold=True)
    assert "[blocks.twice]" in text and 'use = "twice"' in text
    assert [(li.name, li.type, li.output_shape, li.params) for li in folded.layers] == [
        (li.name, li.type, li.output_shape, li.params) for li in flat.layers
    ]


def test_a_keras_file_imports_without_the_framework(tmp_path):
    """Import reads a .keras file's config.json: no TensorFlow, Keras or numpy
    (as on a core-only install) unless --weights asks for the weights."""
    import json
    import zipfile

    from test_missing_extra import run_blocked

    entry = sequential(
        [layer("Flatten", "f"), layer("Dense", "d", units=2)], shape=(3, 3)
    )
    with zipfile.ZipFile(tmp_path / "tiny.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(entry))
    p = run_blocked("import", "tiny.keras", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "wrote tiny.toml: 2 layers, 20 parameters" in p.stdout
    assert tomllib.loads((tmp_path / "tiny.toml").read_text())["model"]["classes"] == 2
    p = run_blocked("import", "tiny.keras", "-o", "w.toml", "--weights", cwd=tmp_path)
    assert p.returncode == 2 and "[cpu]" in p.stderr, p.stderr
    assert not (tmp_path / "w.toml").exists()


def test_fold_makes_a_repeating_import_shorter_with_the_same_layers():
    """The real fold_layers through import_spec: six equal units fold."""
    units = []
    for i in range(1, 7):
        units += [
            layer("Dense", f"u{i}_fc", units=4, activation="relu"),
            layer("Dropout", f"u{i}_drop", rate=0.1),
            layer("Dense", f"u{i}_out", units=4),
        ]
    entry = sequential([layer("Flatten", "f"), *units], shape=(2, 2))
    flat_text, flat = import_spec(entry, source="s.keras")
    text, folded = import_spec(entry, source="s.keras", fold=True)
    assert "[blocks." in text and len(text.splitlines()) < len(flat_text.splitlines())
    assert [(li.name, li.type, li.output_shape, li.params) for li in folded.layers] == [
        (li.name, li.type, li.output_shape, li.params) for li in flat.layers
    ]
