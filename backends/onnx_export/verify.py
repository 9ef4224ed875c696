"""Prove an exported ONNX file before it is reported as a success.

Three checks, all required: `onnx.checker` accepts the file; ONNX shape
inference gives the output shape the modelspec checker computed (batch axis
symbolic); ONNX Runtime agrees with Keras on real (or random) inputs within a
tolerance, on a full batch and on a batch of one (the batch axis is dynamic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelspec.errors import ExportError, require


@dataclass
class Verification:
    checker_ok: bool = False
    input_shape: tuple = ()  # with None for a symbolic axis
    output_shape: tuple = ()
    max_abs_diff: float = float("nan")
    top1_agreement: float = float("nan")  # fraction in [0, 1]
    n_examples: int = 0
    data_source: str = "random"
    notes: list[str] = field(default_factory=list)


def _dims(value_info) -> tuple:
    """An ONNX tensor type's shape: ints, None for a symbolic/unknown axis."""
    tt = value_info.type.tensor_type
    if not tt.HasField("shape"):
        return ()
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)


def check_structure(path: Path, expected_output: Sequence[int], input_shape) -> tuple:
    """onnx.checker and shape inference; returns (input dims, output dims)."""
    onnx = require("onnx")
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # onnx raises ValidationError or InferenceError
        raise ExportError(f"onnx.checker rejected the exported file: {e}") from e
    model = onnx.load(str(path))
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as e:
        raise ExportError(f"ONNX shape inference failed: {e}") from e
    graph = inferred.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ExportError(
            f"expected one input and one output, got {len(graph.input)} and "
            f"{len(graph.output)}"
        )
    in_dims, out_dims = _dims(graph.input[0]), _dims(graph.output[0])
    want_out = (None, *expected_output)
    want_in = (None, *input_shape)
    if in_dims != want_in:
        raise ExportError(
            f"ONNX input shape is {_show(in_dims)}, expected {_show(want_in)}",
            hint="the batch axis must be dynamic and the rest the spec's input",
        )
    if out_dims != want_out:
        raise ExportError(
            f"ONNX shape inference gives output {_show(out_dims)}, but the checker "
            f"computed {_show(want_out)}"
        )
    return in_dims, out_dims


def _show(dims: tuple) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in dims) + ")"


def session(path: Path):
    ort = require("onnxruntime")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(
        str(path), sess_options=opts, providers=["CPUExecutionProvider"]
    )


def run_onnx(sess, x):
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x})[0]


def compare(model, path: Path, x, tolerance: float) -> tuple[float, float]:
    """Max |ONNX - Keras| and top-1 agreement over `x`; raises past tolerance."""
    np = require("numpy")
    x = np.ascontiguousarray(x, dtype=np.float32)
    sess = session(path)
    onnx_out = np.asarray(run_onnx(sess, x), dtype=np.float64)
    keras_out = np.asarray(model(x, training=False), dtype=np.float64)
    if onnx_out.shape != keras_out.shape:
        raise ExportError(
            f"ONNX Runtime output has shape {onnx_out.shape}, Keras {keras_out.shape}"
        )
    # A batch of one must give the same row as the batch: the axis is dynamic.
    single = np.asarray(run_onnx(sess, x[:1]), dtype=np.float64)
    diff = float(
        max(np.abs(onnx_out - keras_out).max(), np.abs(single - keras_out[:1]).max())
    )
    if not np.isfinite(diff):
        raise ExportError("ONNX Runtime or Keras produced NaN/inf on the check inputs")
    flat_o = onnx_out.reshape(len(x), -1)
    flat_k = keras_out.reshape(len(x), -1)
    top1 = float((flat_o.argmax(axis=1) == flat_k.argmax(axis=1)).mean())
    if diff > tolerance:
        raise ExportError(
            f"ONNX Runtime and Keras differ by up to {diff:.3g} on {len(x)} "
            f"examples, more than the tolerance {tolerance:g} "
            f"(top-1 agreement {top1:.1%})",
            hint="raise [export] tolerance (or --set export.tolerance=...) only if "
            "the difference is expected; nothing was written",
        )
    return diff, top1


def random_inputs(input_shape, n: int, prep: dict | None, seed: int = 0):
    """Inputs in the range the model sees: about N(0, 1) when standardized,
    [0, raw_max / divide) when the range is known, else [0, 1)."""
    np = require("numpy")
    rng = np.random.default_rng(seed)
    shape = (n, *input_shape)
    prep = prep or {}
    if prep.get("scale") == "standardize":
        return rng.standard_normal(shape).astype(np.float32)
    top = 1.0
    if prep.get("scale") == "none" and prep.get("raw_max"):
        top = float(prep["raw_max"]) / float(prep.get("divide") or 1.0)
    return (rng.random(shape) * top).astype(np.float32)


def verify(
    model,
    path: Path,
    *,
    expected_output: Sequence[int],
    input_shape: Sequence[int],
    x,
    data_source: str,
    tolerance: float,
) -> Verification:
    in_dims, out_dims = check_structure(path, expected_output, input_shape)
    diff, top1 = compare(model, path, x, tolerance)
    return Verification(
        checker_ok=True,
        input_shape=in_dims,
        output_shape=out_dims,
        max_abs_diff=diff,
        top1_agreement=top1,
        n_examples=len(x),
        data_source=data_source,
    )
