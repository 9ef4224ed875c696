"""`modelspec lsp` end to end: the real server as a subprocess, spoken to by a
real LSP client (pytest-lsp on pygls). Every expected number comes from
`modelspec check --format json` on the same text, never from this file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from lsp_client import (
    CONFIG,
    ROOT,
    SpecClient,
    apply,
    check_json,
    expected,
    initialize,
    make_client,
    where,
)
from modelspec.check import check_text

SEEDS = sorted((ROOT / "specs").glob("*.toml"))
BROKEN = sorted((ROOT / "specs" / "broken").glob("*.toml"))
LENET = ROOT / "specs" / "mnist_lenet.toml"
EXPECT = re.compile(r"# expect: (MS\d+) line=(\d+)")


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: SpecClient):
    await lsp_client.initialize_session(initialize())
    yield
    await lsp_client.shutdown_session()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.asyncio
@pytest.mark.parametrize("specs", [SEEDS, BROKEN], ids=["seeds", "broken"])
async def test_open_publishes_what_check_says(client: SpecClient, specs):
    """Every seed and broken spec: the same diagnostics (line, column, code)
    as `check`, and each broken spec's `# expect:` code at its line."""
    reports = check_json([Path(_rel(p)) for p in specs])
    uris = [client.open(p) for p in specs]
    for path, uri, report in zip(specs, uris, reports, strict=True):
        got = await client.diagnostics_for(uri, 1)
        assert where(got) == expected(report), path.name
        # a diagnostic inside a block points at the use entries that made it
        assert sorted(
            [r.location.range.start.line + 1 for r in d.related_information or []]
            for d in got
        ) == sorted(
            [o["line"] for o in r.get("origin") or [] if o.get("line")]
            for r in report["diagnostics"]
        )
        m = EXPECT.search(path.read_text())
        if m:
            assert (int(m.group(2)), m.group(1)) in {(x[0], x[2]) for x in where(got)}
        for d in got:
            assert d.source == "modelspec" and d.message
            error = d.severity == types.DiagnosticSeverity.Error
            assert error == any(
                r["code"] == d.code and r["severity"] == "error"
                for r in report["diagnostics"]
            )


def _delete_table(text: str, name: str) -> types.TextEdit:
    """The edit deleting the `[[layers]]` table named `name`."""
    lines = text.split("\n")
    at = lines.index(f'name = "{name}"')
    start = max(i for i in range(at) if lines[i].startswith("[[layers]]"))
    end = min(i for i in range(at, len(lines)) if lines[i].startswith("[[layers]]"))
    return types.TextEdit(
        types.Range(types.Position(start, 0), types.Position(end, 0)), ""
    )


def _check_text(text: str) -> dict:
    """`check --format json` of an edited buffer, in this process: the same
    function the command runs, without a subprocess per edit."""
    return check_text(text, "edited.toml").to_json()


async def _fix_all(client: SpecClient, uri: str, version: int) -> int:
    """Apply quick fixes one at a time until none is offered; each must remove
    the diagnostic it names from the next publication."""
    while True:
        diags = await client.diagnostics_for(uri, version)
        whole = types.Range(types.Position(0, 0), types.Position(10**6, 0))
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                types.TextDocumentIdentifier(uri),
                whole,
                types.CodeActionContext(diagnostics=diags),
            )
        )
        if not actions:
            return version
        action = actions[0]
        assert action.kind == types.CodeActionKind.QuickFix and action.edit
        (edit,) = action.edit.changes[uri]
        fixed = action.diagnostics[0]
        version = client.edit(uri, edit)
        after = await client.diagnostics_for(uri, version)
        assert (fixed.range.start.line, fixed.code) not in {
            (d.range.start.line, d.code) for d in after
        }, action.title


@pytest.mark.asyncio
async def test_deleting_a_pool_shows_the_stale_flatten_and_fixes_clear_it(
    client: SpecClient,
):
    for name in ["mnist_lenet", "mnist_tf_layers", "cifar10_tutorial"]:
        uri = client.open(ROOT / "specs" / f"{name}.toml")
        assert await client.diagnostics_for(uri, 1) == []
        version = client.edit(uri, _delete_table(client.texts[uri], "pool2"))
        got = await client.diagnostics_for(uri, version)
        text = client.texts[uri]
        assert where(got) == expected(_check_text(text), text)
        assert "MS209" in {d.code for d in got}, name  # the flatten's expect_shape
        version = await _fix_all(client, uri, version)
        assert await client.diagnostics_for(uri, version) == []
        assert _check_text(client.texts[uri])["ok"]


