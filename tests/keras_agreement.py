"""Shared by the Keras-agreement tests: compare a checked report with the Keras
model it lowers to, layer by layer; and where the checker rejects, judge the
disagreement on Keras's own terms: plain Keras (written here, not the backend)
on the failing layer, and the documented cases where the checker is stricter
than Keras on purpose, each confirmed on the Keras layer itself."""

from __future__ import annotations

import math

import fuzz_merge_norm


def weight_count(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def assert_agrees(report, model) -> None:
    """Every inferred layer's shape and parameter counts equal Keras's."""
    assert [li.name for li in report.layers] == [n.name for n in report.nodes]
    keras_names = [layer.name for layer in model.layers if layer.name != "input"]
    assert sorted(keras_names) == sorted(li.name for li in report.layers)
    for li in report.layers:
        layer = model.get_layer(li.name)
        where = f"{report.file}: layer {li.name!r} ({li.type})"
        keras_shape = tuple(layer.output.shape[1:])
        assert keras_shape == tuple(li.output_shape), (
            f"{where}: checker shape {tuple(li.output_shape)}, Keras {keras_shape}"
        )
        assert layer.count_params() == li.params, (
            f"{where}: checker params {li.params}, Keras {layer.count_params()}"
        )
        trainable = weight_count(layer.trainable_weights)
        frozen = weight_count(layer.non_trainable_weights)
        checker = (li.trainable_params, li.non_trainable_params)
        assert (trainable, frozen) == checker, (
            f"{where}: checker trainable/non-trainable {checker[0]}/{checker[1]}, "
            f"Keras {trainable}/{frozen}"
        )
    assert model.count_params() == report.total_params
    assert weight_count(model.trainable_weights) == report.trainable_params
    assert weight_count(model.non_trainable_weights) == report.non_trainable_params
    assert tuple(model.output.shape[1:]) == tuple(report.output_shape)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _margins(v):
    """Keras's cropping/padding argument for a spec's int, [h, w] or
    [[top, bottom], [left, right]] (Keras takes the same three spellings)."""
    return v if isinstance(v, int) else tuple(_pair(x) for x in v)


def _activation(spec):
    """A Keras activation: the name, or a LeakyReLU for the leaky_relu table."""
    import keras

    if getattr(spec, "type", None) == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=spec.negative_slope)
    return spec


def _window(spec) -> dict:
    return {
        "kernel_size": _pair(spec.kernel),
        "strides": _pair(spec.strides),
        "padding": spec.padding,
        "dilation_rate": _pair(spec.dilation),
        "activation": _activation(spec.activation),
        "use_bias": spec.use_bias,
    }


