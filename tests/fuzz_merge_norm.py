"""Hypothesis generators for the merge and normalisation kinds, used by the Keras
agreement fuzz test (tests/test_keras_agreement_fuzz.py), kept apart so that
the fuzz test's own checks can change independently."""

from __future__ import annotations

from hypothesis import strategies as st

# Merges that the fuzz stack builds like `add`: two branches of one input.
ELEMENTWISE = ("multiply", "subtract", "maximum", "average")
# One-input kinds, by the rank of the input they are drawn for (every one of
# them accepts any rank, so some draws exercise axis errors).
SIMPLE = ("rescaling", "normalization", "layer_norm", "layer_scale")
BY_RANK = {rank: [*ELEMENTWISE, *SIMPLE] for rank in (1, 2, 3)}
# A squeeze-and-excite gate on a feature map: (1, 1, k) against (h, w, c).
BY_RANK[3] = BY_RANK[3] + ["squeeze_excite"]

_values = st.sampled_from([0.5, -1.0, 2.0])
_lists = st.integers(1, 4).map(lambda n: [round(0.5 + i / 4, 2) for i in range(n)])
_axes = st.sampled_from(
    [-1, -1, -1, 0, 1, -2, [], [0, 1], [-2, -1], [0, 1, 2], [1, -2], 3]
)


@st.composite
def layer(draw, kind):
    """(layer dict, None): every kind keeps its input's rank."""
    if kind == "rescaling":
        return {
            "type": "rescaling",
            "scale": draw(st.one_of(_values, _lists)),
            "offset": draw(st.one_of(st.just(0.0), _values, _lists)),
        }, None
    if kind == "normalization":
        out = {
            "type": "normalization",
            "axis": draw(_axes),
            "trainable": draw(st.sampled_from([True, True, False])),
        }
        fixed = draw(st.sampled_from([None, None, "scalar", "list"]))
        if fixed == "scalar":
            out["mean"], out["variance"] = draw(_values), 2.0
        elif fixed == "list":
            out["mean"] = draw(_lists)
            out["variance"] = [abs(v) + 1.0 for v in out["mean"]]
        return out, None
    if kind == "layer_norm":
        axis = draw(_axes)
        return {
            "type": "layer_norm",
            # [] is not an axis list layer_norm accepts (schema): use -1.
            "axis": axis if axis != [] else -1,
            "epsilon": draw(st.sampled_from([1e-3, 1e-6])),
            "center": draw(st.booleans()),
            "scale": draw(st.booleans()),
            "trainable": draw(st.sampled_from([True, True, False])),
        }, None
    if kind == "layer_scale":
        return {
            "type": "layer_scale",
            "init_value": draw(st.sampled_from([1e-6, 0.5])),
            "trainable": draw(st.sampled_from([True, True, False])),
        }, None
    raise AssertionError(kind)


def squeeze_excite(draw, add, current: str) -> str:
    """Append global pool -> reshape [1, 1, -1] -> 1x1 conv gate -> merge with
    the map; the gate's width is random, so it matches the map's channels, is 1
    (broadcast) or mismatches. `add(layer, reads)` appends and names a layer."""
    squeezed = add({"type": "global_avg_pool2d"}, [current])
    as_map = add({"type": "reshape", "shape": [1, 1, -1]}, [squeezed])
    gate = add(
        {
            "type": "conv2d",
            "filters": draw(st.integers(1, 4)),
            "kernel": 1,
            "activation": "sigmoid",
        },
        [as_map],
    )
    kind = draw(st.sampled_from(ELEMENTWISE))
    reads = [current, gate] if draw(st.booleans()) else [gate, current]
    return add({"type": kind}, reads)


def stricter(kind: str, code: str, input_ranks, spec_layer) -> bool:
    """True for the checker errors on these kinds that Keras would build:

    - MS208 on an element-wise merge of inputs of different ranks (as for
      `add`): Keras inserts axes after the batch axis and broadcasts.
    - MS230 on `rescaling`: Keras broadcasts a list of the wrong length
      against the channels and computes a shape it does not report.
    - MS214 on `normalization` or `layer_norm` axes that repeat: Keras keeps
      the axis twice, which builds when there are no weights to shape or the
      axis has size 1.
    - MS214 on a `layer_norm` with neither center nor scale over the batch
      axis (axis -2 of a vector, in Keras's counting): nothing to build, so it
      normalises across the batch and runs.
    """
    if code == "MS208" and kind in ELEMENTWISE:
        return len(set(input_ranks)) > 1
    if code == "MS230":
        return kind == "rescaling"
    if code == "MS214" and kind in ("normalization", "layer_norm"):
        return _axes_keras_runs(kind, input_ranks[0], spec_layer)
    return False


def _axes_keras_runs(kind: str, rank: int, spec_layer) -> bool:
    axis = spec_layer.axis
    axes = [axis] if isinstance(axis, int) else list(axis)
    if all(-rank <= a < rank for a in axes):  # so MS214 was for a repeat
        return len({a % rank for a in axes}) < len(axes)
    # Keras counts the batch axis: its axis -rank-1 is the batch axis.
    weightless = kind == "layer_norm" and not (spec_layer.center or spec_layer.scale)
    return weightless and all(-rank - 1 <= a < rank for a in axes)


def plain_keras_layer(node, input_shapes):
    """The node's layer as plain Keras spells it (LayerScale as ConvNeXt's,
    sized from the input's last axis), or None for the other kinds."""
    import keras
    from keras.src.applications.convnext import LayerScale

    spec, kl = node.layer, keras.layers

    def axes(axis):
        def one(a):  # the spec's axes do not count the batch axis
            return a if a < 0 else a + 1

        return one(axis) if isinstance(axis, int) else [one(a) for a in axis]

    if node.type in ELEMENTWISE:
        return getattr(kl, node.type.capitalize())()
    if node.type == "rescaling":
        return kl.Rescaling(spec.scale, spec.offset)
    if node.type == "normalization":
        axis = axes(spec.axis)
        return kl.Normalization(
            axis=tuple(axis) if isinstance(axis, list) else axis,
            mean=spec.mean,
            variance=spec.variance,
        )
    if node.type == "layer_norm":
        return kl.LayerNormalization(
            axis=axes(spec.axis),
            epsilon=spec.epsilon,
            center=spec.center,
            scale=spec.scale,
        )
    if node.type == "layer_scale":
        return LayerScale(spec.init_value, input_shapes[0][-1])
    return None
