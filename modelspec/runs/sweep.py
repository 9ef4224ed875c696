"""Grid sweeps over `--set` values: the plan, its state file and the comparison.

Framework-free: this module expands `--set key=v1,v2` options into variants,
labels them, keeps `sweep.json` (which variant ran where, and how far), decides
what a resumed sweep does with each variant, and turns the runs' metrics.json
into comparison rows. Running the variants is the backend's job
(backends/keras_backend/sweep_run.py).

A sweep is identified by the sha256 of the spec text plus the grid, the repeat
count and the fixed overrides (`sweep_key`): re-running the same command finds
the unfinished sweep with that key under `<out>/sweeps/` and continues it, as
`--resume SWEEP_DIR` does. Finished variants are skipped; one cut short after
a finished epoch (or after its last, while it was evaluated) is resumed in its
own run folder; any other is trained again in a new run folder (`next_action`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..fsutil import atomic_write_text
from ..overrides import split_override
from .sweep_table import (  # noqa: F401  (part of this module's API)
    COLUMNS,
    CSV_FILE,
    MD_FILE,
    comparison_csv,
    comparison_markdown,
    comparison_row,
    format_cell,
    write_comparison,
)

STATE_FILE = "sweep.json"
SPEC_COPY = "sweep_spec.toml"  # not spec.toml: `modelspec runs` would list it
PLOT_FILE = "val_accuracy.png"
SWEEPS = "sweeps"
SEED_KEY = "train.seed"

# Variant status in sweep.json. "running" is only ever seen after a crash.
PENDING, RUNNING, DONE, FAILED, INTERRUPTED = (
    "pending",
    "running",
    "done",
    "failed",
    "interrupted",
)
_PAIRS = {"[": "]", "{": "}"}


def split_values(text: str) -> list[str]:
    """Split `v1,v2` on commas outside brackets, braces and quotes, so
    `[3,3],[5,5]` is two values and `{type="sgd", momentum=0.9}` one."""
    values, depth, quote, start = [], [], None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in _PAIRS:
            depth.append(_PAIRS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch == "," and not depth:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    if quote or depth:
        raise UsageError(
            f"--set value {text!r} has an unclosed {'quote' if quote else 'bracket'}",
            hint="quote the whole option in the shell: --set 'key=[3,3],[5,5]'",
        )
    return values


def parse_grid(items: Iterable[str]) -> list[tuple[str, list[str]]]:
    """[(key, [value, ...])] in the order given; one value means fixed."""
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        parts, raw = split_override(item)
        key = ".".join(parts)
        values = split_values(raw)
        if any(v == "" for v in values):
            raise UsageError(
                f"--set {item!r} has an empty value",
                hint="separate values with single commas: --set key=a,b",
            )
        if key in (k for k, _ in grid):
            raise UsageError(
                f"--set {key} is given twice",
                hint="list every value in one option: --set key=a,b,c",
            )
        grid.append((key, values))
    return grid


@dataclass
class Variant:
    index: int  # 1-based, in grid order
    label: str
    overrides: list[str]
    values: dict  # varying key -> raw value text (plus train.seed on repeats)
    repeat: int = 0
    status: str = PENDING
    run_dir: str | None = None  # relative to the sweep folder: see run_path
    error: str | None = None


def _short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Drop the table name when every varying key shares it (`train.`), so
    labels read `optimizer.type=adam batch_size=128`."""
    split = [k.split(".") for k in keys]
    heads = {p[0] for p in split}
    if len(heads) == 1 and all(len(p) > 1 for p in split):
        return {k: ".".join(p[1:]) for k, p in zip(keys, split, strict=True)}
    return {k: k for k in keys}


def expand(
    grid: Sequence[tuple[str, list[str]]],
    *,
    repeat: int = 1,
    base_seed: int = 0,
    fixed: Sequence[str] = (),
) -> list[Variant]:
    """Every combination of the grid's values (first key slowest), each
    `repeat` times with `train.seed=base_seed+r` when repeat > 1. `fixed`
    overrides (e.g. train.epochs from --epochs) come after the single-valued
    keys and before the varying ones."""
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1. Received: {repeat}")
    varying = [k for k, vals in grid if len(vals) > 1]
    if repeat > 1 and SEED_KEY in (k for k, _ in grid):
        raise UsageError(
            f"--repeat sets {SEED_KEY} itself; do not also --set it",
            hint=f"drop --set {SEED_KEY}=... or --repeat",
        )
    short = _short_keys(varying)
    base = [f"{k}={vals[0]}" for k, vals in grid if len(vals) == 1] + list(fixed)
    combos = itertools.product(*[vals for k, vals in grid if len(vals) > 1])
    variants: list[Variant] = []
    for combo in combos:
        for r in range(repeat):
            values = dict(zip(varying, combo, strict=True))
            overrides = base + [f"{k}={v}" for k, v in values.items()]
            label = [f"{short[k]}={v}" for k, v in values.items()]
            if repeat > 1:
                values[SEED_KEY] = str(base_seed + r)
                overrides.append(f"{SEED_KEY}={base_seed + r}")
                label.append(f"seed={base_seed + r}")
            variants.append(
                Variant(
                    index=len(variants) + 1,
                    label=" ".join(label) or "spec as written",
                    overrides=overrides,
                    values=values,
                    repeat=r,
                )
            )
    return variants