def plain_keras_layer(node, input_shapes):
    """The node's layer as plain Keras spells it, written here rather than taken
    from backends.keras_backend, so that a backend failure can be judged."""
    import keras
    import tensorflow as tf

    merge_or_norm = fuzz_merge_norm.plain_keras_layer(node, input_shapes)
    if merge_or_norm is not None:
        return merge_or_norm
    spec, kl = node.layer, keras.layers
    if node.type in ("max_pool2d", "avg_pool2d"):
        cls = kl.MaxPooling2D if node.type == "max_pool2d" else kl.AveragePooling2D
        strides = spec.pool if spec.strides is None else spec.strides
        return cls(_pair(spec.pool), strides=_pair(strides), padding=spec.padding)
    if node.type == "lrn":
        # Keras has no LRN layer; the spec's lrn is defined as TF's op.
        return kl.Lambda(
            lambda x: tf.nn.local_response_normalization(
                x,
                depth_radius=spec.depth_radius,
                bias=spec.bias,
                alpha=spec.alpha,
                beta=spec.beta,
            )
        )
    if node.type == "concat":  # the spec's axis does not count the batch axis
        return kl.Concatenate(axis=spec.axis if spec.axis < 0 else spec.axis + 1)
    if node.type == "dropout":  # noise_shape has no batch axis in a spec
        noise = None if spec.noise_shape is None else (None, *spec.noise_shape)
        return kl.Dropout(spec.rate, noise_shape=noise)
    if node.type == "activation":
        return kl.Activation(_activation(spec.activation))
    output_padding = getattr(spec, "output_padding", None)
    build = {
        "conv2d": lambda: kl.Conv2D(spec.filters, groups=spec.groups, **_window(spec)),
        "depthwise_conv2d": lambda: kl.DepthwiseConv2D(
            depth_multiplier=spec.depth_multiplier, **_window(spec)
        ),
        "separable_conv2d": lambda: kl.SeparableConv2D(
            spec.filters, depth_multiplier=spec.depth_multiplier, **_window(spec)
        ),
        "conv2d_transpose": lambda: kl.Conv2DTranspose(
            spec.filters,
            **_window(spec),
            output_padding=(None if output_padding is None else _pair(output_padding)),
        ),
        "zero_pad2d": lambda: kl.ZeroPadding2D(_margins(spec.padding)),
        "cropping2d": lambda: kl.Cropping2D(_margins(spec.cropping)),
        "upsampling2d": lambda: kl.UpSampling2D(
            _pair(spec.size), interpolation=spec.interpolation
        ),
        "global_avg_pool2d": lambda: kl.GlobalAveragePooling2D(keepdims=spec.keepdims),
        "global_max_pool2d": lambda: kl.GlobalMaxPooling2D(keepdims=spec.keepdims),
        "dense": lambda: kl.Dense(
            spec.units, _activation(spec.activation), spec.use_bias
        ),
        "flatten": kl.Flatten,
        "reshape": lambda: kl.Reshape(tuple(spec.shape)),
        "batch_norm": lambda: kl.BatchNormalization(
            center=spec.center, scale=spec.scale
        ),
        "add": kl.Add,
    }
    return build[node.type]()


def plain_keras_error(node, input_shapes, training: bool = False, arrays=None):
    """What plain Keras raises when it builds this one layer on inputs of these
    shapes (no batch axis) and runs it on a batch: `arrays`, the data the layers
    before it really produced (a layer may produce another shape than it
    declares), else ones (in training mode if asked); None if it does not."""
    import keras
    import numpy as np

    if arrays is None:
        arrays = [np.ones((2, *s), "float32") for s in input_shapes]
    try:
        inputs = [keras.Input(shape) for shape in input_shapes]
        merge = node.type in ("add", "concat", *fuzz_merge_norm.ELEMENTWISE)
        out = plain_keras_layer(node, input_shapes)(inputs if merge else inputs[0])
        keras.Model(inputs, out)(list(arrays), training=training)
    except Exception as e:
        return e
    return None


def lower_and_run(nodes, input_shape):
    """The backend's model ending at nodes[-1], after one batch went through."""
    import numpy as np

    from backends.keras_backend import lower_nodes

    model = lower_nodes(nodes, input_shape, seed=0)
    model(np.ones((2, *input_shape), dtype="float32"))
    return model


def kernel_exceeds_2n_minus_1(layer) -> bool:
    """MS206's condition, computed from the Keras layer itself: a 'same'-padded
    convolution (plain, depthwise or separable: the kinds the rule covers) whose
    dilated kernel spans more than 2n-1 rows (columns) of its n-row (n-column)
    input, so that some of its taps never touch a pixel. Pool windows and
    transposed convolutions never get MS206 from the checker: none excuses one."""
    import keras

    kinds = (
        keras.layers.Conv2D,
        keras.layers.DepthwiseConv2D,
        keras.layers.SeparableConv2D,
    )
    if not isinstance(layer, kinds) or layer.padding != "same":
        return False
    _, h, w, _ = layer.input.shape
    spans = [
        d * (k - 1) + 1
        for k, d in zip(layer.kernel_size, layer.dilation_rate, strict=True)
    ]
    return any(span > 2 * n - 1 for span, n in zip(spans, (h, w), strict=True))


