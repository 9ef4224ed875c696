"""What a training needs before fit: data, strategy, dtype policy, the
compiled model (with transferred weights) and the resolved config."""

from __future__ import annotations

import os
import platform
from contextlib import contextmanager
from pathlib import Path

from modelspec.errors import RunError, require

from . import optim


def load_splits(spec):
    if spec.data is None:
        raise RunError(
            f"spec {spec.model.name!r} has no [data] table; training needs one",
            hint='add [data] with dataset = "digits" (or mnist, cifar10, npz, ...)',
        )
    from modelspec.data import load_data

    return load_data(
        spec.data,
        tuple(spec.model.input),
        seed=spec.train.seed,
        classes=spec.model.classes,
    )


def choose_strategy(setting: str):
    """(strategy, name). 'auto' mirrors over local GPUs when there are two or
    more; 'mirrored' without GPUs mirrors over the logical CPU devices."""
    tf = require("tensorflow")
    gpus = tf.config.list_physical_devices("GPU")
    if setting == "auto":
        setting = "mirrored" if len(gpus) > 1 else "default"
    if setting == "default":
        return tf.distribute.get_strategy(), "default"
    if setting == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy(), f"mirrored ({len(gpus)} GPU)"
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return (
            tf.distribute.MirroredStrategy(devices=cpus),
            f"mirrored ({len(cpus)} CPU)",
        )
    if not os.environ.get("TF_CONFIG"):
        raise RunError(
            "strategy = 'multi_worker' needs the TF_CONFIG environment variable",
            hint=_TF_CONFIG_HINT,
        )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (ValueError, KeyError) as exc:  # TF_CONFIG is not valid JSON/cluster
        raise RunError(f"cannot read TF_CONFIG: {exc}", hint=_TF_CONFIG_HINT) from None
    workers = describe_strategy(strategy)["workers"]
    return strategy, f"multi_worker ({workers} workers)"


_TF_CONFIG_HINT = (
    'set TF_CONFIG to {"cluster": {"worker": [...]}, "task": '
    '{"type": "worker", "index": N}} on every worker'
)


def describe_strategy(strategy) -> dict:
    """For resolved.json: the strategy (by its public tf.distribute name),
    replicas and workers."""
    tf = require("tensorflow")
    name = "default"
    for public in ("MultiWorkerMirroredStrategy", "MirroredStrategy"):
        if isinstance(strategy, getattr(tf.distribute, public)):
            name = public
            break
    resolver = getattr(strategy, "cluster_resolver", None)
    jobs = resolver.cluster_spec().as_dict() if resolver is not None else {}
    workers = sum(len(jobs.get(job, [])) for job in ("chief", "worker"))
    return {
        "class": name,
        "replicas": int(strategy.num_replicas_in_sync),
        "workers": max(workers, 1),
    }


def is_multi_worker(strategy) -> bool:
    tf = require("tensorflow")
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy) -> bool:
    """The worker that writes the run directory: task "chief", or "worker" 0
    when the cluster has no chief (TF's own rule); always true on one machine."""
    return bool(strategy.extended.should_checkpoint)


def shard_by_data(ds):
    """Every worker builds the same in-memory dataset in the same order; each
    takes its part of every global batch (there are no files to shard by)."""
    tf = require("tensorflow")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return ds.with_options(options)


def patch_for_multi_worker(model, strategy, element_spec) -> None:
    """Work around two Keras 3 bugs under MultiWorkerMirroredStrategy
    (keras-team/keras#20585). 1: before fit/evaluate Keras averages the first
    distributed batch across replicas to build metric state, which fails:
    build from the batch's shapes instead, the same on every worker. 2: each
    step's logs are averaged with reduce(MEAN, axis=0), which fails on
    scalars: hand them over as shape [1]. The epoch's logs are read from the
    metric variables, aggregated over all replicas, as without the patch."""
    tf = require("tensorflow")
    with strategy.scope():
        model._symbolic_build(data_batch=element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    def rank1(step):
        def wrapped(data):
            return tf.nest.map_structure(
                lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v,
                step(data),
            )

        return wrapped

    model.train_step = rank1(model.train_step)
    model.test_step = rank1(model.test_step)


@contextmanager
def dtype_policy(name: str):
    """Set the global Keras dtype policy for building, restore it after."""
    keras = require("keras")
    previous = keras.mixed_precision.dtype_policy().name
    keras.mixed_precision.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _float32_output(model):
    """Under a mixed policy the logits must leave the model as float32, or the
    loss and softmax lose precision: add a float32 cast as the last layer."""
    keras = require("keras")
    if model.outputs[0].dtype == "float32":
        return model
    out = keras.layers.Activation("linear", dtype="float32", name="output_float32")(
        model.outputs[0]
    )
    return keras.Model(model.inputs, out, name=model.name)


def build_compiled(report, steps_per_epoch: int, total_steps: int, jit: bool, base):
    """(compiled model, TransferReport or None); call inside strategy.scope()."""
    from . import build_model
    from .transfer import load_and_apply

    t = report.spec.train
    model = _float32_output(build_model(report, seed=t.seed))
    transfer_report = None
    if report.spec.transfer is not None:
        transfer_report = load_and_apply(model, report.spec.transfer, base=base)
    model.compile(
        optimizer=optim.make_optimizer(t, steps_per_epoch, total_steps),
        loss=optim.make_loss(report),
        metrics=optim.make_metrics(t),
        jit_compile=jit,
    )
    return model, transfer_report


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in ("modelspec", "tensorflow-cpu", "tensorflow", "keras", "numpy"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return out


def jsonable(value):
    """numpy arrays and scalars (e.g. standardization mean/std) as JSON."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _describe(splits):
    describe = getattr(splits, "describe", None)
    return jsonable(describe() if callable(describe) else str(describe))


def resolved_config(report, overrides, splits, **derived) -> dict:
    spec = report.spec
    return {
        "spec": spec.model_dump(by_alias=True, mode="json"),
        "source": str(Path(report.file)),
        "overrides": list(overrides),
        "derived": {
            "from_logits": optim.resolve_from_logits(report),
            "examples": {
                "train": len(splits.x_train),
                "val": len(splits.x_val),
                "test": len(splits.x_test),
            },
            **derived,
        },
        "data": _describe(splits),
        "class_names": list(splits.class_names),
        "num_classes": int(splits.num_classes),
        "preprocessing": jsonable(dict(getattr(splits, "preprocessing", {}) or {})),
        "versions": versions(),
    }