FIXABLE = [
    "unknown_key_typo",
    "unknown_key_train",
    "unknown_input",
    "unknown_layer_type",
    "block_unknown",
    "mnist_flatten_stale",
    "mnist_flatten_expect",
    "cifar_params_mismatch",
    "unknown_table",
]


@pytest.mark.asyncio
async def test_quick_fixes_make_the_broken_specs_pass(client: SpecClient):
    """One server for all of them: each starts in a subprocess of its own."""
    for name in FIXABLE:
        path = ROOT / "specs" / "broken" / f"{name}.toml"
        uri = client.open(path)
        assert await client.diagnostics_for(uri, 1)
        version = await _fix_all(client, uri, 1)
        assert version > 1
        assert await client.diagnostics_for(uri, version) == [], name
        assert _check_text(client.texts[uri])["ok"], name


async def _hover(client: SpecClient, uri: str, line0: int) -> str:
    found = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line0, 2))
    )
    assert found is not None
    assert isinstance(found.contents, types.MarkupContent)
    return found.contents.value


def _fmt(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


@pytest.mark.asyncio
async def test_hover_shows_shapes_params_and_weights(client: SpecClient):
    (report,) = check_json([Path(_rel(LENET))])
    uri = client.open(LENET)
    lines = LENET.read_text().split("\n")
    headers = [i for i, t in enumerate(lines) if t.startswith("[[layers]]")]
    previous = "(28, 28, 1)"
    for line0, layer in zip(headers, report["layers"], strict=True):
        text = await _hover(client, uri, line0 + 1)
        assert f"**{layer['name']}** ({layer['type']})" in text
        assert f"- input {previous}" in text
        assert f"- output {_fmt(layer['output_shape'])}" in text
        assert f"- params {layer['params']:,}" in text
        previous = _fmt(layer["output_shape"])
        weights = re.findall(r"(\w+) \[([\d, ]+)\]", text.split("- weights")[-1])
        if layer["params"]:
            sizes = [[int(x) for x in dims.split(",")] for _, dims in weights]
            total = sum(_prod(s) for s in sizes)
            assert total == layer["params"]
            assert sizes[0][-1] == _raw_value(lines, line0, ("filters", "units"))
        else:
            assert "- weights" not in text


def _prod(dims: list[int]) -> int:
    out = 1
    for d in dims:
        out *= d
    return out


def _raw_value(lines: list[str], header: int, keys: tuple[str, ...]) -> int:
    for text in lines[header + 1 :]:
        if text.startswith("[["):
            break
        m = re.match(r"(\w+) = (\d+)", text)
        if m and m.group(1) in keys:
            return int(m.group(2))
    raise AssertionError(f"none of {keys} after line {header + 1}")


@pytest.mark.asyncio
async def test_inlay_hints_and_model_totals(client: SpecClient):
    for name in ["mnist_lenet", "cifar10_resnet", "cifar10_blocks"]:
        await _hints_and_totals(client, ROOT / "specs" / f"{name}.toml")


async def _hints_and_totals(client: SpecClient, path: Path) -> None:
    (report,) = check_json([Path(_rel(path))])
    uri = client.open(path)
    whole = types.Range(types.Position(0, 0), types.Position(10**6, 0))
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(types.TextDocumentIdentifier(uri), whole)
    )
    top = [li for li in report["layers"] if not li.get("block")]
    labels = [h.label for h in hints]
    # One hint per top-level table; a `use` entry's hint sums its instances.
    for layer in top:
        want = f"-> {_fmt(layer['output_shape'])}  {layer['params']:,} params"
        assert want in labels, layer["name"]
    assert labels[-1] == (
        f"-> {_fmt(report['output_shape'])}  {report['layers'][-1]['params']:,} params"
    )
    params = [
        int(re.search(r"([\d,]+) params", x).group(1).replace(",", "")) for x in labels
    ]
    assert sum(params) == report["total_params"]
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri))
    )
    (lens,) = lenses
    assert lens.command and f"{report['total_params']:,} params" in lens.command.title
    assert path.read_text().split("\n")[lens.range.start.line].startswith("[model]")


