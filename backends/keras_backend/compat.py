"""Where a run leans on Keras beyond its documented behaviour, and the guards
that fail loudly (a RunError naming the attribute and the Keras version
tested) instead of training wrongly when a Keras release changes it.

- Multi-worker training patches two private `keras.Model` methods
  (`_symbolic_build`, `_maybe_symbolic_build`) around keras-team/keras#20585.
- Dropout's RNG counters are not saved in .keras files; a resume restores
  them from state.json. They are found through the public `layer.variables`
  (documented to add the SeedGenerator states to `layer.weights`).
- Weight EMA: the averages sit in two private optimizer lists
  (`_trainable_variables`, `_model_variables_moving_average`, the ones
  keras.callbacks.SwapEMAWeights reads); `swap_ema` exchanges them exactly.
- TensorBoard numbers batch scalars by its private `_global_train_batch`,
  which counts callbacks (one per execution), not steps.
"""

from __future__ import annotations

import inspect

from modelspec.errors import RunError, require

KERAS_TESTED = "3.15.1"  # keep equal to README "Versions tested"
_PRIVATE_METHODS = (
    # (keras.Model attribute, keyword argument modelspec passes to it)
    ("_symbolic_build", "data_batch"),
    ("_maybe_symbolic_build", None),
)


def _unsupported(what: str) -> RunError:
    keras = require("keras")
    return RunError(
        f"this Keras ({keras.__version__}) changed {what}, which modelspec "
        f"relies on (tested with Keras {KERAS_TESTED})",
        hint=f"pip install 'keras=={KERAS_TESTED}' (the range in pyproject.toml)",
    )


def check_multi_worker_api() -> None:
    """The private methods patch_for_multi_worker replaces or calls exist,
    and `_symbolic_build` still takes the batch as `data_batch=`."""
    keras = require("keras")
    for name, keyword in _PRIVATE_METHODS:
        method = getattr(keras.Model, name, None)
        if not callable(method):
            raise _unsupported(f"the private method keras.Model.{name}")
        if keyword is not None:
            params = inspect.signature(method).parameters
            if keyword not in params:
                raise _unsupported(
                    f"the signature of keras.Model.{name} (no {keyword}=)"
                )


def patch_for_multi_worker(model, strategy, element_spec) -> None:
    """Work around two Keras 3 bugs under MultiWorkerMirroredStrategy
    (keras-team/keras#20585). 1: before fit/evaluate Keras averages the first
    distributed batch across replicas to build metric state, which fails:
    build from the batch's shapes instead, the same on every worker. 2: each
    step's logs are averaged with reduce(MEAN, axis=0), which fails on
    scalars: hand them over as shape [1]. The epoch's logs are read from the
    metric variables, aggregated over all replicas, as without the patch."""
    tf = require("tensorflow")
    check_multi_worker_api()
    with strategy.scope():
        model._symbolic_build(data_batch=element_spec)
    # Any arguments: the model is built, so every later call is a no-op.
    model._maybe_symbolic_build = lambda *args, **kwargs: None

    def rank1(step):
        def wrapped(data):
            return tf.nest.map_structure(
                lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v,
                step(data),
            )

        return wrapped

    model.train_step = rank1(model.train_step)
    model.test_step = rank1(model.test_step)


def seed_variables(layer) -> list:
    """The layer's SeedGenerator states: `variables` minus `weights` (Keras
    documents the difference as the random seeds; metrics are in neither)."""
    weights = {id(w) for w in layer.weights}
    return [v for v in layer.variables if id(v) not in weights]


def check_seed_states(model) -> None:
    """Every Dropout layer must show its RNG state, or a resume would
    silently replay the first epoch's dropout masks."""
    keras = require("keras")
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout) and not seed_variables(layer):
            raise _unsupported(
                f"where layer {layer.name!r} (Dropout) keeps its SeedGenerator "
                "state (not in layer.variables)"
            )


def seed_states(model) -> dict:
    """The counters of every layer's SeedGenerator (dropout masks). Keras does
    not save them in .keras files, so a resumed run would replay epoch 1's
    masks; state.json carries them instead."""
    out = {}
    for layer in model.layers:
        gens = seed_variables(layer)
        if gens:
            out[layer.name] = [[int(v) for v in g.numpy()] for g in gens]
    return out


def restore_seed_states(model, states: dict) -> None:
    for layer in model.layers:
        saved = states.get(layer.name)
        gens = seed_variables(layer)
        if saved and len(saved) == len(gens):
            for gen, value in zip(gens, saved, strict=True):
                gen.assign(value)


def ema_pairs(optimizer) -> list[tuple]:
    """(model variable, its moving average) of an optimizer with use_ema; []
    without. Keras keeps them in two private lists (keras.callbacks.
    SwapEMAWeights reads the same ones)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # loss scaling
    if not getattr(inner, "use_ema", False):
        return []
    variables = getattr(inner, "_trainable_variables", None)
    averages = getattr(inner, "_model_variables_moving_average", None)
    if variables is None or averages is None or len(variables) != len(averages):
        raise _unsupported(
            "where an optimizer keeps its EMA weights "
            "(_trainable_variables, _model_variables_moving_average)"
        )
    return [(v, a) for v, a in zip(variables, averages, strict=True) if a is not None]


def swap_ema(model) -> None:
    """Exchange the model's weights and their moving averages, exactly.
    (SwapEMAWeights swaps by adding and subtracting, which rounds: a resume
    would not continue from the same bits.)"""
    keras = require("keras")
    for var, average in ema_pairs(model.optimizer):
        held = keras.ops.convert_to_numpy(var)
        var.assign(keras.ops.convert_to_numpy(average))
        average.assign(held)


def step_counting_tensorboard(keras, first_step: int, steps_per_execution: int):
    """keras.callbacks.TensorBoard whose batch scalars are numbered by
    training step, from `first_step` on (a resume continues the count).
    Keras counts batch callbacks, which come once per execution."""

    class StepTensorBoard(keras.callbacks.TensorBoard):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if not hasattr(self, "_global_train_batch"):
                raise _unsupported("TensorBoard's batch counter")
            self._global_train_batch = first_step

        def on_train_batch_begin(self, batch, logs=None):
            self._global_train_batch += steps_per_execution - 1
            super().on_train_batch_begin(batch, logs)

    return StepTensorBoard