def deliberately_stricter(model, diagnostic, nodes=()) -> bool:
    """Errors the checker raises although Keras builds the layer, judged on the
    Keras `model` (which contains the layer) rather than on the checker's shapes:

    - MS206: a 'same'-padded kernel wider than 2n-1 pixels of its input. Keras
      pads and builds, but some taps never touch a pixel; seed 000 wrote a
      TF weight shape [128, 24, 64, 64] as the kernel of a 24x24 input.
    - MS208 for `add` of inputs of different ranks: Keras broadcasts them, e.g.
      (h, w, c) + (c,), which in a residual block is a wiring mistake.
    - MS214 for a `concat` axis that, counted from the end, reaches the batch
      axis (-2 on rank-1 inputs): Keras stacks the batches, which a spec's axis
      (no batch axis) cannot mean.
    - MS221 for a conv2d_transpose that Keras builds with an output of no rows
      or columns: 'same', an even kernel and output_padding 0 on a 1-pixel
      input (on larger inputs TensorFlow refuses it).
    - The merge and normalisation kinds' cases (`fuzz_merge_norm.stricter`),
      given the input ranks Keras's layer received; those need the spec's
      `nodes`.
    """
    import keras

    names = {layer.name for layer in model.layers}
    if diagnostic.layer not in names:
        return False
    layer = model.get_layer(diagnostic.layer)
    if diagnostic.code == "MS206":
        return kernel_exceeds_2n_minus_1(layer)
    if diagnostic.code == "MS208" and isinstance(layer, keras.layers.Add):
        return len({len(t.shape) for t in layer.input}) > 1
    if diagnostic.code == "MS214" and isinstance(layer, keras.layers.Concatenate):
        return layer.axis % len(layer.input[0].shape) == 0
    if diagnostic.code == "MS221" and isinstance(layer, keras.layers.Conv2DTranspose):
        return 0 in tuple(layer.output.shape[1:3])
    node = next((n for n in nodes if n.name == diagnostic.layer), None)
    if node is not None and node.type in fuzz_merge_norm.BY_RANK[3]:
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        ranks = [len(t.shape) - 1 for t in inputs]  # without the batch axis
        return fuzz_merge_norm.stricter(node.type, diagnostic.code, ranks, node.layer)
    return False


def _listing(report) -> str:
    return "\n".join(f"{d.code} {d.layer}: {d.message}" for d in report.errors)


def _upstream(nodes, name: str) -> set[str]:
    """The layer and every layer it reads, directly or not."""
    by_name = {n.name: n for n in nodes}
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in by_name:
            continue
        seen.add(current)
        todo.extend(by_name[current].inputs)
    return seen


def _batch(input_shape):
    import numpy as np

    return np.ones((2, *input_shape), dtype="float32")


def judge_lowering_failure(report, text, input_shape, error) -> str:
    """The backend cannot lower (or run) the rejected spec. Find the first layer
    it fails on; plain Keras must fail on that layer too, on the same input
    shapes. Layers before it built, so a checker error there must be a
    deliberate one; and the checker must have flagged that layer or one it
    reads (else it accepted a layer Keras rejects)."""
    import numpy as np

    nodes = report.nodes
    index, models = len(nodes) - 1, []
    for i in range(len(nodes) - 1):
        try:
            models.append(lower_and_run(nodes[: i + 1], input_shape))
        except Exception as e:
            index, error = i, e
            break
    node, position = nodes[index], {n.name: i for i, n in enumerate(nodes)}
    shapes = [
        tuple(input_shape)
        if ref == "input"
        else tuple(models[position[ref]].output.shape[1:])
        for ref in node.inputs
    ]
    arrays = [
        _batch(input_shape)
        if ref == "input"
        else np.asarray(models[position[ref]](_batch(input_shape)))
        for ref in node.inputs
    ]
    assert plain_keras_error(node, shapes, arrays=arrays) is not None, (
        f"the backend fails on {node.name} ({node.type}) with "
        f"{type(error).__name__}: {error}\nbut plain Keras builds that layer on "
        f"inputs {shapes}:\n{text}"
    )
    for d in report.errors:
        if d.layer in position and position[d.layer] < index:
            assert deliberately_stricter(models[position[d.layer]], d, nodes), (
                f"checker error on {d.layer}, which Keras builds:\n{text}"
                + _listing(report)
            )
    assert {d.layer for d in report.errors} & _upstream(nodes, node.name), (
        f"Keras rejects {node.name} ({node.type}) on inputs {shapes}, but the "
        f"checker flags neither it nor a layer it reads:\n{text}" + _listing(report)
    )
    return "rejected"
