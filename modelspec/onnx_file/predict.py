"""Classify images with an exported ONNX file: onnxruntime and numpy only.

Everything needed comes from the file's metadata
(`modelspec.onnx_file.metadata`): input shape, pixel range and preprocessing,
class names, and whether the output is logits (softmax applied here) or
probabilities. TensorFlow is never imported, so this is what a serving process
would run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError, require
from . import metadata as onnx_meta


def _session(ort, path):
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
        raise UsageError(f"{path}: not a readable ONNX model ({e})") from e


def _metadata(sess, path) -> dict[str, Any]:
    props = sess.get_modelmeta().custom_metadata_map
    needed = ("input_shape", "preprocessing", "output_kind")
    missing = [k for k in needed if k not in props]
    if missing:
        raise UsageError(
            f"{path} has no modelspec metadata ({', '.join(missing)} missing)",
            hint="export it with `modelspec export RUN --onnx`",
        )
    try:
        return onnx_meta.decode(props)
    except ValueError as e:  # json.JSONDecodeError included
        raise UsageError(
            f"{path}: its modelspec metadata is damaged ({e})",
            hint="export the run again with `modelspec export RUN --onnx --force`",
        ) from e


def apply_preprocessing(raw, prep: dict):
    """x = (raw / divide - mean) / std, mean/std broadcast over channels;
    then the central `crop` (of `raw_shape` images) and per-image
    standardization when the metadata asks for them (scale 'per_image')."""
    np = require("numpy")
    unknown = [k for k in ("divide", "mean", "std") if prep.get(k) is None]
    if unknown or prep.get("scale") == "unknown":
        raise UsageError(
            "the ONNX file does not record how inputs were preprocessed "
            f"(unknown: {', '.join(unknown) or 'scale'})",
            hint="it was exported from a spec without its data; export a trained "
            "run instead, or feed model-ready arrays to ONNX Runtime directly",
        )
    from ..data.evalops import apply

    x = np.asarray(raw, dtype=np.float32) / np.float32(prep["divide"])
    mean = np.atleast_1d(np.asarray(prep["mean"], dtype=np.float32))
    std = np.atleast_1d(np.asarray(prep["std"], dtype=np.float32))
    c = len(mean)
    if c == 1 or x.shape[-1] == c:
        return apply((x - mean) / std, prep)
    # Flat inputs (n, h*w*c) hold channels-last pixels of c channels.
    shape = x.shape
    return apply(((x.reshape(*shape[:-1], -1, c) - mean) / std).reshape(shape), prep)


def softmax(z):
    np = require("numpy")
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _labels(paths: Sequence[str], counts: Sequence[int]) -> list[str]:
    labels = []
    for p, n in zip(paths, counts, strict=True):
        labels += [str(p)] if n == 1 else [f"{p}[{i}]" for i in range(n)]
    return labels


def probabilities(path, images: Sequence[str | Path]):
    """(labels, probabilities of shape (n, classes), metadata)."""
    np = require("numpy")
    ort = require("onnxruntime")
    from ..data import load_image_files

    sess = _session(ort, path)
    meta = _metadata(sess, path)
    prep = meta["preprocessing"]
    # A cropping model is fed uncropped images: predict cuts them centrally.
    input_shape = tuple(int(d) for d in prep.get("raw_shape") or meta["input_shape"])
    arrays = [
        load_image_files([p], input_shape, preprocessing=_raw_hints(prep))
        for p in images
    ]
    if not arrays:
        raise UsageError("no images given")
    x = apply_preprocessing(np.concatenate(arrays), prep).astype(np.float32)
    name = sess.get_inputs()[0].name
    out = sess.run(None, {name: x})[0].reshape(len(x), -1)
    probs = softmax(out) if meta["output_kind"] == "logits" else out
    labels = _labels([str(p) for p in images], [len(a) for a in arrays])
    return labels, np.asarray(probs, dtype=np.float64), meta


def _raw_hints(prep: dict) -> dict:
    """What the image reader needs: the raw pixel range and image size."""
    hints = {k: prep[k] for k in ("raw_max", "image_size") if prep.get(k) is not None}
    return hints


def predict_onnx(path, images: Sequence[str | Path], top_k: int = 3):
    """[(input label, [(class name, probability), ...] best first)] per example.

    The same shape as `modelspec predict` on a run, so one renderer prints
    both. `.npy` files holding several examples give one entry per example.
    """
    np = require("numpy")
    labels, probs, meta = probabilities(path, images)
    names = list(meta.get("class_names") or [])
    if len(names) != probs.shape[1]:
        names = [str(i) for i in range(probs.shape[1])]
    k = max(1, min(int(top_k), probs.shape[1]))
    results = []
    for label, row in zip(labels, probs, strict=True):
        order = np.argsort(-row, kind="stable")[:k]
        results.append((label, [(names[i], float(row[i])) for i in order]))
    return results
