"""Shared by the Keras-agreement tests: compare a checked report with the Keras
model it lowers to, layer by layer."""

from __future__ import annotations

import math


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
