"""Reports built by hand (no checker), for drawing and diff tests that must not
depend on shape inference."""

from __future__ import annotations

from pydantic import TypeAdapter

from modelspec.diagnostics import Diagnostic
from modelspec.report import LayerInfo, Node, Report
from modelspec.schema import Layer

_LAYER = TypeAdapter(Layer)


def make_report(name, input_shape, rows, diagnostics=(), file="<hand>"):
    """rows: (table, output_shape or None, params or None). Inputs default to
    the previous layer; names default to '<type>_<n>'."""
    nodes, layers, counts = [], [], {}
    prev = "input"
    for i, (table, shape, params) in enumerate(rows):
        counts[table["type"]] = counts.get(table["type"], 0) + 1
        lname = table.get("name") or f"{table['type']}_{counts[table['type']]}"
        try:
            layer = _LAYER.validate_python(table)
        except Exception:
            layer = None
        inputs = list(table.get("inputs") or [prev])
        nodes.append(Node(i, lname, table["type"], inputs, layer, dict(table)))
        if shape is not None:
            layers.append(
                LayerInfo(
                    i,
                    lname,
                    table["type"],
                    inputs,
                    tuple(shape),
                    params or 0,
                    params or 0,
                    0,
                )
            )
        prev = lname
    raw = {
        "model": {"name": name, "input": list(input_shape)},
        "layers": [dict(t) for t, _, _ in rows],
    }
    return Report(
        file=file, diagnostics=list(diagnostics), nodes=nodes, layers=layers, raw=raw
    )


def resnet_report():
    def c(n, f, **kw):
        return {
            "type": "conv2d",
            "name": n,
            "filters": f,
            "kernel": 3,
            "padding": "same",
            "activation": "relu",
            **kw,
        }

    rows = [
        (c("conv1", 32, padding="valid"), (30, 30, 32), 896),
        (c("conv2", 64, padding="valid"), (28, 28, 64), 18496),
        ({"type": "max_pool2d", "name": "pool1", "pool": 3}, (9, 9, 64), 0),
        (c("b1_conv1", 64), (9, 9, 64), 36928),
        (c("b1_conv2", 64), (9, 9, 64), 36928),
        (
            {"type": "add", "name": "b1_add", "inputs": ["b1_conv2", "pool1"]},
            (9, 9, 64),
            0,
        ),
        (c("b2_conv1", 64), (9, 9, 64), 36928),
        (c("b2_conv2", 64), (9, 9, 64), 36928),
        (
            {"type": "add", "name": "b2_add", "inputs": ["b2_conv2", "b1_add"]},
            (9, 9, 64),
            0,
        ),
        (c("conv3", 64, padding="valid"), (7, 7, 64), 36928),
        ({"type": "global_avg_pool2d", "name": "gap"}, (64,), 0),
        (
            {"type": "dense", "name": "fc1", "units": 256, "activation": "relu"},
            (256,),
            16640,
        ),
        ({"type": "dropout", "name": "drop", "rate": 0.5}, (256,), 0),
        ({"type": "dense", "name": "logits", "units": 10}, (10,), 2570),
    ]
    return make_report("toy_resnet", (32, 32, 3), rows)


def broken_report():
    """Seed 000's dead conv4, a kernel too large, and an unknown reference."""
    rows = [
        (
            {
                "type": "conv2d",
                "name": "conv1",
                "filters": 64,
                "kernel": 5,
                "padding": "same",
            },
            (24, 24, 64),
            4864,
        ),
        (
            {
                "type": "conv2d",
                "name": "conv4",
                "filters": 64,
                "kernel": 5,
                "padding": "same",
            },
            (24, 24, 64),
            102464,
        ),
        (
            {
                "type": "max_pool2d",
                "name": "pool1",
                "pool": 3,
                "strides": 2,
                "inputs": ["conv1"],
            },
            (11, 11, 64),
            0,
        ),
        ({"type": "conv2d", "name": "conv2", "filters": 64, "kernel": 128}, None, None),
        ({"type": "concat", "name": "cat", "inputs": ["conv2", "pool9"]}, None, None),
        ({"type": "flatten", "name": "flat"}, None, None),
        ({"type": "dense", "name": "logits", "units": 10}, None, None),
    ]
    diags = [
        Diagnostic(
            "MS205",
            "dead layer: nothing reads the output of 'conv4'",
            layer="conv4",
            index=1,
            layer_type="conv2d",
        ),
        Diagnostic(
            "MS206",
            "kernel 128x128 is larger than its 11x11 input & <x>",
            layer="conv2",
            index=3,
            layer_type="conv2d",
        ),
        Diagnostic(
            "MS202", "unknown input 'pool9'", layer="cat", index=4, layer_type="concat"
        ),
        Diagnostic(
            "MS303", "learning rate 0.1 is far outside adam's range", severity="warning"
        ),
    ]
    return make_report("cifar_broken", (24, 24, 3), rows, diags)