async def _complete(client: SpecClient, uri: str, line0: int, col: int) -> list[str]:
    found = await client.text_document_completion_async(
        types.CompletionParams(
            types.TextDocumentIdentifier(uri), types.Position(line0, col)
        )
    )
    items = found.items if isinstance(found, types.CompletionList) else found or []
    return [i.label for i in items]


@pytest.mark.asyncio
async def test_completion(client: SpecClient):
    from modelspec.schema import LAYER_MODELS, LAYER_TYPES, TrainTable

    text = LENET.read_text().replace('name = "fc1"\n', 'name = "fc1"\ninputs = [""]\n')
    uri = client.open(LENET, text)
    lines = text.split("\n")
    at = lines.index('type = "max_pool2d"')
    assert set(await _complete(client, uri, at, 8)) == LAYER_TYPES
    act = next(i for i, t in enumerate(lines) if t.startswith("activation ="))
    values = await _complete(client, uri, act, len('activation = "'))
    assert {"relu", "softmax", "tanh"} <= set(values) and "same" not in values
    pad = next(i for i, t in enumerate(lines) if t.startswith("padding ="))
    assert set(await _complete(client, uri, pad, len('padding = "'))) == {
        "valid",
        "same",
    }
    inputs = lines.index('inputs = [""]')
    names = await _complete(client, uri, inputs, len('inputs = ["'))
    assert names == ["input", "conv1", "pool1", "conv2", "pool2", "flatten"]
    # keys: on an empty line of the first conv2d, the conv2d keys not written
    conv = lines.index('name = "conv1"')
    edit = types.TextEdit(
        types.Range(types.Position(conv + 1, 0), types.Position(conv + 1, 0)), "\n"
    )
    client.edit(uri, edit)
    keys = set(await _complete(client, uri, conv + 1, 0))
    model = LAYER_MODELS["conv2d"]
    allowed = {f.alias or n for n, f in model.model_fields.items()}
    written = {"type", "name", "filters", "kernel", "padding", "activation"}
    written |= {"kernel_init", "bias_init"}
    assert keys == allowed - written
    # keys of a table: [train]'s fields not written there yet
    train = client.texts[uri].split("\n").index("[train]")
    here = types.Position(train + 1, 0)
    client.edit(uri, types.TextEdit(types.Range(here, here), "\n"))
    keys = set(await _complete(client, uri, train + 1, 0))
    fields = {f.alias or n for n, f in TrainTable.model_fields.items()}
    assert keys == fields - {"epochs", "batch_size", "optimizer", "metrics"}


@pytest.mark.asyncio
async def test_completion_and_definition_with_blocks(client: SpecClient):
    path = ROOT / "specs" / "cifar10_blocks.toml"
    uri = client.open(path)
    lines = path.read_text().split("\n")
    use = next(i for i, t in enumerate(lines) if 'use = "stage", name = "conv3"' in t)
    col = lines[use].index('"stage"') + 2
    assert set(await _complete(client, uri, use, col)) == {"basic", "stage"}
    target = await client.text_document_definition_async(
        types.DefinitionParams(
            types.TextDocumentIdentifier(uri), types.Position(use, col)
        )
    )
    assert isinstance(target, types.Location)
    assert lines[target.range.start.line].strip() == "[blocks.stage]"
    add = next(i for i, t in enumerate(lines) if 'name = "add"' in t)
    col = lines[add].index('"2_bn"') + 2
    names = await _complete(client, uri, add, col)
    assert names[0] == "in" and names[-1] == "2_bn" and "out" not in names
    target = await client.text_document_definition_async(
        types.DefinitionParams(
            types.TextDocumentIdentifier(uri), types.Position(add, col)
        )
    )
    assert isinstance(target, types.Location)
    assert 'name = "2_bn"' in lines[target.range.start.line]


