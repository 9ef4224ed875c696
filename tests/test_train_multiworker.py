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
TIMEOUT_S = 600  # a hung collective, not a slow machine: the other files use 600
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


def reserve_ports(n: int) -> list[socket.socket]:
    """n loopback ports, each held by a bound (never listening) socket with
    SO_REUSEPORT until the test ends. A port probed free and closed again could
    be taken by another process before a worker binds it; held like this, only
    sockets of this user that also set SO_REUSEPORT may share it: the workers'
    gRPC servers, started with TF_GRPC_REUSE_PORT=1. Connections go to the
    listening socket, the worker's."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    return socks


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


def start_mirrored_reference(out: Path) -> subprocess.Popen:
    """The same training with MirroredStrategy over two logical CPUs. It runs
    beside the workers (it shares nothing with them), so that its TensorFlow
    import and training overlap theirs."""
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
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def ports():
    socks = reserve_ports(2)
    yield [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()


def test_two_workers_write_one_run_that_matches_mirrored(tmp_path, ports):
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    out = tmp_path / "runs"
    procs = [start_mirrored_reference(tmp_path / "mirrored")]
    for index in range(2):
        scratch = tmp_path / f"tmp{index}"  # where the worker's tempfiles go
        scratch.mkdir()
        env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="3",
            TF_GRPC_REUSE_PORT="1",  # beside the test's socket holding the port
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
    (ref_rc, _, ref_err), *results = run_all(procs)
    for index, (rc, out_text, err) in enumerate(results):
        assert rc == 0, f"worker {index}:\n{out_text}\n{err[-3000:]}"
    assert ref_rc == 0, f"mirrored reference:\n{ref_err[-3000:]}"

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

    (reference,) = [
        p
        for p in (tmp_path / "mirrored" / "digits_lenet").iterdir()
        if not p.is_symlink()
    ]
    got = history_rows(run / "history.csv")
    want = history_rows(reference / "history.csv")
    assert len(got) == len(want) == 1
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert float(got[0][key]) == pytest.approx(float(want[0][key]), rel=1e-4)
    m_got = json.loads((run / "metrics.json").read_text())
    m_want = json.loads((reference / "metrics.json").read_text())
    assert m_got["test"]["examples"] == m_want["test"]["examples"]
    assert m_got["test"]["loss"] == pytest.approx(m_want["test"]["loss"], rel=1e-4)
