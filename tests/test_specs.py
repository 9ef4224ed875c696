"""The example specs: `specs/*.toml` check clean, `specs/broken/*.toml` give
exactly the diagnostics their `# expect:` comments name, and the rendered text of
each broken spec matches its golden file in tests/golden/broken/.

A golden file is a snapshot of the checker's own output, so it is also held to
facts written by hand: the diagnostics it shows (code, severity, line, layer)
must be exactly those of the spec's `# expect:` header, even while the files are
regenerated with MODELSPEC_UPDATE_GOLDEN=1. The review procedure for a changed
golden file is in tests/golden/README.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from modelspec.check import check_file, check_text
from modelspec.diagnostics import CODES
from modelspec.fsutil import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.toml"))
BROKEN = sorted((ROOT / "specs" / "broken").glob("*.toml"))
GOLDEN = Path(__file__).resolve().parent / "golden" / "broken"
UPDATE_GOLDEN = os.environ.get("MODELSPEC_UPDATE_GOLDEN") == "1"

# `# expect: MS206 line=14 layer=conv4`; line and layer are optional (a
# diagnostic with no line, or one about the spec rather than a layer).
EXPECT = re.compile(r"^# expect: (MS\d{3})(?: line=(\d+))?(?: layer=(\S+))?\s*$")

Key = tuple  # (code, line or None, layer or None)


def expectations(path: Path) -> set[Key]:
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            m = EXPECT.match(line)
            assert m, f"{path.name}: malformed expectation {line!r}"
            code, at, layer = m.groups()
            found.add((code, int(at) if at else None, layer))
    return found


def produced(report) -> set[Key]:
    # A set: a rule that reports one slip once per axis (height and width)
    # still matches one expectation; the golden text keeps the exact count.
    return {(d.code, d.line, d.layer) for d in report.diagnostics}


# One rendered diagnostic's first line; hints and block origins follow on lines
# indented by two.
RENDERED = re.compile(
    r"^specs/broken/(?P<file>[^:\s]+\.toml)(?::(?P<line>\d+):\d+)?: "
    r"(?P<severity>error|warning) (?P<code>MS\d{3})"
    r"(?: (?:layers\[\d+\]|layer) (?P<layer>\S+) \([^)]*\))?: \S"
)


def golden_facts(path: Path, text: str) -> set[Key]:
    """(code, line, layer) of every diagnostic a golden text shows; each line
    must be a diagnostic of this spec with its code's severity, a hint or a
    block origin."""
    found = set()
    for line in text.splitlines():
        if line.startswith(("  hint: ", "  in block ")):
            continue
        m = RENDERED.match(line)
        assert m, f"{path.name}: not a diagnostic or a hint: {line!r}"
        assert m["file"] == path.name, line
        assert m["severity"] == CODES[m["code"]][0], line
        found.add((m["code"], int(m["line"]) if m["line"] else None, m["layer"]))
    return found


def rendered(path: Path) -> str:
    """What `modelspec check` prints for the diagnostics, with a stable path."""
    report = check_text(
        path.read_text(encoding="utf-8"), file=f"specs/broken/{path.name}"
    )
    return "\n".join(d.render() for d in report.diagnostics) + "\n"


# -- the valid specs ------------------------------------------------------------


def test_the_seed_architectures_are_all_there():
    names = {p.stem for p in SPECS}
    for required in (
        "mnist_softmax",
        "mnist_mlp",
        "mnist_lenet",
        "mnist_mod",
        "cifar10_tutorial",
        "cifar10_mod",
        "cifar10_resnet",
        "cifar10_allconv",
        "cifar100_resnet",
        "mnist9_transfer",
        "mnist10_transfer",
        "digits_lenet",
        "fashion_mnist_cnn",
    ):
        assert required in names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_checks_clean(path: Path):
    report = check_file(path)
    assert [d.render() for d in report.diagnostics] == []
    assert report.spec is not None
    assert report.spec.model.name == path.stem
    # every layer got a shape and a parameter count
    assert [li.name for li in report.layers] == [n.name for n in report.nodes]
    for li in report.layers:
        assert li.output_shape and all(d > 0 for d in li.output_shape), li
        assert li.params == li.trainable_params + li.non_trainable_params >= 0
    if report.spec.model.classes is not None:
        assert report.output_shape == (report.spec.model.classes,)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_names_its_source_and_accuracy(path: Path):
    directive, first = path.read_text(encoding="utf-8").splitlines()[:2]
    # Editors (Taplo / Even Better TOML) validate and complete from the schema.
    assert directive == "#:schema ../modelspec.schema.json"
    assert (path.parent / directive.split()[-1]).is_file()
    assert first.startswith(("# seed 00", "# not from a seed")), first
    assert "accuracy" in first or "results" in first, first


def _layers(name: str) -> dict:
    report = check_file(ROOT / "specs" / f"{name}.toml")
    return {li.name: (li.output_shape, li.params) for li in report.layers}


def test_mnist_lenet_matches_the_seed_summary():
    # seed 003's model.summary(): 832, 51,264, 3,212,288, 10,250 = 3,274,634
    report = check_file(ROOT / "specs" / "mnist_lenet.toml")
    assert report.total_params == 3274634
    assert report.trainable_params == 3274634
    layers = _layers("mnist_lenet")
    assert layers["conv1"] == ((28, 28, 32), 832)
    assert layers["pool1"] == ((14, 14, 32), 0)
    assert layers["conv2"] == ((14, 14, 64), 51264)
    assert layers["pool2"] == ((7, 7, 64), 0)
    assert layers["flatten"] == ((3136,), 0)
    assert layers["fc1"] == ((1024,), 3212288)
    assert layers["logits"] == ((10,), 10250)


def test_seed_reported_parameter_counts():
    # the counts the seeds printed or stated
    assert check_file(ROOT / "specs" / "mnist_softmax.toml").total_params == 7850
    assert check_file(ROOT / "specs" / "mnist_mlp.toml").total_params == 407050
    assert check_file(ROOT / "specs" / "cifar10_resnet.toml").total_params == 223242
    assert check_file(ROOT / "specs" / "cifar10_tutorial.toml").total_params == 1068298


def test_seed_000_modifications_change_what_they_should():
    mod = _layers("mnist_mod")
    assert mod["conv4_flat"] == ((25088,), 0)  # no pooling: 28 * 28 * 32
    assert mod["dense"][1] == 25088 * 1024 + 1024
    tutorial, cifar_mod = _layers("cifar10_tutorial"), _layers("cifar10_mod")
    assert set(cifar_mod) - set(tutorial) == {"conv4"}
    assert cifar_mod["conv4"] == ((24, 24, 64), 5 * 5 * 64 * 64 + 64)
    assert cifar_mod["pool2"] == tutorial["pool2"] == ((6, 6, 64), 0)


def test_transfer_pair_shares_layer_names_and_widens_only_the_head():
    nine, ten = _layers("mnist9_transfer"), _layers("mnist10_transfer")
    assert list(nine) == list(ten)  # weights are copied by name
    differ = [name for name in nine if nine[name] != ten[name]]
    assert differ == ["fc2"]
    assert nine["fc2"] == ((9,), 500 * 9 + 9) and ten["fc2"] == ((10,), 500 * 10 + 10)
    spec = check_file(ROOT / "specs" / "mnist10_transfer.toml").spec
    assert spec.transfer.freeze == "all_but_last"
    assert spec.transfer.from_ == "runs/mnist9_transfer"


# -- the broken specs -------------------------------------------------------------


def test_every_diagnostic_code_has_a_broken_example():
    covered = {code for path in BROKEN for code, _, _ in expectations(path)}
    assert covered == set(CODES)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec_gives_exactly_its_expected_diagnostics(path: Path):
    expected = expectations(path)
    assert expected, f"{path.name} has no `# expect:` comment"
    report = check_file(path)
    got = produced(report)
    assert got == expected, "\n" + "\n".join(d.render() for d in report.diagnostics)
    # errors make the spec invalid; warnings alone do not
    assert report.ok == all(CODES[code][0] == "warning" for code, _, _ in expected)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec_marks_each_expected_line(path: Path):
    # the `# expect:` header and the `# <- CODE` notes beside the offending keys
    # must agree, so that neither drifts when the file is edited
    lines = path.read_text(encoding="utf-8").splitlines()
    for code, at, _ in expectations(path):
        if at is not None:
            assert f"# <- {code}" in lines[at - 1], (
                f"{path.name}:{at} has no '# <- {code}' note: {lines[at - 1]!r}"
            )


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec_golden_output(path: Path):
    golden = GOLDEN / f"{path.stem}.txt"
    text = rendered(path)
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(golden, text)
    assert golden.exists(), (
        f"no golden output for {path.name}: see tests/golden/README.md"
    )
    assert text == golden.read_text(encoding="utf-8")
    # Checked in update mode too: a regenerated file cannot drift from the
    # hand-written `# expect:` header.
    assert golden_facts(path, text) == expectations(path)


def test_no_stale_golden_files():
    stems = {p.stem for p in BROKEN}
    stale = [g.name for g in GOLDEN.glob("*.txt") if g.stem not in stems]
    assert stale == []