@pytest.mark.asyncio
async def test_definition_from_inputs(client: SpecClient):
    path = ROOT / "specs" / "cifar10_resnet.toml"
    (report,) = check_json([Path(_rel(path))])
    uri = client.open(path)
    lines = path.read_text().split("\n")
    found = 0
    for n, text in enumerate(lines):
        m = re.match(r'inputs = \["([^"]+)"', text)
        if not m or m.group(1) == "input":
            continue
        target = await client.text_document_definition_async(
            types.DefinitionParams(
                types.TextDocumentIdentifier(uri), types.Position(n, 12)
            )
        )
        assert isinstance(target, types.Location), text
        assert target.range.start.line < n
        assert lines[target.range.start.line] == f'name = "{m.group(1)}"'
        # hover on the name: the layer it reads, its output as check says
        found_hover = await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(n, 12))
        )
        assert isinstance(found_hover, types.Hover)
        layer = next(li for li in report["layers"] if li["name"] == m.group(1))
        text = found_hover.contents.value  # type: ignore[union-attr]
        assert text.startswith(f"reads:\n**{layer['name']}** ({layer['type']})")
        assert f"- output {_fmt(layer['output_shape'])}" in text
        found += 1
    assert found


@pytest.mark.asyncio
async def test_settings_strict_and_set(client: SpecClient):
    path = ROOT / "specs" / "broken" / "softmax_hidden.toml"
    (plain,) = check_json([Path(_rel(path))])
    assert any(d["severity"] == "warning" for d in plain["diagnostics"])
    uri = client.open(path)
    got = await client.diagnostics_for(uri, 1)
    assert types.DiagnosticSeverity.Warning in {d.severity for d in got}
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"modelspec": {"strict": True, "set": ["model.classes=7"]}}
        )
    )
    (report,) = check_json([Path(_rel(path))], "--set", "model.classes=7")
    latest = await client.latest_when(uri, lambda d: where(d) == expected(report))
    assert {d.severity for d in latest} == {types.DiagnosticSeverity.Error}


def _pulling() -> types.InitializeParams:
    params = initialize()
    params.capabilities = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(configuration=True)
    )
    return params


@pytest_lsp.fixture(config=CONFIG)
async def pulling(lsp_client: SpecClient):
    """A client that answers workspace/configuration (as Neovim and VS Code)."""
    lsp_client.set_configuration({"strict": True}, section="modelspec")
    await lsp_client.initialize_session(_pulling())
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_settings_pulled_from_the_client(pulling: SpecClient):
    client = pulling
    path = ROOT / "specs" / "broken" / "softmax_hidden.toml"
    (plain,) = check_json([Path(_rel(path))])
    uri = client.open(path)
    error = types.DiagnosticSeverity.Error
    got = await client.latest_when(
        uri, lambda d: d and {x.severity for x in d} == {error}
    )
    assert where(got) == expected(plain)
    # "settings changed" without the settings: the server asks again
    client.set_configuration({"set": ["model.classes=7"]}, section="modelspec")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    (report,) = check_json([Path(_rel(path))], "--set", "model.classes=7")
    got = await client.latest_when(uri, lambda d: where(d) == expected(report))
    assert types.DiagnosticSeverity.Warning in {d.severity for d in got}


@pytest.mark.asyncio
async def test_rapid_changes_publish_the_newest_text(client: SpecClient):
    path = ROOT / "specs" / "broken" / "unknown_key_typo.toml"
    uri = client.open(path)
    await client.diagnostics_for(uri, 1)
    lines = client.texts[uri].split("\n")
    at = next(i for i, t in enumerate(lines) if t.startswith("filtres"))
    version = 1
    for k in range(1, 6):  # filtres -> filters one letter at a time, and back
        word = "filtres" if k % 2 else "filters"
        old = lines[at].split()[0]
        edit = types.TextEdit(
            types.Range(types.Position(at, 0), types.Position(at, len(old))), word
        )
        version = client.edit(uri, edit)
        lines = client.texts[uri].split("\n")
    got = await client.diagnostics_for(uri, version)
    text = client.texts[uri]
    assert where(got) == expected(_check_text(text), text)
    versions = [p.version for p in client.published[uri]]
    assert versions == sorted(versions)  # a stale run never follows a newer one


