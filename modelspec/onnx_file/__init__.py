"""Exported ONNX files, framework-free: what the file says about itself
(`metadata`, written by backends/onnx_export/) and classifying inputs with
nothing but ONNX Runtime and numpy (`predict`). Named `onnx_file`, not `onnx`,
so it never shadows the `onnx` distribution."""
