"""Run a sweep's variants one after another, each as a normal run directory.

The plan and its state file are modelspec/runs/sweep.py's; this module trains.
After every variant `sweep.json` is rewritten (atomically), so an interrupted
sweep knows which runs are finished, which one was cut short (resumed from
its last finished epoch with `train.resume`) and which never started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelspec import runs
from modelspec.errors import MissingExtra, ModelspecError, RunError, SpecInvalid
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


def _run_status(run_dir: Path | None) -> tuple[dict, bool, int]:
    """(state.json, has metrics.json, planned epochs) of a variant's run."""
    if run_dir is None or not run_dir.is_dir():
        return {}, False, 0
    resolved = runs.read_json(run_dir / runs.RESOLVED)
    planned = int(resolved.get("derived", {}).get("epochs") or 0)
    return (
        runs.read_json(run_dir / runs.STATE),
        (run_dir / runs.METRICS).exists(),
        planned,
    )


def action_for(sweep_dir: Path, variant: sw.Variant) -> str:
    run_dir = sw.run_path(sweep_dir, variant)
    if run_dir is not None and not run_dir.is_dir():
        return "start"  # the run folder was deleted: run it again
    state, has_metrics, planned = _run_status(run_dir)
    action = sw.next_action(variant, state, has_metrics)
    if action == "resume" and planned and int(state["epochs_done"]) >= planned:
        # Killed after the last epoch but before metrics.json: nothing to
        # resume (train.resume refuses), so train it again.
        return "start"
    return action


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
    (a KeyboardInterrupt raised there stops the sweep like Ctrl-C)."""
    from . import train as trainer

    sweep_dir = Path(sweep_dir)
    for v in state.variants:
        action = action_for(sweep_dir, v)
        if on_variant is not None:
            on_variant(v, action)
        if action == "skip":
            continue
        try:
            v.status, v.error = sw.RUNNING, None
            if action == "start":
                v.run_dir = None
            sw.save_state(sweep_dir, state)
            result = _train_variant(sweep_dir, v, action, reports, reporter)
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
    rows = finish_sweep(sweep_dir, state)
    return SweepOutcome(sweep_dir=sweep_dir, state=state, rows=rows)


def _train_variant(sweep_dir: Path, v: sw.Variant, action: str, reports, reporter):
    from . import train as trainer

    if action == "resume":
        return trainer.resume(sw.run_path(sweep_dir, v), reporter=reporter)
    report = reports[v.index]
    if not report.ok:
        raise SpecInvalid(report)
    return trainer.train(
        report, overrides=v.overrides, out=sw.runs_root(sweep_dir),
        reporter=reporter,
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
            metrics = runs.read_json(run_dir / runs.METRICS)
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
