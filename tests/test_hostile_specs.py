"""Spec files that could hurt the machine: endless, huge, deeply nested, odd bytes.

Each is refused with a clear message before it is read whole (issue 10, item 9).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelspec.check import MAX_SPEC_ENV, check_file, check_text, read_spec_text
from modelspec.errors import UsageError
from modelspec.source import MAX_DEPTH
from tests.helpers import codes, spec_text

ROOT = Path(__file__).resolve().parents[1]
GOOD = spec_text([{"type": "flatten"}], input=(2, 2, 1))


def run_cli(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "modelspec", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_devices_are_refused_before_reading():
    p = run_cli("check", "/dev/zero")
    assert p.returncode == 2
    assert "/dev/zero is not a regular file" in p.stderr
    assert "Traceback" not in p.stderr


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    # Opening a FIFO blocks until a writer comes: a checker that opened it would
    # hang, and the subprocess timeout turns that into a failure.
    p = run_cli("check", str(fifo), timeout=60)
    assert p.returncode == 2
    assert "not a regular file" in p.stderr


def test_size_limit_and_its_override(tmp_path, monkeypatch):
    big = tmp_path / "big.toml"
    big.write_text(GOOD + "#" * (5 << 20) + "\n")
    with pytest.raises(UsageError) as e:
        read_spec_text(big)
    assert "larger than 4,194,304 bytes" in e.value.message
    assert MAX_SPEC_ENV in e.value.hint
    monkeypatch.setenv(MAX_SPEC_ENV, str(6 << 20))
    assert check_file(big).ok
    monkeypatch.setenv(MAX_SPEC_ENV, "lots")
    with pytest.raises(UsageError) as e:
        read_spec_text(big)
    assert "Received" in e.value.message


def test_size_limit_exit_code_from_the_cli(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(GOOD)
    p = run_cli("check", str(big), env={MAX_SPEC_ENV: "10"})
    assert p.returncode == 2
    assert "larger than 10 bytes" in p.stderr


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 5000])
def test_deep_arrays_are_a_syntax_error_with_a_line(depth):
    text = GOOD + "\n[data]\nx = " + "[" * depth + "]" * depth + "\n"
    r = check_text(text)
    assert codes(r) == ["MS100"]
    (d,) = r.diagnostics
    assert "nested more than" in d.message
    assert d.line == len(GOOD.splitlines()) + 3


def test_deep_dotted_keys_are_a_syntax_error():
    r = check_text(GOOD + "\n" + "a" + ".a" * 200 + " = 1\n")
    assert codes(r) == ["MS100"]
    assert r.diagnostics[0].line == len(GOOD.splitlines()) + 2


def test_nesting_a_spec_needs_is_fine():
    text = GOOD + "\n[data]\nx = " + "[" * 8 + "]" * 8 + "\n"
    assert "MS100" not in codes(check_text(text))


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    r = check_file(f)
    assert r.ok, [d.render() for d in r.diagnostics]
    assert r.layers[0].output_shape == (4,)


def test_binary_file_names_the_byte(tmp_path):
    f = tmp_path / "bin.toml"
    f.write_bytes(b"[model]\xff\xfe")
    with pytest.raises(UsageError) as e:
        read_spec_text(f)
    assert "not UTF-8 text (byte 7)" in e.value.message
