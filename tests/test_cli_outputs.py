"""Behaviour unchanged: what `check` (text and JSON), `graph` (Mermaid and SVG),
`diff` (text and JSON) and the usage errors print for every spec in specs/ and
specs/broken/ has the sha256 recorded in tests/golden/cli_outputs.sha256.

A refactoring must leave every digest as it is. When an output changes on
purpose (a new message), review the change itself, then rewrite the digests
(which also records the cases of new specs):

    git stash && python tests/cli_outputs.py dump /tmp/old && git stash pop
    python tests/cli_outputs.py dump /tmp/new
    python tests/cli_outputs.py compare /tmp/old /tmp/new   # the cases that differ
    diff /tmp/old/<case>.json /tmp/new/<case>.json          # read each one
    MODELSPEC_UPDATE_GOLDEN=1 pytest tests/test_cli_outputs.py -q
"""

from __future__ import annotations

import os
from pathlib import Path

import cli_outputs

GOLDEN = Path(__file__).resolve().parent / "golden" / "cli_outputs.sha256"


def read_golden() -> dict[str, str]:
    rows = [line.split() for line in GOLDEN.read_text().splitlines() if line]
    return {name: digest for digest, name in rows}


def test_every_command_output_is_unchanged(monkeypatch):
    monkeypatch.chdir(cli_outputs.ROOT)  # the cases name specs relative to it
    got = cli_outputs.digests()
    if os.environ.get("MODELSPEC_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text("".join(f"{d}  {n}\n" for n, d in sorted(got.items())))
    want = read_golden()
    # A new spec (or a neighbour pair it creates for `diff`) is a new case, not
    # a change of behaviour: it is recorded at the next update of the digests.
    both = want.keys() & got.keys()
    assert len(both) > 300  # every spec, four commands each
    changed = sorted(n for n in both if want[n] != got[n])
    assert changed == [], "outputs changed; see this module's docstring"
