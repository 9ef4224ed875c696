"""Without the framework stack, commands that need it say which extra to
install (exit 2) instead of failing with an ImportError traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs the CLI with the framework packages made unimportable, as on a core-only
# install (`pip install modelspec` without [cpu]).
BLOCK = """
import sys
BLOCKED = {"tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "matplotlib",
           "PIL", "numpy"}

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
sys.argv = ["modelspec", *sys.argv[1:]]
from modelspec.cli import main
main()
"""


def run_blocked(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-c", BLOCK, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("train", "specs/digits_lenet.toml", "--epochs", "1"),
        ("export", "specs/digits_lenet.toml", "--onnx", "-o", "{tmp}/x.onnx"),
        ("graph", "specs/digits_lenet.toml", "-o", "{tmp}/x.png"),
        ("import", "keras.applications:MobileNet", "-o", "{tmp}/m.toml"),
    ],
    ids=["train", "export", "graph-png", "import-application"],
)
def test_missing_framework_names_the_extra(args, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    p = run_blocked(*args)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert "pip install 'modelspec-cnn[cpu]'" in p.stderr, p.stderr
    assert "pip install -e '.[cpu]'" in p.stderr, p.stderr
    assert not any(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize(
    "args",
    [
        ("check", "-q", "specs/mnist_lenet.toml"),
        ("graph", "specs/mnist_lenet.toml", "-o", "{tmp}/g.svg"),
        ("diff", "specs/mnist_lenet.toml", "specs/mnist_mod.toml"),
    ],
    ids=["check", "graph-svg", "diff"],
)
def test_core_commands_work_without_the_framework(args, tmp_path):
    p = run_blocked(*[a.format(tmp=tmp_path) for a in args])
    assert p.returncode == 0, p.stderr


def test_hint_names_the_distribution_that_pyproject_builds():
    import sys as _sys

    from modelspec import DISTRIBUTION
    from modelspec.errors import MissingExtra

    if _sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    project = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    )["project"]
    assert project["name"] == DISTRIBUTION != "modelspec"
    assert f"'{DISTRIBUTION}[cpu]'" in MissingExtra("tensorflow").hint
