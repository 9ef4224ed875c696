"""Models too large for the machine: `check` warns, `train` refuses before it
creates anything (issue 10, item 11)."""

import os
import subprocess
import sys
from pathlib import Path

from modelspec.check import check_file, check_text
from modelspec.resources import machine_memory, training_bytes
from modelspec.schema.tables import TrainTable
from tests.helpers import codes, spec_text

ROOT = Path(__file__).resolve().parents[1]
HUGE = ROOT / "specs" / "broken" / "weights_exceed_memory.toml"


def test_memory_is_known_here(monkeypatch):
    monkeypatch.delenv("MODELSPEC_MEMORY_BYTES", raising=False)
    mem = machine_memory()
    assert mem == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert mem > 2**30
    monkeypatch.setenv("MODELSPEC_MEMORY_BYTES", str(2**40))
    assert machine_memory() == 2**40


def test_training_bytes_counts_gradients_and_optimizer_slots():
    def opt(**o):
        return TrainTable.model_validate({"optimizer": o}).optimizer

    assert training_bytes(1000, opt(type="adam")) == 1000 * 4 * 4
    assert training_bytes(1000, opt(type="sgd")) == 1000 * 4 * 2
    assert training_bytes(1000, opt(type="sgd", momentum=0.9)) == 1000 * 4 * 3
    assert training_bytes(1000, opt(type="rmsprop")) == 1000 * 4 * 3


def test_check_warns_with_the_figures():
    r = check_file(HUGE)
    assert codes(r) == ["MS312"] and r.ok
    (d,) = r.diagnostics
    need = r.total_params * 4 / 2**30
    have = machine_memory() / 2**30
    assert f"{need:.1f} GiB" in d.message and f"{have:.1f} GiB" in d.message
    assert "'huge'" in d.hint


def test_a_model_that_fits_gets_no_warning():
    r = check_text(spec_text([{"type": "flatten"}, {"type": "dense", "units": 10}]))
    assert "MS312" not in codes(r)


def test_train_refuses_before_creating_the_run_folder(tmp_path):
    out = tmp_path / "runs"
    p = subprocess.run(
        [sys.executable, "-m", "modelspec", "train", str(HUGE), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    assert p.returncode == 1, p.stderr
    assert "training this model needs at least" in p.stderr
    assert "internal error" not in p.stderr
    assert not out.exists()