def sweep_key(spec_text: str, grid, repeat: int, fixed: Sequence[str]) -> str:
    blob = json.dumps(
        {
            "grid": [[k, list(v)] for k, v in grid],
            "repeat": repeat,
            "fixed": list(fixed),
        },
        sort_keys=True,
    )
    h = hashlib.sha256(spec_text.encode("utf-8"))
    h.update(blob.encode("utf-8"))
    return h.hexdigest()[:16]


@dataclass
class SweepState:
    spec_name: str
    source: str  # the spec path as given
    key: str
    grid: list
    repeat: int
    fixed: list
    out: str  # as given; runs go to runs_root(sweep folder), which is this
    variants: list[Variant]
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    version: int = 1

    @property
    def finished(self) -> bool:
        return all(v.status == DONE for v in self.variants)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SweepState:
        data = dict(data)
        data["variants"] = [Variant(**v) for v in data.get("variants", [])]
        return cls(**data)


def create_sweep_dir(out: str | Path, name: str, now: float | None = None) -> Path:
    """`<out>/sweeps/<name>-<stamp>[-N]/`, claimed by mkdir like run dirs."""
    parent = Path(out) / SWEEPS
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    for n in range(1, 10_000):
        candidate = parent / (f"{name}-{stamp}" + ("" if n == 1 else f"-{n}"))
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise UsageError(f"cannot create a new sweep folder under {parent}")


def runs_root(sweep_dir: str | Path) -> Path:
    """The runs folder a sweep trains into: `<out>` of `<out>/sweeps/<x>/`."""
    return Path(sweep_dir).parent.parent


def run_path(sweep_dir: str | Path, variant: Variant) -> Path | None:
    """A variant's run folder. sweep.json keeps it relative to the sweep
    folder, so a sweep resumes from any working directory and after the whole
    runs folder moved, instead of not finding its runs and training again."""
    if variant.run_dir is None:
        return None
    return Path(os.path.normpath(Path(sweep_dir) / variant.run_dir))


def set_run_path(sweep_dir: str | Path, variant: Variant, run_dir) -> None:
    variant.run_dir = os.path.relpath(
        Path(run_dir).resolve(), Path(sweep_dir).resolve()
    )


def save_state(sweep_dir: Path, state: SweepState) -> None:
    text = json.dumps(state.to_json(), indent=2) + "\n"
    atomic_write_text(Path(sweep_dir) / STATE_FILE, text)


def load_state(sweep_dir: str | Path) -> SweepState:
    path = Path(sweep_dir) / STATE_FILE
    if not path.exists():
        raise UsageError(
            f"{sweep_dir} is not a sweep folder (it has no {STATE_FILE})",
            hint="pass a folder under runs/sweeps/",
        )
    try:
        return SweepState.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def find_unfinished(out: str | Path, key: str) -> Path | None:
    """The newest sweep folder under `<out>/sweeps/` with this key that has a
    variant left to run, else None."""
    parent = Path(out) / SWEEPS
    if not parent.is_dir():
        return None
    for path in sorted(parent.glob(f"*/{STATE_FILE}"), reverse=True):
        try:
            state = load_state(path.parent)
        except UsageError:
            continue  # a damaged folder is not ours to continue
        if state.key == key and not state.finished:
            return path.parent
    return None


def next_action(variant: Variant, run_state: dict, has_metrics: bool) -> str:
    """What a (re)started sweep does with a variant: 'skip' a finished run,
    'resume' an interrupted one that has a finished epoch (and epochs left),
    else 'start' it afresh in a new run directory. `run_state` is the run's
    state.json ({} when there is none)."""
    if variant.run_dir is None:
        return "start"
    if has_metrics and variant.status in (DONE, RUNNING, INTERRUPTED):
        return "skip"  # killed after its metrics.json, before sweep.json said so
    done = int(run_state.get("epochs_done") or 0)
    if variant.status in (RUNNING, INTERRUPTED) and done > 0 and not has_metrics:
        return "resume"
    return "start"


def check_variants(text: str, source: str, variants: Sequence[Variant]) -> list:
    """[(variant, Report)] for every variant of the spec text `text`."""
    from ..check import check_text

    out = []
    for v in variants:
        try:
            out.append((v, check_text(text, file=source, overrides=v.overrides)))
        except UsageError as e:
            raise UsageError(f"variant {v.label}: {e.message}", hint=e.hint) from e
    return out


def new_state(
    source: str,
    text: str,
    set_items: Sequence[str],
    *,
    repeat: int = 1,
    epochs: int | None = None,
    out: str | Path = "runs",
) -> SweepState:
    """The plan of a new sweep (nothing is written). The base seed of
    --repeat is the spec's own train.seed (default 0)."""
    from ..check import check_text

    grid = parse_grid(set_items)
    fixed = [f"train.epochs={epochs}"] if epochs is not None else []
    base = [f"{k}={vals[0]}" for k, vals in grid if len(vals) == 1] + fixed
    raw = check_text(text, file=source, overrides=base).raw
    seed = raw.get("train", {}).get("seed", 0)
    name = raw.get("model", {}).get("name") or Path(source).stem
    variants = expand(
        grid,
        repeat=repeat,
        base_seed=seed if isinstance(seed, int) else 0,
        fixed=fixed,
    )
    return SweepState(
        spec_name=str(name),
        source=str(source),
        key=sweep_key(text, grid, repeat, fixed),
        grid=[[k, list(v)] for k, v in grid],
        repeat=repeat,
        fixed=fixed,
        out=str(out),
        variants=variants,
    )
