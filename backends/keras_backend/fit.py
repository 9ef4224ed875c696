"""Stage 5 of a run, fit: the epochs themselves. Ctrl-C ends the run with
TrainingInterrupted; state.json then says where a resume continues."""

from __future__ import annotations

import time
from pathlib import Path

from modelspec import runs
from modelspec.errors import RunError


class TrainingInterrupted(RunError):
    """Ctrl-C during fit (last.keras holds the last finished epoch), or while
    finishing a trained run (`finishing`: its evaluation and plots)."""

    def __init__(
        self, run_dir: Path, epochs_done: int, finishing: bool = False
    ) -> None:
        if finishing:
            msg = (
                f"interrupted while evaluating the trained model; its "
                f"{epochs_done} epochs are saved in {run_dir}"
            )
            hint = f"finish it with: modelspec train --resume {run_dir}"
        elif epochs_done:
            msg = (
                f"training interrupted after epoch {epochs_done}; "
                f"{runs.LAST} and {runs.STATE} are saved in {run_dir}"
            )
            hint = f"continue with: modelspec train --resume {run_dir}"
        else:
            msg = f"training interrupted before the first epoch ended ({run_dir})"
            hint = "nothing to resume: start the training again"
        super().__init__(msg, hint=hint)
        self.run_dir = run_dir
        self.epochs_done = epochs_done


def fit(model, datasets, callbacks, plan, state: dict) -> None:
    """Train epochs [plan.first_epoch, plan.epochs); adds the time spent to
    state["fit_seconds"] and writes state.json. `plan` is a plan.RunPlan."""
    train_ds, val_ds = datasets
    started = time.perf_counter()

    def add_fit_seconds():
        elapsed = time.perf_counter() - started
        state["fit_seconds"] = state.get("fit_seconds", 0.0) + elapsed

    try:
        model.fit(
            train_ds,
            epochs=plan.epochs,
            initial_epoch=plan.first_epoch,
            steps_per_epoch=plan.steps_per_epoch,
            validation_data=val_ds,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles, per (seed, epoch)
            verbose=0,
        )
    except KeyboardInterrupt:
        state["interrupted"] = True
        add_fit_seconds()
        if state["epochs_done"]:
            runs.write_json(plan.run_dir / runs.STATE, state)
        raise TrainingInterrupted(plan.run_dir, int(state["epochs_done"])) from None
    add_fit_seconds()
    # Training is over (all epochs, or early stopping): a resume after a kill
    # in the finish stage only finishes (plan.make_plan).
    state["fit_done"] = plan.epochs
    runs.write_json(plan.run_dir / runs.STATE, state)
