"""Keras model -> verified ONNX file, written atomically.

`tf2onnx.convert.from_keras` with an explicit input signature (Keras 3 models
have no saved signature to derive one from). Unlike `model.export("onnx")`, it
leaves numpy's module globals alone. The file is written to a temporary name
beside the target, verified there, and only then renamed into place; a failed
conversion or verification leaves no file behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import modelspec
from modelspec.errors import ExportError, OutputExists, require
from modelspec.fsutil import atomic_path, remove_stale_temps
from modelspec.onnx_file import metadata as onnx_meta

from .verify import Verification, random_inputs, verify


@dataclass
class ExportReport:
    path: Path
    opset: int
    input_name: str
    output_name: str
    verification: Verification
    metadata: dict[str, str]
    tolerance: float = 0.0
    file_size: int = 0
    convert_seconds: float = 0.0
    ops: dict[str, int] = field(default_factory=dict)  # ONNX op type -> count


def _spec_and_hashes(report_or_spec) -> tuple[Any, tuple | None, str]:
    """(spec, checker output shape or None, spec hash)."""
    spec = getattr(report_or_spec, "spec", None)
    if spec is not None:  # a modelspec.report.Report
        if not report_or_spec.ok:
            from modelspec.errors import SpecInvalid

            raise SpecInvalid(report_or_spec)
        text = getattr(report_or_spec, "text", "") or ""
        digest = (
            onnx_meta.sha256_text(text)
            if text
            else onnx_meta.sha256_json(report_or_spec.raw)
        )
        return spec, report_or_spec.output_shape, digest
    spec = report_or_spec  # a modelspec.schema.Spec
    dumped = spec.model_dump(mode="json", by_alias=True)
    return spec, None, onnx_meta.sha256_json(dumped)


def build_metadata(
    report_or_spec,
    *,
    opset: int,
    output_name: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    spec, _, digest = _spec_and_hashes(report_or_spec)
    meta: dict[str, Any] = {
        "modelspec_version": modelspec.__version__,
        "spec_name": spec.model.name,
        "spec_sha256": digest,
        "class_names": onnx_meta.default_class_names(spec),
        "input_name": "input",
        "input_shape": list(spec.model.input),
        "output_name": output_name,
        "output_kind": onnx_meta.output_kind(spec),
        "preprocessing": None,
        "opset": opset,
    }
    meta.update(extra or {})
    if meta["preprocessing"] is None:
        meta["preprocessing"] = onnx_meta.static_preprocessing(spec)
    meta["preprocessing"] = onnx_meta.canonical_preprocessing(meta["preprocessing"])
    return meta


def _readable(path: Path) -> None:
    """mkstemp makes owner-only files; an exported model is meant to be shared,
    so give it the permissions a plain open() would (0666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def as_float32(model):
    """The model itself, or a float32 copy with the same weights when it was
    built under a mixed precision policy: ONNX Runtime's CPU kernels have no
    bfloat16 Conv, and the exported file is promised to be float32."""
    keras = require("keras")
    if all(
        getattr(layer, "compute_dtype", "float32") == "float32"
        for layer in model.layers
    ):
        return model

    def strip(obj):
        if isinstance(obj, dict):
            return {k: "float32" if k == "dtype" else strip(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    from backends.keras_backend import custom_objects

    config = strip(model.get_config())
    with keras.saving.custom_object_scope(custom_objects()):
        copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _collecting_optimizers() -> dict:
    """tf2onnx's own ONNX optimizers, in its order, each preceded by a garbage
    collection. tf2onnx deep-copies the whole graph (weights included) before
    every optimizer and drops the old copy into cyclic garbage that Python's
    collector, counting objects rather than bytes, frees late: a 98 MB dense
    layer peaked at 5.4 GB, ResNet50 at 7.5 GB. Collecting first keeps about
    two copies alive; the converted graph is the same. Used inside
    `_frozen_heap`, so each collection scans only the conversion's objects."""
    import gc

    from tf2onnx import optimizer

    def collecting(factory):
        def make():
            gc.collect()
            return factory()

        return make

    return {name: collecting(f) for name, f in optimizer._get_optimizers().items()}


@contextmanager
def _frozen_heap():
    """Every object that exists before the conversion, out of the collector's
    sight until it ends: none of it can be tf2onnx's garbage, and scanning it
    is what made each of the ~24 collections above slow (0.2-0.5 s once
    TensorFlow is imported, several seconds per export)."""
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def convert(model, input_shape, opset: int):
    """The ONNX ModelProto for a Keras model; conversion errors -> ExportError."""
    tf = require("tensorflow")
    tf2onnx = require("tf2onnx")
    from .tf_compat import CUSTOM_OP_HANDLERS, plain_convolutions

    signature = [tf.TensorSpec((None, *input_shape), tf.float32, name="input")]
    try:
        with plain_convolutions(), _frozen_heap():
            proto, _ = tf2onnx.convert.from_keras(
                model,
                input_signature=signature,
                opset=opset,
                custom_op_handlers=dict(CUSTOM_OP_HANDLERS),
                optimizers=_collecting_optimizers(),
            )
    except Exception as e:  # tf2onnx raises bare ValueError/KeyError/...
        raise ExportError(
            f"tf2onnx could not convert the model at opset {opset}: "
            f"{type(e).__name__}: {e}",
            hint="try another --opset (13-18 are the best supported)",
        ) from e
    return proto


def export_onnx(
    model,
    report_or_spec,
    out_path,
    opset: int = 17,
    force: bool = False,
    data=None,
    tolerance: float = 1e-4,
    metadata: Mapping[str, Any] | None = None,
    n_random: int = 64,
) -> ExportReport:
    """Convert, stamp metadata, verify against `model`, then move into place.

    `data`: model-ready inputs (already preprocessed), shape (N, *input), used
    for the parity check; None means `n_random` random inputs in the input's
    range. `metadata`: entries that override or add to the defaults computed
    from the spec (e.g. `class_names`, `preprocessing` from the training run).
    """
    out_path = Path(out_path)
    _check_target(out_path, force)
    spec, checked_shape, _ = _spec_and_hashes(report_or_spec)
    original, model = model, as_float32(model)
    input_shape = tuple(spec.model.input)
    _check_data(data, input_shape)
    start = time.perf_counter()
    proto = convert(model, input_shape, opset)
    seconds = time.perf_counter() - start
    meta, encoded = stamp_metadata(
        proto, report_or_spec, opset, spec.model.name, metadata
    )
    x, source = _parity_inputs(data, input_shape, n_random, meta["preprocessing"])
    result, size = _write_verified(
        _serialize(proto),
        out_path,
        force,
        model,
        expected_output=checked_shape or tuple(model.output_shape[1:]),
        input_shape=input_shape,
        x=x,
        data_source=source,
        tolerance=tolerance,
    )
    if model is not original:
        policy = original.layers[-1].dtype_policy.name
        result.notes.append(
            f"the {policy} model was exported as a float32 copy with the same "
            "weights; the parity check compares against that copy"
        )
    return ExportReport(
        path=out_path,
        opset=opset,
        input_name=proto.graph.input[0].name,
        output_name=meta["output_name"],
        verification=result,
        metadata=encoded,
        tolerance=tolerance,
        file_size=size,
        convert_seconds=seconds,
        ops=_op_counts(proto),
    )


def _check_target(out_path: Path, force: bool) -> None:
    if out_path.exists() and not force:
        raise OutputExists(
            f"{out_path} already exists", hint="pass --force to overwrite it"
        )
    if out_path.is_dir():
        raise OutputExists(f"{out_path} is a directory, not a file name")


def _check_data(data, input_shape: tuple) -> None:
    np = require("numpy")
    if data is not None and len(data) and tuple(np.shape(data)[1:]) != input_shape:
        raise ExportError(
            f"check data has shape {tuple(np.shape(data)[1:])} per example, the "
            f"model input is {input_shape}"
        )


def stamp_metadata(proto, report_or_spec, opset: int, spec_name: str, extra):
    """Replace the proto's metadata with modelspec's: (metadata, encoded)."""
    output_name = proto.graph.output[0].name
    meta = build_metadata(
        report_or_spec, opset=opset, output_name=output_name, extra=extra
    )
    encoded = onnx_meta.encode(meta)
    del proto.metadata_props[:]
    for key, value in encoded.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"modelspec export of spec {spec_name!r}"
    return meta, encoded


def _parity_inputs(data, input_shape: tuple, n_random: int, preprocessing):
    """(inputs, "test" or "random") for the Keras/ONNX parity check."""
    np = require("numpy")
    if data is None or len(data) == 0:
        return random_inputs(input_shape, n_random, preprocessing), "random"
    return np.asarray(data, dtype=np.float32), "test"


def _serialize(proto) -> bytes:
    try:
        return proto.SerializeToString()
    except ValueError as e:  # protobuf's 2 GB limit
        raise ExportError(f"the ONNX model is too large to serialize: {e}") from e


def _write_verified(blob: bytes, out_path: Path, force: bool, model, **check):
    """(Verification, file size): write beside the target, verify there, then
    rename into place; a failure leaves no file behind, and the temporary
    file of an export that was killed is removed here."""
    remove_stale_temps(out_path.parent, {out_path.name})
    with atomic_path(out_path, suffix=".onnx") as tmp:
        tmp.write_bytes(blob)
        result = verify(model, tmp, **check)
        if out_path.exists() and not force:  # appeared while we converted
            raise OutputExists(
                f"{out_path} already exists", hint="pass --force to overwrite it"
            )
        size = tmp.stat().st_size
        _readable(tmp)
    return result, size


def _op_counts(proto) -> dict[str, int]:
    ops: dict[str, int] = {}
    for node in proto.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return ops
