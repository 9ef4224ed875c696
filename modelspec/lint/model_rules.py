"""Lint rules over the model alone: its assertions (`expect_params`,
`classes`) and what a careful reviewer would flag in the architecture.

Each rule is a small function over `LintContext` yielding diagnostics; `RULES`
lists them in the order they run. The rules only read; they never change the
spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..diagnostics import Diagnostic
from ..report import Node
from ..schema.common import IDENTITY_ACTIVATIONS, PROBABILITY_ACTIVATIONS
from ..shapes.base import fmt
from .context import LintContext, output_activation


def _layer_path(node: Node, key: str | None = None) -> tuple:
    return ("layers", node.index) + ((key,) if key else ())


# -- model-level assertions (errors) -------------------------------------------


def expect_params(c: LintContext) -> Iterable[Diagnostic]:
    if c.model is None or c.model.expect_params is None:
        return
    if not c.infos or len(c.infos) != len(c.nodes):
        return  # some layer has no shape: the total would be a guess
    total = sum(li.params for li in c.infos.values())
    if total != c.model.expect_params:
        biggest = max(c.infos.values(), key=lambda li: li.params)
        yield c.diag(
            "MS210",
            f"expect_params = {c.model.expect_params:,}, but the model has "
            f"{total:,} parameters ({total - c.model.expect_params:+,})",
            ("model", "expect_params"),
            hint=f"the largest layer is '{biggest.name}' with {biggest.params:,}; "
            "`modelspec check` lists every layer's count",
        )


def classes_match(c: LintContext) -> Iterable[Diagnostic]:
    out = c.output
    if c.model is None or out is None or out.name not in c.infos:
        return
    shape = c.infos[out.name].output_shape
    if c.model.classes is not None and shape != (c.model.classes,):
        hint = f"the last layer must give ({c.model.classes},)"
        if len(shape) > 1:
            hint = (
                f"dense works on the last axis, so {fmt(shape)} keeps the "
                "spatial axes: add a flatten or global_avg_pool2d layer before "
                "the dense layers"
            )
        yield c.diag(
            "MS212",
            f"the output of '{out.name}' is {fmt(shape)}, not ({c.model.classes},) "
            f"as classes = {c.model.classes} requires",
            ("model", "classes"),
            node=None,
            hint=hint,
        )
    elif c.model.classes is None and len(shape) != 1:
        yield c.warn(
            "MS309",
            f"the model output {fmt(shape)} is not a vector of class scores",
            _layer_path(out),
            node=out,
            hint="add a flatten or global pooling layer, or set "
            "[model] classes to have it checked",
        )


# -- warnings about the architecture --------------------------------------------


def relu_logits(c: LintContext) -> Iterable[Diagnostic]:
    found = output_activation(c.nodes)
    if found is None:
        return
    node, act = found
    if act in IDENTITY_ACTIVATIONS or act in PROBABILITY_ACTIVATIONS:
        return
    if act is None or c.output is None:  # found means there is an output
        return
    via = (
        ""
        if node is c.output
        else f" (it reaches the output through '{c.output.name}')"
    )
    yield c.warn(
        "MS301",
        f"the output logits come from activation '{act}' on '{node.name}'{via}; "
        f"{act} limits the scores the loss can see",
        _layer_path(node, "activation"),
        node=node,
        hint="remove the activation of the last scoring layer: logits must be "
        "free to go negative (the loss applies softmax itself)",
    )


# Kinds that work across the positions of a feature map, not position by position.
SPATIAL_KINDS = frozenset(
    {
        "conv2d",
        "depthwise_conv2d",
        "separable_conv2d",
        "conv2d_transpose",
        "max_pool2d",
        "avg_pool2d",
        "global_avg_pool2d",
        "global_max_pool2d",
        "zero_pad2d",
        "cropping2d",
        "upsampling2d",
    }
)


def _read_as_map(nodes: list[Node]) -> set[str]:
    """Names of the layers whose output reaches a SPATIAL_KINDS layer: their
    output is used as a feature map later on. One backward pass (nodes are in
    graph order, every layer reads only earlier ones)."""
    out: set[str] = set()
    for node in reversed(nodes):
        if node.type in SPATIAL_KINDS or node.name in out:
            out.update(node.inputs)
    return out


def dense_on_feature_map(c: LintContext) -> Iterable[Diagnostic]:
    # A dense layer on a map is position-wise. That is the design when its
    # output goes on as a map into a convolution or pooling (ConvNeXt's
    # pointwise layers, a transformer's MLP); it is the usual mistake when
    # only flatten, dense and the like follow (the author meant the whole map).
    as_map = _read_as_map(c.nodes)
    for node in c.nodes:
        if node.type != "dense" or node.layer is None or node.name in as_map:
            continue
        src = c.infos.get(node.inputs[0]) if node.inputs else None
        shape = (
            src.output_shape
            if src
            else (
                tuple(c.model.input) if c.model and node.inputs == ["input"] else None
            )
        )
        if shape is not None and len(shape) > 1:
            yield c.warn(
                "MS306",
                f"dense reads {fmt(shape)}, a rank-{len(shape)} input: it is applied "
                "at every position, not to the whole feature map",
                _layer_path(node),
                node=node,
                hint="add a flatten (or global_avg_pool2d) layer before it",
            )


def softmax_hidden(c: LintContext) -> Iterable[Diagnostic]:
    for node in c.nodes[:-1]:
        act = getattr(node.layer, "activation", None)
        if act == "softmax":
            yield c.warn(
                "MS307",
                "softmax on a hidden layer squashes its features into one distribution",
                _layer_path(node, "activation"),
                node=node,
                hint="use relu (or another activation) here; "
                "softmax belongs on the output, if anywhere",
            )


def linear_stack(c: LintContext) -> Iterable[Diagnostic]:
    weighted = ("conv2d", "dense")
    for node in c.nodes:
        if node.type not in weighted or node.layer is None:
            continue
        if node.layer.activation not in (None, "linear"):
            continue
        readers = [n for n in c.nodes if node.name in n.inputs]
        if len(readers) == 1 and readers[0].type == "dense" and node.type == "dense":
            yield c.warn(
                "MS308",
                f"'{node.name}' has no activation and feeds dense '{readers[0].name}'"
                ": two linear layers compute what one would",
                _layer_path(node),
                node=node,
                hint="give it an activation such as relu",
            )


def dropout_rates(c: LintContext) -> Iterable[Diagnostic]:
    for node in c.nodes:
        if node.type == "dropout" and node.layer is not None and node.layer.rate >= 0.9:
            yield c.warn(
                "MS304",
                f"rate = {node.layer.rate} drops "
                f"{node.layer.rate:.0%} of the inputs in training",
                _layer_path(node, "rate"),
                node=node,
                hint="rate is the fraction dropped, not kept (TF 1's "
                "keep_prob was the opposite): 0.5 is typical",
            )
    out = c.output
    if out is not None and out.type == "dropout":
        yield c.warn(
            "MS310",
            "dropout is the last layer: the output is randomly zeroed in training",
            _layer_path(out),
            node=out,
            hint="put dropout before the final dense layer",
        )


def reshape_batch_axis(c: LintContext) -> Iterable[Diagnostic]:
    for node in c.nodes:
        info = c.infos.get(node.name)
        if node.type != "reshape" or info is None or node.layer.shape[0] != -1:
            continue
        if info.output_shape[0] > 1:
            yield c.warn(
                "MS311",
                f"shape = {node.layer.shape} gives {fmt(info.output_shape)}: the -1 "
                f"became {info.output_shape[0]}, because shapes here have no batch "
                "axis",
                _layer_path(node, "shape"),
                node=node,
                hint="TF 1's tf.reshape(x, [-1, n]) meant batch -1; here write "
                "shape = [n] or use a flatten layer",
            )


def weights_fit_in_memory(c: LintContext) -> Iterable[Diagnostic]:
    from ..resources import gib, machine_memory, weight_bytes

    total = sum(li.params for li in c.infos.values())
    memory = machine_memory()
    if memory is None or weight_bytes(total) <= memory:
        return
    biggest = max(c.infos.values(), key=lambda li: li.params)
    yield c.warn(
        "MS312",
        f"the model has {total:,} parameters: its float32 weights alone need "
        f"{gib(weight_bytes(total))}, more than this machine's {gib(memory)} of "
        "memory",
        ("model",),
        hint=f"the largest layer is '{biggest.name}' with {biggest.params:,} "
        "parameters; training needs about four times the weights (gradients and "
        "optimizer state)",
    )


RULES: list[Callable[[LintContext], Iterable[Diagnostic]]] = [
    expect_params,
    classes_match,
    relu_logits,
    dense_on_feature_map,
    softmax_hidden,
    linear_stack,
    dropout_rates,
    reshape_batch_axis,
    weights_fit_in_memory,
]
