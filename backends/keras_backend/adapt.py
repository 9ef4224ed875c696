"""Adapt `normalization` layers to the training split before fit.

A `normalization` layer without a fixed mean and variance holds them as
non-trainable weights (Keras's `Normalization` built for `adapt()`). Training
calls `adapt_model` once, right after the model is built and before the first
step: each such layer gets the mean and variance of what it sees on the
training split (preprocessed, not augmented), computed by Keras's own `adapt`.
Resumed runs reload the adapted weights with the checkpoint instead.
"""

from __future__ import annotations

from modelspec.errors import require

# Batch size for computing a deeper layer's inputs; only memory depends on it.
_PREDICT_BATCH = 256


def adaptable(report) -> list[str]:
    """Names of the `normalization` layers to adapt, in graph order."""
    return [
        node.name
        for node in report.nodes
        if node.type == "normalization"
        and node.layer.mean is None
        and node.layer.adapt is not False
    ]


def adapt_model(
    model, report, x_train, transfer=None, *, resuming: bool = False
) -> list[str]:
    """Adapt every adaptable layer to `x_train` (model-ready inputs, N first);
    returns the adapted names. Layers whose weights a `[transfer]` copied keep
    them: the source model's statistics are part of what it learned. A resumed
    run adapts nothing: its checkpoint holds the statistics."""
    np = require("numpy")
    keras = require("keras")
    names = adaptable(report)
    if resuming or not names or len(x_train) == 0:
        return []
    copied = set(transfer.copied) if transfer is not None else set()
    by_name = {node.name: node for node in report.nodes}
    done = []
    # Graph order matters: a later layer's inputs depend on earlier stats.
    for name in names:
        if name in copied:
            continue
        layer = model.get_layer(name)
        if by_name[name].inputs == ["input"]:
            features = x_train
        else:
            reader = keras.Model(model.input, layer.input)
            features = reader.predict(x_train, batch_size=_PREDICT_BATCH, verbose=0)
        layer.adapt(np.asarray(features, dtype=np.float32))
        done.append(name)
    return done
