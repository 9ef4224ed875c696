"""The guards around the Keras behaviour a run relies on beyond its public
contract (backends/keras_backend/compat.py) fire when Keras changes it, and
pyproject.toml's Keras range is the one tested."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.check import check_text
from modelspec.errors import RunError

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
[model]
name = "compat_digits"
input = [8, 8, 1]
classes = 10

[[layers]]
type = "flatten"

[[layers]]
type = "dense"
units = 16
activation = "relu"

[[layers]]
type = "dropout"
name = "drop"
rate = 0.5

[[layers]]
type = "dense"
units = 10

[data]
dataset = "digits"
validation = 50
limit = 128

[train]
epochs = 1
batch_size = 64
seed = 3
"""


def report():
    rep = check_text(SPEC, file="compat.toml")
    assert rep.ok, [d.render() for d in rep.diagnostics]
    return rep


def owner_of(cls, name: str):
    """The class in cls's MRO that defines `name` (to patch it there)."""
    return next(c for c in cls.__mro__ if name in vars(c))


@pytest.mark.parametrize("name", ["_maybe_symbolic_build", "_symbolic_build"])
def test_multi_worker_guard_fires_when_a_private_method_is_gone(monkeypatch, name):
    import keras

    from backends.keras_backend import compat

    compat.check_multi_worker_api()  # the installed Keras passes
    monkeypatch.delattr(owner_of(keras.Model, name), name)
    with pytest.raises(RunError) as info:
        compat.check_multi_worker_api()
    assert f"keras.Model.{name}" in info.value.message
    assert "tested with Keras 3.15.1" in info.value.message
    assert keras.__version__ in info.value.message


def test_multi_worker_guard_fires_when_the_signature_changes(monkeypatch):
    import keras

    from backends.keras_backend import compat

    def renamed(self, iterator=None, batch=None):
        raise AssertionError("never called by the check")

    monkeypatch.setattr(
        owner_of(keras.Model, "_symbolic_build"), "_symbolic_build", renamed
    )
    with pytest.raises(RunError, match=r"signature of keras.Model._symbolic_build"):
        compat.check_multi_worker_api()


def test_seed_states_are_the_dropout_generators_counters():
    """The public lookup finds exactly the SeedGenerator Keras keeps for the
    layer (read here through Keras's private list, to compare), and a
    restore carries its counter to a fresh model."""
    from backends.keras_backend import build_model, compat

    model = build_model(report(), seed=3)
    (gen,) = model.get_layer("drop")._seed_generators
    x = np.ones((2, 8, 8, 1), np.float32)
    for _ in range(3):
        model(x, training=True)  # every call draws a mask: counter + 1
    states = compat.seed_states(model)
    assert list(states) == ["drop"]
    assert states["drop"] == [[int(v) for v in gen.state.numpy()]]
    fresh = build_model(report(), seed=3)
    assert compat.seed_states(fresh) != states
    compat.restore_seed_states(fresh, states)
    assert compat.seed_states(fresh) == states


def test_seed_guard_fires_when_dropout_hides_its_rng(monkeypatch, tmp_path):
    """If Keras stopped listing seed states in `variables`, a resume would
    silently replay the first epoch's masks; training must refuse instead."""
    import keras

    from backends.keras_backend.train import train

    monkeypatch.setattr(
        owner_of(keras.layers.Dropout, "variables"),
        "variables",
        property(lambda self: list(self.weights)),
    )
    with pytest.raises(RunError) as info:
        train(report(), out=tmp_path)
    message = info.value.message
    assert "'drop' (Dropout)" in message and "Keras 3.15.1" in message
    assert not list(tmp_path.glob("*/*/state.json"))  # nothing was trained


def test_pyproject_keras_range_holds_the_tested_version():
    import keras
    from packaging.requirements import Requirement

    from backends.keras_backend.compat import KERAS_TESTED

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extra in ("cpu", "gpu"):
        (req,) = [
            Requirement(r)
            for r in project["optional-dependencies"][extra]
            if Requirement(r).name == "keras"
        ]
        assert req.specifier.contains(KERAS_TESTED)
        assert req.specifier.contains(keras.__version__)
        # The range ends before the next minor release, whose internals
        # nobody has checked.
        major, minor = (int(p) for p in KERAS_TESTED.split(".")[:2])
        assert not req.specifier.contains(f"{major}.{minor + 1}.0")
    readme = (ROOT / "README.md").read_text()
    assert f"keras {KERAS_TESTED}" in readme
