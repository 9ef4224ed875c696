"""Run folders, framework-free: the run-directory format (`rundir`: file names,
creating, resolving, listing) and sweeps over runs (`sweep`: the plan, its
state and `sweep_table`: the comparison). Training writes these folders
(backends/keras_backend/); `modelspec runs` reads them without TensorFlow.

`from modelspec import runs` then `runs.METRICS`, `runs.resolve_run(...)`:
the run-directory API is re-exported here, with `locked` (lock.py: one
process at a time in a run folder).
"""

from __future__ import annotations

from .lock import RunBusy, locked
from .rundir import (
    AUGMENT,
    BEST,
    CONFUSION,
    CURVES,
    HISTORY,
    LAST,
    LATEST,
    LOCK,
    METRICS,
    RESOLVED,
    SAMPLES,
    SPEC,
    STATE,
    TB,
    RunInfo,
    create_run_dir,
    list_runs,
    point_latest,
    read_json,
    read_state,
    resolve_run,
    run_info,
    write_json,
)

__all__ = [
    "AUGMENT",
    "BEST",
    "CONFUSION",
    "CURVES",
    "HISTORY",
    "LAST",
    "LATEST",
    "LOCK",
    "METRICS",
    "RESOLVED",
    "SAMPLES",
    "SPEC",
    "STATE",
    "TB",
    "RunBusy",
    "RunInfo",
    "create_run_dir",
    "list_runs",
    "locked",
    "point_latest",
    "read_json",
    "read_state",
    "resolve_run",
    "run_info",
    "write_json",
]
