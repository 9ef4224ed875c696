"""A saved Keras model's configuration as a flat list of layer calls.

Reads the plain-data config Keras writes (`config.json` of a `.keras` file,
`model_config` of a legacy `.h5` file, or `keras.saving.serialize_keras_object`
of a model): Keras 3's `inbound_nodes` (`args` holding `__keras_tensor__`
entries) and Keras 2's (`[[name, node, tensor, kwargs], ...]`). Nested
Sequential and functional models are flattened: their layers keep their own
names and read what the sub-model was called on. What the spec cannot say
(shared layers, several inputs or outputs, call arguments) becomes a problem of
the layer, never an exception; the caller lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODEL_CLASSES = frozenset({"Functional", "Sequential", "Model"})
INPUT = "input"  # the spec's name for the model input


@dataclass
class Call:
    """One layer call of the flattened graph."""

    name: str
    class_name: str
    module: str | None
    registered_name: str | None
    config: dict
    inputs: list[str]
    build_shape: list | None = None
    problems: list[str] = field(default_factory=list)
    # Numbers passed to an operation beside its tensors (`x + 3.0`).
    constants: list = field(default_factory=list)


@dataclass
class Graph:
    name: str
    input_shape: list | None
    calls: list[Call]
    output: str | None
    problems: list[str] = field(default_factory=list)  # model-level


def _entry_name(entry: dict) -> str:
    return entry.get("name") or entry.get("config", {}).get("name", "")


def _tensor_refs(args) -> list[tuple[str, int, int]]:
    """(layer, node index, tensor index) of every Keras 3 tensor in `args`."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            history = args["config"]["keras_history"]
            return [(history[0], int(history[1]), int(history[2]))]
        return [r for v in args.values() for r in _tensor_refs(v)]
    if isinstance(args, (list, tuple)):
        # Keras 2's [name, node, tensor, kwargs] form
        if len(args) in (3, 4) and isinstance(args[0], str):
            return [(args[0], int(args[1]), int(args[2]))]
        return [r for v in args for r in _tensor_refs(v)]
    return []


def _call_kwargs(node) -> dict:
    if isinstance(node, dict):
        return dict(node.get("kwargs") or {})
    found: dict = {}
    for ref in node:  # Keras 2: each input carries its call kwargs
        if isinstance(ref, (list, tuple)) and len(ref) == 4 and ref[3]:
            found.update(ref[3])
    return found


def _kwarg_problems(kwargs: dict) -> list[str]:
    # `training=False` is how keras.applications record a symbolic build,
    # and `mask=None` is the default: neither changes what the layer computes
    # in a spec.
    out = []
    for key, value in kwargs.items():
        if (key, value) in (("training", False), ("mask", None)):
            continue
        out.append(f"call argument {key}={value!r}")
    return out


def _constants(node) -> list:
    if not isinstance(node, dict):
        return []
    return [
        a for a in node.get("args", []) if isinstance(a, (int, float)) and a is not True
    ]


def _node_refs(node) -> list[tuple[str, int, int]]:
    if isinstance(node, dict):
        return _tensor_refs(node.get("args", []))
    return _tensor_refs(node)


@dataclass
class _Scope:
    """Name resolution inside one (sub-)model: inner name -> flat name."""

    alias: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _resolve(scope: _Scope, refs) -> tuple[list[str], list[str]]:
    names, problems = [], []
    for layer, node, tensor in refs:
        if node > 0:
            problems.append(f"reads call {node + 1} of '{layer}' (a shared layer)")
        if tensor > 0:
            problems.append(f"reads output {tensor} of '{layer}' (several outputs)")
        names.append(scope.alias.get(layer, layer))
    return names, problems


def _add_layer(scope: _Scope, entry: dict, inputs: list[str], problems, frozen):
    constants = _constants((entry.get("inbound_nodes") or [{}])[0])
    config = dict(entry.get("config") or {})
    if frozen:
        config["trainable"] = False
    scope.calls.append(
        Call(
            name=_entry_name(entry),
            class_name=entry["class_name"],
            module=entry.get("module"),
            registered_name=entry.get("registered_name"),
            config=config,
            inputs=inputs,
            build_shape=(entry.get("build_config") or {}).get("input_shape"),
            problems=problems,
            constants=constants,
        )
    )
    scope.alias.setdefault(_entry_name(entry), _entry_name(entry))


