"""A real LSP client (pytest-lsp's, on pygls) for `modelspec lsp` tests and the
latency benchmark: it keeps every publishDiagnostics the server sends, with its
document version, and waits for the one of a given version. Nothing here
sleeps: a wait ends when the notification arrives (a generous timeout only
turns a server that never answers into a failure instead of a hang)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, "-m", "modelspec", "lsp"]
# A guard against a hung server, not a performance assertion.
TIMEOUT = 60.0


class SpecClient(LanguageClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.arrived = asyncio.Event()
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}

    async def diagnostics_for(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for `version` of `uri` (waits for them)."""

        async def wait() -> list[types.Diagnostic]:
            while True:
                for p in self.published.get(uri, []):
                    if p.version == version:
                        return list(p.diagnostics)
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def latest_when(self, uri: str, ok) -> list[types.Diagnostic]:
        """The newest diagnostics of `uri` once `ok(diagnostics)` holds for them
        (settings can change what is published for the same version)."""

        async def wait() -> list[types.Diagnostic]:
            while True:
                found = self.published.get(uri)
                if found and ok(list(found[-1].diagnostics)):
                    return list(found[-1].diagnostics)
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), TIMEOUT)

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        text = path.read_text() if text is None else text
        self.texts[uri], self.versions[uri] = text, 1
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(
                    uri=uri, language_id="toml", version=1, text=text
                )
            )
        )
        return uri

    def edit(self, uri: str, edit: types.TextEdit) -> int:
        """Send one incremental change; returns the new version."""
        self.texts[uri] = apply(self.texts[uri], edit)
        self.versions[uri] += 1
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=edit.range, text=edit.new_text
                    )
                ],
            )
        )
        return self.versions[uri]


def _published(client: SpecClient, params: types.PublishDiagnosticsParams) -> None:
    client.published.setdefault(params.uri, []).append(params)
    client.diagnostics[params.uri] = params.diagnostics
    client.arrived.set()


def make_client() -> SpecClient:
    client = SpecClient()
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _published
    register_lsp_features(client, features)
    return client


CONFIG = ClientServerConfig(server_command=SERVER, client_factory=make_client)


def offset(text: str, pos: types.Position) -> int:
    """A position's offset in `text` (the specs are ASCII: UTF-16 = chars)."""
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: pos.line]) + pos.character


def apply(text: str, edit: types.TextEdit) -> str:
    start, end = offset(text, edit.range.start), offset(text, edit.range.end)
    return text[:start] + edit.new_text + text[end:]


def initialize(options: object = None) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options=options
    )


def check_json(paths: list[Path], *options: str) -> list[dict]:
    """What `modelspec check --format json` says about each file (the oracle)."""
    p = subprocess.run(
        [sys.executable, "-m", "modelspec", "check", "--format", "json", *options]
        + [str(x) for x in paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode in (0, 1), p.stderr
    found = json.loads(p.stdout)
    return found if isinstance(found, list) else [found]


def where(diags: list[types.Diagnostic]) -> list[tuple[int, int, str]]:
    """(line, column, code), 1-based as `check` counts, sorted."""
    return sorted(
        (d.range.start.line + 1, d.range.start.character + 1, str(d.code))
        for d in diags
    )


def expected(report: dict, text: str | None = None) -> list[tuple[int, int, str]]:
    """The same triple from a `check` JSON report of `text` (by default the
    report's file); a diagnostic with no line (about the whole spec or a
    --set) is published on line 1, one with no column from the line's first
    non-blank character (the whole line is underlined)."""
    if text is None:
        text = (ROOT / report["file"]).read_text()
    lines = text.splitlines() or [""]
    out = []
    for d in report["diagnostics"]:
        line = d.get("line") or 1
        column = d.get("column")
        if column is None or d.get("line") is None:
            src = lines[line - 1] if line <= len(lines) else ""
            column = len(src) - len(src.lstrip()) + 1
        out.append((line, column, d["code"]))
    return sorted(out)
