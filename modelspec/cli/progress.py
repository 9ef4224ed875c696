"""Training progress on the terminal, for `train` and `sweep` alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when a reporter is made
    from rich.progress import TaskID


class RichReporter:
    """One Rich progress bar per epoch: loss, accuracy, examples/s."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
        )
        # Piped to a file or CI log: one plain line per epoch, no live bar.
        self.live = console.is_terminal
        self.console = console
        self.task: TaskID | None = None  # set by epoch_begin
        self.title = ""

    def __enter__(self):
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self.progress.stop()

    def epoch_begin(self, epoch: int, epochs: int, steps: int) -> None:
        self.title = f"epoch {epoch}/{epochs}"
        if self.live:
            self.task = self.progress.add_task(self.title, total=steps, stats="")

    def batch_end(self, step: int, logs: dict, rate: float) -> None:
        if self.live and self.task is not None:
            self.progress.update(
                self.task, completed=step, stats=self._stats(logs, rate)
            )

    def epoch_end(self, epoch: int, logs: dict) -> None:
        stats = self._stats(logs, logs.get("examples_per_s"), val=True)
        if not self.live:
            self.console.print(
                f"{self.title}  {stats}", highlight=False, soft_wrap=True
            )
        elif self.task is not None:
            self.progress.update(self.task, stats=stats)

    @staticmethod
    def _stats(logs: dict, rate, val: bool = False) -> str:
        keys = ["loss", "accuracy"] + (["val_loss", "val_accuracy"] if val else [])
        parts = [f"{k} {logs[k]:.4f}" for k in keys if k in logs]
        if rate:
            parts.append(f"{rate:,.0f} ex/s")
        return "  ".join(parts)
