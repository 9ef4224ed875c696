"""OS trouble is a usage/IO error, a bug is an internal error (issue 10, item 12).

Real filesystems where the test may mount one (a read-only and a tiny tmpfs),
else the same OS error injected at the same call (a sitecustomize in a child
process); either way the CLI's answer is what is checked. A full disk, a bug,
the debug traceback and TensorFlow's start-up lines are checked through a real
`python -m modelspec` process; the other cases run the same `main()` in this
process (`in_process`), which saves a TensorFlow import each.
"""

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import cli_in_process as in_process

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ["--set", "data.limit=120", "--set", "data.test_limit=30", "--epochs", "1"]
SPEC = str(ROOT / "specs" / "digits_lenet.toml")


def run_cli(*args, env=None, inject=None, tmp=None, timeout=600):
    environ = {**os.environ, **(env or {})}
    environ.pop("MODELSPEC_DEBUG", None)
    environ.update(env or {})
    if inject:  # a sitecustomize that makes one OS call fail, in the child only
        site = Path(tmp) / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(textwrap.dedent(inject))
        environ["PYTHONPATH"] = os.pathsep.join(
            [str(site), environ.get("PYTHONPATH", ""), str(ROOT)]
        )
    return subprocess.run(
        [sys.executable, "-m", "modelspec", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
    )


def _mount(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    return p.returncode == 0


@pytest.fixture
def mounts():
    done: list[Path] = []

    def mount(folder: Path, options: str) -> bool:
        ok = _mount(folder, options)
        if ok:
            done.append(folder)
        return ok

    yield mount
    for folder in reversed(done):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fail_writes_under(folder: Path, code: int) -> str:
    """A sitecustomize: every file opened for writing under `folder` fails."""
    return f"""
        import builtins, errno, io, os
        _open, _io_open = builtins.open, io.open
        def _deny(file, mode="r", *a, **k):
            if any(c in mode for c in "wax+") and os.fspath(file).startswith(
                    {str(folder)!r}):
                raise OSError({code}, os.strerror({code}), os.fspath(file))
            return _open(file, mode, *a, **k)
        builtins.open = io.open = _deny
        _mkdir = os.mkdir
        def _mkdir_deny(path, *a, **k):
            if os.fspath(path).startswith({str(folder)!r}) and {code} == errno.EROFS:
                raise OSError({code}, os.strerror({code}), os.fspath(path))
            return _mkdir(path, *a, **k)
        os.mkdir = _mkdir_deny
    """


def _assert_io_error(p, *needles):
    assert p.returncode == 2, p.stderr
    assert "internal error" not in p.stderr and "Traceback" not in p.stderr
    for needle in needles:
        assert needle in p.stderr, p.stderr


def test_out_that_is_a_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "afile"
    out.write_text("not a folder")
    p = in_process(monkeypatch, capsys, "train", SPEC, *DIGITS, "--out", out)
    _assert_io_error(p, str(out), "Not a directory")
    assert out.read_text() == "not a folder"


def test_read_only_out(tmp_path, mounts, monkeypatch, capsys):
    ro = tmp_path / "ro"
    if mounts(ro, "ro,size=1m"):
        p = in_process(
            monkeypatch, capsys, "train", SPEC, *DIGITS, "--out", ro / "runs"
        )
    else:
        p = run_cli(
            "train",
            SPEC,
            *DIGITS,
            "--out",
            str(ro / "runs"),
            tmp=tmp_path,
            inject=_fail_writes_under(ro, errno.EROFS),
        )
    _assert_io_error(p, str(ro / "runs"), "Read-only file system")


def test_full_disk_while_training(tmp_path, mounts):
    small = tmp_path / "small"
    if mounts(small, "size=192k"):
        p = run_cli("train", SPEC, *DIGITS, "--out", str(small / "runs"))
    else:
        p = run_cli(
            "train",
            SPEC,
            *DIGITS,
            "--out",
            str(small / "runs"),
            tmp=tmp_path,
            inject=_fail_writes_under(small, errno.ENOSPC),
        )
    _assert_io_error(p, str(small), "No space left on device")


def test_unwritable_export_target(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    args = ["export", SPEC, "--onnx", "--random-inputs", "-o", blocker / "model.onnx"]
    p = in_process(monkeypatch, capsys, *args)
    _assert_io_error(p, str(blocker))
    assert blocker.read_text() == "x"


def test_a_bug_is_exit_3_not_1(tmp_path):
    p = run_cli(
        "check",
        SPEC,
        tmp=tmp_path,
        inject="""
        import modelspec.check as c
        def broken(*a, **k):
            raise RuntimeError("boom")
        c.check_text = broken
    """,
    )
    assert p.returncode == 3, p.stderr
    assert "internal error: RuntimeError: boom" in p.stderr
    assert "this is a bug" in p.stderr


def test_debug_flag_shows_the_cause(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    args = [
        "train",
        SPEC,
        "--set",
        "data.dataset=npz",
        "--set",
        f"data.path={bad}",
        "--epochs",
        "1",
    ]
    quiet = in_process(monkeypatch, capsys, *args)
    assert quiet.returncode == 1, quiet.stderr
    assert "Traceback" not in quiet.stderr and str(bad) in quiet.stderr
    loud = run_cli(*args, env={"MODELSPEC_DEBUG": "1"})
    assert loud.returncode == 1
    assert "The above exception was the direct cause" in loud.stderr
    assert str(bad) in loud.stderr


def test_tensorflow_start_up_lines_are_not_printed(tmp_path):
    env = {"TF_CPP_MIN_LOG_LEVEL": ""}  # the CLI must not depend on the caller's
    p = run_cli("train", SPEC, *DIGITS, "--out", str(tmp_path / "runs"), env=env)
    assert p.returncode == 0, p.stderr
    for noise in ("absl::InitializeLog", "oneDNN custom operations", "cuda"):
        assert noise not in p.stderr, p.stderr
