"""Keras operations recorded in a functional graph (`x + 3.0`, `a * b`).

Keras 3 saves an operator applied to symbolic tensors as a node of class
`keras.src.ops.numpy.Add`, `Multiply`, ...: between two tensors it is the
matching merge layer; MobileNetV3's hard sigmoid, `relu6(x + 3) * (1 / 6)`, is
three nodes that together are the spec's `hard_sigmoid` activation. Anything
else with a constant stays as it is and is reported.
"""

from __future__ import annotations

from collections import Counter

from .graph import Call

OPS_MODULE = "keras.src.ops"
# Operations that, between two tensors, are a merge layer of the same name.
MERGE_OPS = frozenset({"Add", "Multiply", "Subtract", "Maximum"})


def is_op(call: Call) -> bool:
    return (call.module or "").startswith(OPS_MODULE)


def _is(call: Call, class_name: str, constant: float) -> bool:
    return (
        is_op(call)
        and call.class_name == class_name
        and len(call.inputs) == 1
        and len(call.constants) == 1
        and abs(call.constants[0] - constant) < 1e-7
    )


def _is_relu6(call: Call) -> bool:
    c = call.config
    return (
        call.class_name == "ReLU"
        and c.get("max_value") == 6
        and not c.get("negative_slope")
        and not c.get("threshold")
        and c.get("trainable", True) is not False
    )


def fuse_hard_sigmoid(calls: list[Call]) -> list[Call]:
    """Each `add 3 -> relu6 -> multiply 1/6` chain as one activation layer,
    named after the chain's last node (what later layers read)."""
    readers = Counter(name for call in calls for name in call.inputs)
    by_name = {call.name: call for call in calls}
    drop: set[str] = set()
    out = []
    for call in calls:
        relu = by_name.get(call.inputs[0]) if len(call.inputs) == 1 else None
        add = by_name.get(relu.inputs[0]) if relu and len(relu.inputs) == 1 else None
        if (
            _is(call, "Multiply", 1 / 6)
            and relu is not None
            and _is_relu6(relu)
            and add is not None
            and _is(add, "Add", 3.0)
            and readers[relu.name] == 1
            and readers[add.name] == 1
        ):
            drop |= {relu.name, add.name}
            call = Call(
                name=call.name,
                class_name="Activation",
                module="keras.layers",
                registered_name=None,
                config={"name": call.name, "activation": "hard_sigmoid"},
                inputs=list(add.inputs),
            )
        out.append(call)
    return [call for call in out if call.name not in drop]
