"""One mistake, one diagnostic: duplicates never rewire, typos never cascade.

Issue 10, items 2 and 3: the cause is reported first and alone.
"""

from pathlib import Path

from modelspec.check import check_text
from tests.helpers import codes

ROOT = Path(__file__).resolve().parents[1]
LENET = (ROOT / "specs" / "mnist_lenet.toml").read_text()


def _with(old: str, new: str, text: str = LENET) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_duplicate_name_keeps_the_wiring_and_is_the_only_error():
    r = check_text(_with('name = "fc1"', 'name = "conv1"'))
    assert codes(r) == ["MS201"]
    (d,) = r.diagnostics
    assert (d.layer, d.layer_type, d.index) == ("conv1", "dense", 5)
    # The renamed dense layer is still in the table with its own shape, and the
    # dropout after it reads it, not the conv layer that had the name first.
    rows = [(li.name, li.type, li.output_shape) for li in r.layers]
    assert ("conv1", "dense", (1024,)) in rows
    assert ("conv1", "conv2d", (28, 28, 32)) in rows
    assert [row for row in rows if row[0] == "dropout"] == [
        ("dropout", "dropout", (1024,))
    ]
    assert r.layers[-1].output_shape == (10,)


def test_explicit_reference_to_a_duplicated_name_adds_no_knock_on():
    text = _with('name = "fc1"', 'name = "conv1"')
    text = _with('name = "dropout"', 'name = "dropout"\ninputs = ["conv1"]', text)
    assert codes(check_text(text)) == ["MS201"]


def test_typo_in_inputs_is_one_error_not_a_dead_cascade():
    text = _with('name = "flatten"', 'name = "flatten"\ninputs = ["pool3"]')
    r = check_text(text)
    assert codes(r) == ["MS202"]
    assert r.diagnostics[0].hint == "did you mean 'pool2'?"


def test_a_really_dead_layer_is_still_reported_beside_a_typo():
    text = _with('name = "flatten"', 'name = "flatten"\ninputs = ["pool3"]')
    # A stray layer after the typo, which nothing reads: that one is really dead.
    text = _with(
        '[[layers]]\ntype = "dense"',
        '[[layers]]\ntype = "dropout"\nname = "stray"\nrate = 0.1\n'
        'inputs = ["flatten"]\n\n[[layers]]\ntype = "dense"\n'
        'inputs = ["flatten"]',
        text,
    )
    r = check_text(text)
    assert sorted(codes(r)) == ["MS202", "MS205"]
    assert [d.layer for d in r.diagnostics if d.code == "MS205"] == ["stray"]


def test_the_cause_leads_even_when_it_is_further_down():
    # An expect_shape failure on line 30 and an unknown input at line 60: the
    # unknown reference is listed first.
    text = _with('name = "pool1"', 'name = "pool1"\nexpect_shape = [1, 2, 3]')
    text = _with('name = "fc1"', 'name = "fc1"\ninputs = ["flaten"]', text)
    r = check_text(text)
    assert codes(r) == ["MS202", "MS209"]
    assert r.diagnostics[0].line > r.diagnostics[1].line


ZOO_RESNET = (ROOT / "specs" / "zoo" / "ResNet50.toml").read_text()


def test_misspelt_block_argument_is_one_error_with_no_whole_model_knock_on():
    text = _with(
        'name = "conv2", filters = 64,', 'name = "conv2", filter = 64,', ZOO_RESNET
    )
    r = check_text(text)
    # Not also "missing argument 'filters'", and not the expect_params total of
    # a model whose conv2 stage could not be expanded.
    assert codes(r) == ["MS502"]
    assert r.diagnostics[0].hint == "did you mean 'filters'?"


def test_block_errors_lead_the_list():
    # An expect_shape slip on the first layer, a wrong block argument below it:
    # the block error is listed first.
    text = _with(
        'name = "conv1_pad",', 'name = "conv1_pad", expect_shape = [1],', ZOO_RESNET
    )
    text = _with(
        'name = "conv3", filters = 128,', 'name = "conv3", filters = 128, x = 1,', text
    )
    r = check_text(text)
    assert codes(r) == ["MS502", "MS209"]
    assert r.diagnostics[0].line > r.diagnostics[1].line
