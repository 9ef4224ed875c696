"""MultiWorkerMirroredStrategy with two real worker processes on loopback.

Each worker runs `modelspec train` with its own TF_CONFIG. Only the chief
(worker 0) may write a run directory; the other makes the same save calls into
a temporary folder that it deletes. Two synchronized workers with one replica
each must train exactly as MirroredStrategy over two logical CPUs does in one
process: same data, same shuffle order, the same global batch.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240
ARGS = [
    "train",
    "specs/digits_lenet.toml",
    "--set",
    "data.limit=200",
    "--epochs",
    "1",
    "--set",
    "train.batch_size=32",
]


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run_all(procs: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """Wait for every process; on timeout kill them all (a worker whose peer
    died would wait in a collective forever) and fail with their output."""
    deadline = time.monotonic() + TIMEOUT_S
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append((p.returncode, out, err))
    except subprocess.TimeoutExpired:
        outputs = []
        for p in procs:
            p.kill()
            out, err = p.communicate()
            outputs.append(f"--- worker rc={p.returncode}\n{out}\n{err[-3000:]}")
        pytest.fail(f"workers did not finish in {TIMEOUT_S} s\n" + "\n".join(outputs))
    return results


def epoch_stats(text: str) -> str:
    """The epoch line without its examples/s, which differ per worker."""
    (line,) = [ln for ln in text.splitlines() if ln.startswith("epoch 1/1")]
    return line.rsplit("  ", 1)[0]


def history_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def mirrored_reference(out: Path) -> Path:
    """The same training with MirroredStrategy over two logical CPUs."""
    script = textwrap.dedent(f"""
        import sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.argv = ["modelspec"] + {ARGS!r} + [
            "--set", "train.strategy=mirrored", "--out", {str(out)!r}]
        from modelspec.cli import main
        main()
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = [p for p in (out / "digits_lenet").iterdir() if not p.is_symlink()]
    return run


def test_two_workers_write_one_run_that_matches_mirrored(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    out = tmp_path / "runs"
    procs = []
    for index in range(2):
        scratch = tmp_path / f"tmp{index}"  # where the worker's tempfiles go
        scratch.mkdir()
        env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="3",
            TMPDIR=str(scratch),
            TF_CONFIG=json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        )
        cmd = [
            sys.executable,
            "-m",
            "modelspec",
            *ARGS,
            "--set",
            "train.strategy=multi_worker",
            "--out",
            str(out),
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    results = run_all(procs)
    for index, (rc, out_text, err) in enumerate(results):
        assert rc == 0, f"worker {index}:\n{out_text}\n{err[-3000:]}"

    spec_dir = out / "digits_lenet"
    entries = [p for p in spec_dir.iterdir() if p.name != "latest"]
    assert len(entries) == 1, sorted(p.name for p in spec_dir.iterdir())
    run = entries[0]
    assert run.is_dir()
    assert (spec_dir / "latest").resolve() == run.resolve()
    for name in (
        "spec.toml",
        "best.keras",
        "last.keras",
        "metrics.json",
        "history.csv",
        "state.json",
    ):
        assert (run / name).is_file(), name
    resolved = json.loads((run / "resolved.json").read_text())
    assert resolved["derived"]["strategy"] == "multi_worker (2 workers)"
    assert resolved["derived"]["distribution"] == {
        "class": "MultiWorkerMirroredStrategy",
        "replicas": 2,
        "workers": 2,
    }
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 1

    # The non-chief's scratch folder is gone; it names the chief's runs folder.
    for index in range(2):
        left = list((tmp_path / f"tmp{index}").glob("modelspec-worker-*"))
        assert left == [], left
    chief_out, worker_out = results[0][1], results[1][1]
    assert str(run) in chief_out
    assert worker_out.strip().endswith(f"-> {spec_dir}")
    # Synchronous training: both print the same (all-reduced) epoch metrics.
    assert epoch_stats(chief_out) == epoch_stats(worker_out)

    reference = mirrored_reference(tmp_path / "mirrored")
    got = history_rows(run / "history.csv")
    want = history_rows(reference / "history.csv")
    assert len(got) == len(want) == 1
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert float(got[0][key]) == pytest.approx(float(want[0][key]), rel=1e-4)
    m_got = json.loads((run / "metrics.json").read_text())
    m_want = json.loads((reference / "metrics.json").read_text())
    assert m_got["test"]["examples"] == m_want["test"]["examples"]
    assert m_got["test"]["loss"] == pytest.approx(m_want["test"]["loss"], rel=1e-4)
