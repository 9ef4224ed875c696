"""The checker's shapes and parameter counts equal those of the Keras model that
the backend builds, for every example spec."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keras_agreement import assert_agrees

# Quiet TensorFlow's C++ logging; it is imported later, inside the tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SPECS = sorted((Path(__file__).resolve().parents[1] / "specs").glob("*.toml"))


def test_the_three_layer_tables_agree():
    from backends.keras_backend import LOWERINGS
    from modelspec.schema import LAYER_TYPES
    from modelspec.shapes import RULES

    assert set(LOWERINGS) == set(LAYER_TYPES) == set(RULES)


def test_there_are_example_specs():
    assert len(SPECS) >= 3


@pytest.mark.framework
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_agrees_with_keras(path):
    import numpy as np

    from backends.keras_backend import build_model
    from modelspec.check import check_file

    report = check_file(path)
    assert report.ok, [f"{d.code} {d.message}" for d in report.errors]
    model = build_model(report, seed=0)
    assert_agrees(report, model)
    assert model.name == report.spec.model.name
    # A forward pass: the graph Keras built runs, with the shape it promised.
    x = np.zeros((2, *report.spec.model.input), dtype="float32")
    assert np.asarray(model(x)).shape == (2, *report.output_shape)


def test_importing_the_backend_loads_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, backends.keras_backend as kb\n"
        "assert kb.LOWERINGS\n"
        "loaded = {'tensorflow', 'keras', 'tf2onnx'} & set(sys.modules)\n"
        "sys.exit(f'loaded: {sorted(loaded)}' if loaded else 0)\n"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
