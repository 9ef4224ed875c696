"""Run a sweep's variants one after another, each as a normal run directory.

The plan and its state file are modelspec/runs/sweep.py's; this module trains.
After every variant `sweep.json` is rewritten (atomically), so an interrupted
sweep knows which runs are finished, which one was cut short (resumed from
its last finished epoch with `train.resume`) and which never started.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelspec import runs
from modelspec.errors import MissingExtra, ModelspecError, RunError, SpecInvalid
from modelspec.fsutil import remove_stale_temps
from modelspec.runs import sweep as sw


class SweepInterrupted(RunError):
    """Ctrl-C during a sweep; sweep.json says where to continue."""

    exit_code = 130

    def __init__(self, sweep_dir: Path, variant: sw.Variant, done: int, total: int):
        super().__init__(
            f"sweep interrupted at variant {variant.index}/{total} "
            f"({variant.label}); {done} of {total} finished, saved in {sweep_dir}",
            hint=f"continue with: modelspec sweep --resume {sweep_dir}",
        )
        self.sweep_dir = sweep_dir
        self.variant = variant


@dataclass
class SweepOutcome:
    sweep_dir: Path
    state: sw.SweepState
    rows: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [v for v in self.state.variants if v.status == sw.FAILED]


def _run_status(run_dir: Path | None) -> tuple[dict, bool]:
    """(state.json, has metrics.json) of a variant's run."""
    if run_dir is None or not run_dir.is_dir():
        return {}, False
    return runs.read_state(run_dir), (run_dir / runs.METRICS).exists()


def action_for(sweep_dir: Path, variant: sw.Variant) -> str:
    """sw.next_action for the variant's run folder as it is on disk. A run
    killed after its last epoch is resumed too: the resume only finishes it
    (evaluation, metrics.json, plots) in its own folder."""
    run_dir = sw.run_path(sweep_dir, variant)
    if run_dir is not None and not run_dir.is_dir():
        return "start"  # the run folder was deleted: run it again
    try:
        state, has_metrics = _run_status(run_dir)
    except RunError:
        return "start"  # its state.json is damaged: train it again
    return sw.next_action(variant, state, has_metrics)


def _discard(sweep_dir: Path, variant: sw.Variant) -> None:
    """Before a variant starts again in a new folder: delete its old one when
    that holds no finished epoch (it was killed in its first epoch), so no
    orphan is left behind; a folder with something in it is kept."""
    run_dir = sw.run_path(sweep_dir, variant)
    variant.run_dir = None
    if run_dir is None or not run_dir.is_dir():
        return
    try:
        state, has_metrics = _run_status(run_dir)
    except RunError:
        return
    if has_metrics or state.get("epochs_done"):
        return
    with runs.locked(run_dir):  # RunBusy if a live process still trains there
        shutil.rmtree(run_dir)


def run_sweep(
    sweep_dir: Path,
    state: sw.SweepState,
    reports: dict,
    *,
    reporter=None,
    on_variant: Callable[[sw.Variant, str], None] | None = None,
    after_variant: Callable[[sw.Variant], None] | None = None,
) -> SweepOutcome:
    """Train every variant that is not finished. `reports` maps variant index
    to its checked Report; `on_variant(variant, action)` is called before each
    variant ('skip', 'start' or 'resume'), `after_variant(variant)` after it
    (a KeyboardInterrupt raised there stops the sweep like Ctrl-C). Holds the
    sweep folder's lock: two processes never run one sweep."""
    sweep_dir = Path(sweep_dir)
    with runs.locked(sweep_dir):
        remove_stale_temps(sweep_dir)  # of a sweep process that was killed
        for v in state.variants:
            action = action_for(sweep_dir, v)
            if on_variant is not None:
                on_variant(v, action)
            if action != "skip":
                _run_variant(
                    sweep_dir, state, v, action, reports, reporter, after_variant
                )
            elif v.status != sw.DONE:
                v.status = sw.DONE
                sw.save_state(sweep_dir, state)
        rows = finish_sweep(sweep_dir, state)
    return SweepOutcome(sweep_dir=sweep_dir, state=state, rows=rows)


def _run_variant(sweep_dir, state, v, action, reports, reporter, after_variant):
    """Train one variant, keeping sweep.json up to date (the run folder is
    recorded as soon as it exists, so a kill never loses it)."""
    from . import train as trainer

    try:
        v.status, v.error = sw.RUNNING, None
        if action == "start":
            _discard(sweep_dir, v)
        sw.save_state(sweep_dir, state)

        def record(run_dir: Path) -> None:
            sw.set_run_path(sweep_dir, v, run_dir)
            sw.save_state(sweep_dir, state)

        result = _train_variant(sweep_dir, v, action, reports, reporter, record)
        v.status = sw.DONE
        sw.set_run_path(sweep_dir, v, result.run_dir)
        sw.save_state(sweep_dir, state)
        if after_variant is not None:
            after_variant(v)
    except trainer.TrainingInterrupted as e:
        v.status = sw.INTERRUPTED
        sw.set_run_path(sweep_dir, v, e.run_dir)
        raise _interrupted(sweep_dir, state, v) from e
    except KeyboardInterrupt:
        if v.status != sw.DONE:
            v.status = sw.INTERRUPTED
        raise _interrupted(sweep_dir, state, v) from None
    except MissingExtra:
        v.status = sw.PENDING  # no variant can train: stop, do not fail all
        sw.save_state(sweep_dir, state)
        raise
    except ModelspecError as e:
        # One broken variant (say, a data error) should not cost the rest.
        v.status, v.error = sw.FAILED, e.message
        sw.save_state(sweep_dir, state)


def _train_variant(
    sweep_dir: Path, v: sw.Variant, action: str, reports, reporter, on_run_dir
):
    from . import train as trainer

    if action == "resume":
        return trainer.resume(sw.run_path(sweep_dir, v), reporter=reporter)
    report = reports[v.index]
    if not report.ok:
        raise SpecInvalid(report)
    return trainer.train(
        report,
        overrides=v.overrides,
        out=sw.runs_root(sweep_dir),
        reporter=reporter,
        on_run_dir=on_run_dir,
    )


def _interrupted(sweep_dir: Path, state: sw.SweepState, v: sw.Variant):
    sw.save_state(sweep_dir, state)
    finish_sweep(sweep_dir, state)  # the partial table is worth having
    done = sum(x.status == sw.DONE for x in state.variants)
    return SweepInterrupted(sweep_dir, v, done, len(state.variants))


def comparison_rows(sweep_dir: Path, state: sw.SweepState) -> list[dict]:
    rows = []
    for v in state.variants:
        run_dir, metrics = sw.run_path(sweep_dir, v), {}
        if v.status == sw.DONE and run_dir is not None:
            try:
                metrics = runs.read_json(run_dir / runs.METRICS)
            except RunError:  # damaged since: its row shows '-'
                metrics = {}
        rows.append(sw.comparison_row(v, metrics, run_dir))
    return rows


def finish_sweep(sweep_dir: Path, state: sw.SweepState) -> list[dict]:
    """comparison.csv / .md and val_accuracy.png from the finished runs."""
    from .compare import val_accuracy_plot

    rows = comparison_rows(sweep_dir, state)
    sw.write_comparison(sweep_dir, rows, f"sweep of {state.spec_name}")
    series = [
        (v.label, sw.run_path(sweep_dir, v))
        for v in state.variants
        if v.run_dir and v.status in (sw.DONE, sw.INTERRUPTED)
    ]
    val_accuracy_plot(series, Path(sweep_dir) / sw.PLOT_FILE)
    return rows
