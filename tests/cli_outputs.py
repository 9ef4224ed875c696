"""Dump what the framework-free commands print for every example spec, to
compare two versions of the code (a refactoring must not change any of it).

    python tests/cli_outputs.py dump OUT_DIR          # one file per case
    python tests/cli_outputs.py compare OLD_DIR NEW_DIR

Each case records the exit code, stdout and stderr of one in-process command:
`check` (text and `--format json`), `graph --format mermaid` and SVG, `diff`
(text and json) for neighbouring pairs of specs, and a few usage errors. Run
from the repository root so that the paths in the outputs are the same.
`tests/test_cli_outputs.py` compares the sha256 of every case (but `--help`,
whose layout is typer's) with tests/golden/cli_outputs.sha256.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spec_paths() -> list[str]:
    specs = sorted((ROOT / "specs").glob("*.toml"))
    broken = sorted((ROOT / "specs" / "broken").glob("*.toml"))
    return [str(p.relative_to(ROOT)) for p in specs + broken]


def cases() -> dict[str, list[str]]:
    """{case name: argv}. Names are stable file names."""
    out: dict[str, list[str]] = {}
    paths = spec_paths()
    for p in paths:
        stem = p.replace("/", "__").removesuffix(".toml")
        out[f"check_text__{stem}"] = ["check", p]
        out[f"check_json__{stem}"] = ["check", p, "--format", "json"]
        out[f"graph_mermaid__{stem}"] = ["graph", p, "--format", "mermaid"]
        out[f"graph_svg__{stem}"] = ["graph", p, "-o", "-", "--format", "svg"]
    for a, b in zip(paths, paths[1:] + paths[:1], strict=True):
        name = a.replace("/", "__").removesuffix(".toml") + "__vs__" + Path(b).stem
        out[f"diff_json__{name}"] = ["diff", a, b, "--format", "json"]
        out[f"diff_text__{name}"] = ["diff", a, b]
    lenet = "specs/mnist_lenet.toml"
    out.update(
        {
            "usage__check_bad_format": ["check", lenet, "--format", "xml"],
            "usage__check_missing_file": ["check", "specs/nope.toml"],
            "usage__check_strict": [
                "check",
                "specs/broken/adam_lr_0.1.toml",
                "--strict",
            ],
            "usage__check_quiet": ["check", lenet, "-q"],
            "usage__check_two": [
                "check",
                lenet,
                "specs/digits_lenet.toml",
                "--format",
                "json",
            ],
            "usage__check_set": ["check", lenet, "--set", "layers.conv1.filters=8"],
            "usage__check_bad_set": ["check", lenet, "--set", "nonsense"],
            "usage__diff_bad_format": ["diff", lenet, lenet, "--format", "xml"],
            "usage__graph_bad_format": ["graph", lenet, "--format", "gif"],
            "usage__graph_bad_suffix": ["graph", lenet, "-o", "x.gif"],
            "usage__train_nothing": ["train"],
            "usage__sweep_nothing": ["sweep"],
            "usage__sweep_invalid_variant": [
                "sweep",
                lenet,
                "--set",
                "layers.conv1.kernel=5,40",
                "--out",
                "/nonexistent-modelspec-runs",
            ],
            "usage__runs_missing": ["runs", "/nonexistent-modelspec-runs"],
            "usage__runs_two_without_compare": ["runs", "a", "b"],
            "usage__runs_compare_not_png": ["runs", "--compare", "a", "-o", "x.gif"],
            "usage__export_no_format": ["export", lenet],
            "usage__export_bad_checkpoint": [
                "export",
                lenet,
                "--onnx",
                "--checkpoint",
                "middle",
            ],
            "usage__predict_missing_onnx": ["predict", "nope.onnx", "x.png"],
            "version": ["version"],
            "runs__listing": ["runs", str(RUNS)],
            "runs__one_spec": ["runs", str(RUNS / "lenet")],
        }
    )
    for command in (
        "",
        "check",
        "schema",
        "version",
        "train",
        "evaluate",
        "predict",
        "runs",
        "export",
        "graph",
        "diff",
        "sweep",
    ):
        out[f"help__{command or 'app'}"] = (
            [command, "--help"] if command else ["--help"]
        )
    return out


RUNS = Path("/tmp/modelspec-cli-outputs/runs")


def make_runs() -> None:
    """Two fake run folders for `runs` (it reads JSON only, no framework)."""
    done = RUNS / "lenet" / "20260101-000000"
    cut = RUNS / "mlp" / "20260102-000000"
    for d in (done, cut):
        d.mkdir(parents=True, exist_ok=True)
        (d / "spec.toml").write_text("[model]\n")
    (done / "state.json").write_text(json.dumps({"epochs_done": 3, "best_epoch": 2}))
    (done / "metrics.json").write_text(
        json.dumps(
            {
                "val": {"accuracy": 0.91234},
                "test": {"accuracy": 0.9},
                "wall_time_s": 12.6,
                "train_examples_per_s": 1234.5,
            }
        )
    )
    (done / "resolved.json").write_text(
        json.dumps(
            {"spec": {"model": {"name": "lenet"}}, "overrides": ["train.seed=1"]}
        )
    )
    (cut / "state.json").write_text(json.dumps({"epochs_done": 1, "interrupted": True}))


def run(argv: list[str]) -> dict:
    from typer.testing import CliRunner

    from modelspec.cli import app

    r = CliRunner().invoke(app, argv)
    return {
        "argv": argv,
        "exit_code": r.exit_code,
        "stdout": r.stdout,
        "stderr": r.stderr,
    }


def tested(name: str) -> bool:
    """Cases the golden digests cover: not --help (typer's layout, changed by
    any new option) and not predict (needs onnxruntime, a [cpu] extra)."""
    return not name.startswith("help__") and "predict" not in name


def digests() -> dict[str, str]:
    """{case: sha256 of its JSON record}, for the tested cases."""
    make_runs()
    out = {}
    for name, argv in cases().items():
        if tested(name):
            text = json.dumps(run(argv), indent=1, ensure_ascii=False)
            out[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return out


def dump(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    make_runs()
    for name, argv in cases().items():
        text = json.dumps(run(argv), indent=1, ensure_ascii=False)
        (folder / f"{name}.json").write_text(text + "\n", encoding="utf-8")


def compare(old: Path, new: Path) -> int:
    names = sorted(
        {p.name for p in old.glob("*.json")} | {p.name for p in new.glob("*.json")}
    )
    bad = 0
    for n in names:
        a, b = old / n, new / n
        if not a.exists() or not b.exists():
            print(f"only in {'new' if b.exists() else 'old'}: {n}")
            bad += 1
        elif a.read_text() != b.read_text():
            print(f"differs: {n}")
            bad += 1
    print(f"{len(names)} cases, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["dump"]:
        dump(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["compare"]:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
