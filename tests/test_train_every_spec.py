"""Every spec in specs/ compiles with the loss, optimizer and metrics that
`modelspec train` would use, and takes a training step that changes its weights.

Random inputs stand in for the datasets (which tests may not download); the
step is the real compiled train step.
"""

from pathlib import Path

import numpy as np
import pytest

from modelspec.check import check_file

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.toml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_compiles_and_takes_a_training_step(path):
    from backends.keras_backend.build import build_compiled

    # Freeze the first layer with weights (unless it is the only one), to see
    # that freezing holds in a training step.
    weighted = [n.name for n in check_file(path).nodes if n.type in ("conv2d", "dense")]
    first = weighted[0] if len(weighted) > 1 else None
    frozen = [first] if first else []
    report = check_file(path, overrides=[f"layers.{n}.trainable=false" for n in frozen])
    assert report.ok, [d.render() for d in report.diagnostics]
    # [transfer] points at a run that only exists after training its source.
    report.spec = report.spec.model_copy(update={"transfer": None})
    model, _ = build_compiled(
        report, steps_per_epoch=1, total_steps=1, jit=False, base=ROOT
    )
    rng = np.random.default_rng(0)
    x = rng.random((4, *report.spec.model.input), dtype=np.float32)
    y = rng.integers(0, report.output_shape[-1], size=4)
    before = {
        layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers
    }
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    changed = {
        layer.name
        for layer in model.layers
        if any(
            not np.array_equal(a, b)
            for a, b in zip(before[layer.name], layer.get_weights(), strict=True)
        )
    }
    assert changed - {first}, "one training step changed no weight"
    assert [layer.name for layer in model.layers if not layer.trainable] == frozen
    assert first not in changed, f"frozen {first} changed in a training step"