def test_the_client_edit_arithmetic():
    """The test client's own edit arithmetic (used by every test above)."""
    edit = types.TextEdit(types.Range(types.Position(1, 2), types.Position(2, 1)), "X")
    assert apply("abc\ndefg\nhij", edit) == "abc\ndeXij"


# The CLI with some top-level packages made unimportable (as on an install
# without them); argv[1] names them, comma-separated.
BLOCKED = """
import sys
BLOCKED = set(sys.argv[1].split(","))

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
sys.argv = ["modelspec", *sys.argv[2:]]
from modelspec.cli import main
main()
"""
FRAMEWORKS = "tensorflow,keras,tf2onnx,onnx,onnxruntime,matplotlib,PIL,numpy,sklearn"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-c", BLOCKED, FRAMEWORKS, "lsp"],
        client_factory=make_client,
    )
)
async def strict_frameworkless(lsp_client: SpecClient):
    """A server that cannot import any framework, started strict through
    initializationOptions."""
    await lsp_client.initialize_session(initialize({"strict": True}))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_strict_from_initialization_options_without_frameworks(
    strict_frameworkless: SpecClient,
):
    client = strict_frameworkless
    path = ROOT / "specs" / "broken" / "softmax_hidden.toml"
    (report,) = check_json([Path(_rel(path))])
    assert {d["severity"] for d in report["diagnostics"]} == {"warning"}
    uri = client.open(path)
    got = await client.diagnostics_for(uri, 1)
    assert where(got) == expected(report)
    assert {d.severity for d in got} == {types.DiagnosticSeverity.Error}
    hover = await _hover(client, client.open(LENET), _line_of(LENET, "[model]"))
    (lenet,) = check_json([Path(_rel(LENET))])
    assert f"{lenet['total_params']:,} params" in hover


def _line_of(path: Path, text: str) -> int:
    return path.read_text().split("\n").index(text)


def test_missing_pygls_names_the_lsp_extra():
    p = subprocess.run(
        [sys.executable, "-c", BLOCKED, "pygls,lsprotocol", "lsp"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert "pip install 'modelspec-cnn[lsp]'" in p.stderr, p.stderr
    assert "[gpu]" not in p.stderr


# A server whose checker has a bug (injected): it must say so and keep serving.
BUGGY = """
import sys
import modelspec.lsp.analysis as analysis

def _check(*args, **kwargs):
    raise RuntimeError("injected")

analysis._check = _check
sys.argv = ["modelspec", "lsp"]
from modelspec.cli import main
main()
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-c", BUGGY], client_factory=make_client
    )
)
async def buggy(lsp_client: SpecClient):
    await lsp_client.initialize_session(initialize())
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_bug_in_the_checker_is_a_diagnostic_not_a_dead_server(
    buggy: SpecClient,
):
    uri = buggy.open(LENET)
    (d,) = await buggy.diagnostics_for(uri, 1)
    assert "internal error: RuntimeError: injected" in d.message
    assert d.severity == types.DiagnosticSeverity.Error
    here = types.Position(0, 0)
    version = buggy.edit(uri, types.TextEdit(types.Range(here, here), "# edited\n"))
    (d,) = await buggy.diagnostics_for(uri, version)
    assert "bug in modelspec" in d.message


@pytest.mark.asyncio
async def test_a_toml_file_that_is_not_a_spec_gets_no_diagnostics(
    client: SpecClient, tmp_path
):
    """Generic clients start the server for every TOML file: pyproject.toml
    gets nothing, and the same file turns into a spec once it has [model]."""
    path = tmp_path / "pyproject.toml"
    path.write_text((ROOT / "pyproject.toml").read_text())
    uri = client.open(path)
    assert await client.diagnostics_for(uri, 1) == []
    lines = client.texts[uri].split("\n")
    end = types.Position(len(lines) - 1, len(lines[-1]))
    version = client.edit(uri, types.TextEdit(types.Range(end, end), "\n[model]\n"))
    got = await client.diagnostics_for(uri, version)
    assert got and all(d.source == "modelspec" for d in got)