def _sequential(scope: _Scope, entry: dict, feeds: list[str], frozen: bool) -> str:
    config = entry["config"]
    frozen = frozen or config.get("trainable") is False
    current = feeds[0] if feeds else INPUT
    for layer in config.get("layers", []):
        if layer["class_name"] == "InputLayer":
            scope.alias[_entry_name(layer)] = current
            continue
        current = _layer(scope, layer, [current], [], frozen)
    return current


def _functional(scope: _Scope, entry: dict, feeds: list[str], frozen: bool) -> str:
    config = entry["config"]
    frozen = frozen or config.get("trainable") is False
    inputs = _io_names(config.get("input_layers"))
    if len(inputs) != len(feeds) and feeds:
        scope.problems.append(
            f"sub-model '{_entry_name(entry)}' takes {len(inputs)} inputs"
        )
    for name, feed in zip(inputs, feeds, strict=False):
        scope.alias[name] = feed
    for layer in config.get("layers", []):
        if layer["class_name"] == "InputLayer":
            scope.alias.setdefault(_entry_name(layer), INPUT)
            continue
        nodes = layer.get("inbound_nodes") or []
        if len(nodes) > 1:
            scope.problems.append(
                f"'{_entry_name(layer)}' ({layer['class_name']}) is called "
                f"{len(nodes)} times (a shared layer)"
            )
        refs = _node_refs(nodes[0]) if nodes else []
        names, problems = _resolve(scope, refs)
        if nodes:
            problems += _kwarg_problems(_call_kwargs(nodes[0]))
        _layer(scope, layer, names, problems, frozen)
    outputs = _io_names(config.get("output_layers"))
    if len(outputs) != 1:
        scope.problems.append(
            f"model '{_entry_name(entry)}' has {len(outputs)} outputs; a spec has one"
        )
    return scope.alias.get(outputs[0], outputs[0]) if outputs else INPUT


def _io_names(value) -> list[str]:
    """`input_layers`/`output_layers`: [name, 0, 0] or a list of those."""
    if not value:
        return []
    if isinstance(value[0], str):
        return [value[0]]
    return [v[0] for v in value]


def _layer(scope: _Scope, entry: dict, feeds: list[str], problems, frozen) -> str:
    """Add one layer, or flatten a sub-model; the flat name of its output."""
    name = _entry_name(entry)
    if entry["class_name"] in MODEL_CLASSES and "layers" in (entry.get("config") or {}):
        for problem in problems:
            scope.problems.append(f"sub-model '{name}': {problem}")
        if entry["class_name"] == "Sequential":
            out = _sequential(scope, entry, feeds, frozen)
        else:
            out = _functional(scope, entry, feeds, frozen)
        scope.alias[name] = out
        return out
    _add_layer(scope, entry, feeds, problems, frozen)
    return name


def input_shape(entry: dict) -> list | None:
    """The model input's shape without the batch axis, or None if unknown."""
    config = entry.get("config") or {}
    for layer in config.get("layers", []):
        if layer["class_name"] == "InputLayer":
            c = layer.get("config") or {}
            shape = c.get("batch_shape") or c.get("batch_input_shape")
            return list(shape[1:]) if shape else None
        inner = layer.get("config") or {}
        if "batch_input_shape" in inner:  # Keras 2: on the first layer
            return list(inner["batch_input_shape"][1:])
        if layer["class_name"] in MODEL_CLASSES:
            return input_shape(layer)
        break
    built = config.get("build_input_shape") or (entry.get("build_config") or {}).get(
        "input_shape"
    )
    return list(built[1:]) if built else None


def flatten(entry: dict) -> Graph:
    """The flat graph of a serialized model (`{"class_name", "config"}`)."""
    scope = _Scope()
    if entry.get("class_name") not in MODEL_CLASSES:
        return Graph(
            name="model",
            input_shape=None,
            calls=[],
            output=None,
            problems=[
                f"class {entry.get('class_name')!r} is not a Sequential or "
                "functional model: a subclassed model's layers are Python code, "
                "not saved configuration"
            ],
        )
    config = entry.get("config") or {}
    if len(_io_names(config.get("input_layers"))) > 1:
        scope.problems.append("the model has several inputs; a spec has one")
    output = _layer(scope, entry, [INPUT], [], False)
    return Graph(
        name=config.get("name") or "model",
        input_shape=input_shape(entry),
        calls=scope.calls,
        output=output,
        problems=scope.problems,
    )
