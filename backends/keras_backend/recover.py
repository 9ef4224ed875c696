"""Before a resume: put a run folder back in a state the resume can trust,
however the last process in it ended (kill -9, Ctrl-C, a full disk).

What a checkpoint writes, in order (callbacks.make_checkpoint): last.keras,
a history.csv row, state.json (the commit), then best.keras. A kill leaves at
most: a temporary file of an atomic write, a history row of an epoch that
state.json does not count (maybe cut off), or a best.keras one epoch behind
state.json. Each is repaired here; anything else is refused by name.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from modelspec import runs
from modelspec.errors import RunError
from modelspec.fsutil import atomic_path, atomic_write_text, remove_stale_temps


def repair_run(run_dir: Path, state: dict) -> None:
    """Call with the run's lock held: temporary files of a killed process,
    history.csv and best.keras, against state.json (`state`)."""
    remove_stale_temps(run_dir)
    repair_history(run_dir / runs.HISTORY, int(state.get("epochs_done") or 0))
    repair_best(run_dir, state)


def repair_best(run_dir: Path, state: dict) -> None:
    """When state.json says the best epoch is the last finished one, last.keras
    holds those very weights; a kill after state.json may have kept best.keras
    from saving them, so copy last.keras over it."""
    last = run_dir / runs.LAST
    if not state.get("epochs_done") or not last.exists():
        return
    if state.get("best_epoch") != state["epochs_done"]:
        return
    with atomic_path(run_dir / runs.BEST, suffix=".keras") as tmp:
        shutil.copyfile(last, tmp)


def _complete_lines(path: Path) -> str:
    """The file's text up to its last line end: a row cut off by a kill has
    none (csv's row could still parse, with a shortened last number)."""
    with open(path, newline="") as f:
        text = f.read()
    return text[: text.rfind("\n") + 1]


def repair_history(path: Path, epochs_done: int) -> None:
    """Keep exactly the rows of epochs 0..epochs_done-1, once each: drop the
    rows of epochs a resume trains again and a row cut off by a kill. A
    damaged row among the kept ones is a RunError naming the file and line."""
    if not path.exists():
        return
    rows = list(csv.reader(io.StringIO(_complete_lines(path))))
    if not rows:  # killed while writing the header: start the file afresh
        path.unlink()
        return
    header, kept = rows[0], {}
    if header[:1] != ["epoch"]:
        raise RunError(
            f"cannot resume: {path} has no 'epoch' column. Received: {header[:3]}",
            hint="delete the file to resume without the earlier epochs' history",
        )
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header) or not row[0].isdigit():
            raise RunError(
                f"cannot resume: {path} line {line} is damaged. Received: "
                f"{','.join(row)[:80]!r}",
                hint="fix or delete that line, then resume again",
            )
        epoch = int(row[0])
        if epoch < epochs_done:
            kept.setdefault(epoch, row)
    buf = io.StringIO()
    csv.writer(buf).writerows([header] + [kept[e] for e in sorted(kept)])
    atomic_write_text(path, buf.getvalue())
