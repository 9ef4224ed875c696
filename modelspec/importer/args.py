"""Keras argument values as spec values: activations, initializers,
regularizers, pairs, margins and axes.

`Args` wraps one layer's Keras config: a converter `take`s what it expresses,
and whatever is left must be one of Keras's neutral values (NEUTRAL), or it is
a problem naming the argument and its value.
"""

from __future__ import annotations

from typing import Any, get_args

from ..schema import common as _schema
from ..schema.common import ActivationName
from ..schema.common import NamedInit as _NamedInit

# Keras initializer class -> spec initializer type (argument-free ones).
_NAMED = {
    "".join(w.capitalize() for w in name.split("_")): name
    for name in get_args(_NamedInit.model_fields["type"].annotation)
}
# Arguments (beyond the spec's own) of the parametrised initializers.
_PARAMETRISED: dict[str, tuple[str, type[_schema.Strict]]] = {
    "TruncatedNormal": ("truncated_normal", _schema.TruncatedNormalInit),
    "RandomNormal": ("random_normal", _schema.RandomNormalInit),
    "RandomUniform": ("random_uniform", _schema.RandomUniformInit),
    "Constant": ("constant", _schema.ConstantInit),
    "VarianceScaling": ("variance_scaling", _schema.VarianceScalingInit),
}
_ACTIVATIONS = frozenset(get_args(ActivationName))

# Arguments that never change what a layer computes, or only at a value Keras
# also defaults to: present with that value, they are not worth a word.
_INIT_ZEROS = {"class_name": "Zeros"}
_INIT_ONES = {"class_name": "Ones"}
NEUTRAL: dict[str, tuple] = {
    "data_format": ("channels_last", None),
    "kernel_constraint": (None,),
    "bias_constraint": (None,),
    "depthwise_constraint": (None,),
    "pointwise_constraint": (None,),
    "beta_constraint": (None,),
    "gamma_constraint": (None,),
    "beta_regularizer": (None,),
    "gamma_regularizer": (None,),
    "activity_regularizer": (None,),
    "beta_initializer": (_INIT_ZEROS,),
    "gamma_initializer": (_INIT_ONES,),
    "moving_mean_initializer": (_INIT_ZEROS,),
    "moving_variance_initializer": (_INIT_ONES,),
    "synchronized": (False,),
    "renorm": (False,),
    "renorm_clipping": (None,),
    "renorm_momentum": (0.99,),
    "rms_scaling": (False,),
    "invert": (False,),
    "quantization_config": (None,),
    "lora_rank": (None,),
    "lora_alpha": (None,),
    "fused": (None, True, False),
    "virtual_batch_size": (None,),
    "adjustment": (None,),
}
# Never part of a spec: bookkeeping, dtypes, random seeds.
IGNORED = frozenset(
    {"name", "trainable", "dtype", "seed", "batch_input_shape", "batch_size"}
)


def _same(value, neutral) -> bool:
    if isinstance(neutral, dict) and isinstance(value, dict):
        return value.get("class_name") == neutral["class_name"]
    if isinstance(neutral, dict) and isinstance(value, str):  # Keras 2 names
        return value.replace("_", "").lower() == neutral["class_name"].lower()
    return value == neutral


class Args:
    """One layer's Keras config, taken argument by argument."""

    def __init__(self, config: dict, shape: list | None = None):
        self.rest = dict(config)
        self.shape = shape  # the layer's input shape with the batch axis, if known
        self.problems: list[str] = []

    def take(self, key: str, default: Any = None) -> Any:
        return self.rest.pop(key, default)

    def bad(self, key: str, value: Any, why: str = "") -> None:
        self.problems.append(f"{key}={value!r}" + (f" ({why})" if why else ""))

    def leftovers(self) -> list[str]:
        """Problems for every argument nobody took that is not neutral."""
        out = []
        for key, value in self.rest.items():
            if key in IGNORED:
                continue
            if key in NEUTRAL and any(_same(value, n) for n in NEUTRAL[key]):
                continue
            out.append(f"{key}={_short(value)!r}")
        return out


def _short(value):
    """A serialized Keras object by its class name."""
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    return value


def simple(value):
    """A pair or list with equal entries as one int: [3, 3] -> 3."""
    if isinstance(value, (list, tuple)) and value and len(set(value)) == 1:
        return value[0]
    return list(value) if isinstance(value, tuple) else value


def margins(value):
    """Keras's ((top, bottom), (left, right)) in the spec's shortest spelling."""
    if isinstance(value, int):
        return value
    (top, bottom), (left, right) = value
    if top == bottom and left == right:
        return top if top == left else [top, left]
    return [[top, bottom], [left, right]]


def spec_axis(axis: int) -> int:
    """Keras counts the batch axis, the spec does not; negatives agree."""
    return axis if axis < 0 else axis - 1


def activation(args: Args, key: str = "activation"):
    """The spec activation, None for linear; a problem when inexpressible."""
    value = args.take(key, "linear")
    if value is None or value == "linear":
        return None
    if isinstance(value, str) and value in _ACTIVATIONS:
        return value
    if isinstance(value, dict) and value.get("class_name") == "LeakyReLU":
        slope = (value.get("config") or {}).get("negative_slope", 0.3)
        return {"type": "leaky_relu", "negative_slope": slope}
    args.bad(key, value, "not an activation a spec can name")
    return None


def initializer(args: Args, key: str, default: str = "glorot_uniform"):
    """A spec initializer table; None when absent or Keras's `default`;
    problems when not one a spec can name."""
    found = _initializer(args, key)
    return None if found == {"type": default} else found


def _initializer(args: Args, key: str):
    value = args.take(key)
    if value is None:
        return None
    if isinstance(value, str):  # Keras 2 short names
        value = {"class_name": "".join(w.capitalize() for w in value.split("_"))}
    cls, config = value.get("class_name"), dict(value.get("config") or {})
    config.pop("seed", None)
    if config.get("gain") == 1.0:  # Orthogonal's, at its default
        config.pop("gain")
    if cls in _NAMED and not {k for k, v in config.items() if v is not None}:
        return {"type": _NAMED[cls]}
    if cls in _PARAMETRISED:
        kind, model = _PARAMETRISED[cls]
        fields = {k: f.default for k, f in model.model_fields.items() if k != "type"}
        extra = {k: v for k, v in config.items() if k not in fields and v is not None}
        if not extra:
            # only what differs from the spec's defaults, as for layers
            given = {k: config[k] for k in fields if k in config}
            return {"type": kind, **{k: v for k, v in given.items() if v != fields[k]}}
    args.bad(key, value.get("class_name"), "no such spec initializer")
    return None


def regularizer(args: Args, key: str) -> tuple[float, float]:
    """(l1, l2) of an L1/L2/L1L2 regularizer; (0, 0) for none."""
    value = args.take(key)
    if value is None:
        return 0.0, 0.0
    cls, config = value.get("class_name"), value.get("config") or {}
    if cls in ("L1L2", "L1", "L2", "l1_l2", "l1", "l2"):
        return float(config.get("l1", 0.0) or 0.0), float(config.get("l2", 0.0) or 0.0)
    args.bad(key, cls, "only L1, L2 and L1L2 regularizers")
    return 0.0, 0.0
