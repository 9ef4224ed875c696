"""The pygls wiring: which LSP message calls which feature.

Diagnostics are published on open at once and after a change once the buffer
has been quiet for `debounce` seconds (each change cancels the pending run of
its document). A request (hover, completion ...) about a document whose newest
text has not been checked yet checks it first, so answers always describe the
buffer as it is.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from . import actions, complete, navigate, views
from .analysis import Analysis, Cache, Settings, analyze
from .diagnostics import publishable

SECTION = "modelspec"  # the settings section: {"strict": bool, "set": [...]}
DEBOUNCE_ENV = "MODELSPEC_LSP_DEBOUNCE_MS"
DEBOUNCE_MS = 120


def _debounce_seconds() -> float:
    value = os.environ.get(DEBOUNCE_ENV, "").strip()
    try:
        return max(0.0, float(value)) / 1000 if value else DEBOUNCE_MS / 1000
    except ValueError:
        return DEBOUNCE_MS / 1000


@contextmanager
def _no_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while a check runs: on a 1,000-layer
    spec a full collection in the middle of one doubled its time (profiled:
    the worst of eight edits 215 ms with it, 105 ms without). It collects
    between keystrokes instead."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class SpecServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("modelspec", __version__)
        self.settings = Settings()
        self.cache = Cache()
        self.pending: dict[str, asyncio.Task] = {}
        self.debounce = _debounce_seconds()

    def current(self, uri: str) -> Analysis:
        """The analysis of the document's newest text (checked now if needed)."""
        doc = self.workspace.get_text_document(uri)
        found = self.cache.get(uri)
        if found is None or found.version != doc.version or found.text != doc.source:
            with _no_gc():
                found = analyze(
                    uri, doc.version, doc.source, self.settings, self.cache.parser(uri)
                )
            self.cache.put(found)
        return found

    def publish(self, uri: str) -> None:
        with _no_gc():
            try:
                analysis = self.current(uri)
                version = analysis.version
                diagnostics = publishable(analysis, self.settings.strict)
            except Exception as e:  # a bug in modelspec: say so, keep serving
                version = self.workspace.get_text_document(uri).version
                diagnostics = [_internal_error(e)]
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri, version=version, diagnostics=diagnostics
                )
            )

    def schedule(self, uri: str) -> None:
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()  # a newer change supersedes it
        self.pending[uri] = asyncio.ensure_future(self._publish_later(uri))

    async def _publish_later(self, uri: str) -> None:
        await asyncio.sleep(self.debounce)
        self.pending.pop(uri, None)
        self.publish(uri)

    async def pull_settings(self) -> None:
        """Ask a client that answers `workspace/configuration` for the
        "modelspec" section (Neovim's `settings`, VS Code's settings.json);
        a client without that capability pushes settings or has none."""
        workspace = self.client_capabilities.workspace
        if workspace is None or not workspace.configuration:
            return
        try:
            found = await self.workspace_configuration_async(
                types.ConfigurationParams(
                    items=[types.ConfigurationItem(section=SECTION)]
                )
            )
        except Exception:  # a client that fails the request: keep the settings
            return
        if found and isinstance(found[0], dict) and found[0]:
            self.reconfigure(found[0])

    def reconfigure(self, value: object) -> None:
        self.settings = Settings.from_json(value)
        for uri in list(self.workspace.text_documents):
            self.cache.drop(uri)
            self.publish(uri)


def _internal_error(e: Exception) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        message=f"internal error: {type(e).__name__}: {e}\nthis is a bug in "
        "modelspec; `modelspec check` on this file with MODELSPEC_DEBUG=1 "
        "shows the traceback",
        severity=types.DiagnosticSeverity.Error,
        source="modelspec",
    )


server = SpecServer()


@server.feature(types.INITIALIZE)
def _initialize(ls: SpecServer, params: types.InitializeParams) -> None:
    ls.settings = Settings.from_json(params.initialization_options)


@server.feature(types.INITIALIZED)
async def _initialized(ls: SpecServer, params: types.InitializedParams) -> None:
    await ls.pull_settings()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: SpecServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: SpecServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: SpecServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.cache.drop(uri)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
    )


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def _did_change_configuration(
    ls: SpecServer, params: types.DidChangeConfigurationParams
) -> None:
    if isinstance(params.settings, dict) and params.settings:
        ls.reconfigure(params.settings)
    else:  # "settings changed, ask me" (what most clients send)
        await ls.pull_settings()


@server.feature(types.TEXT_DOCUMENT_HOVER)
def _hover(ls: SpecServer, params: types.HoverParams) -> types.Hover | None:
    return views.hover(ls.current(params.text_document.uri), params.position)


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def _inlay_hints(
    ls: SpecServer, params: types.InlayHintParams
) -> list[types.InlayHint]:
    return views.inlay_hints(ls.current(params.text_document.uri), params.range)


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
def _code_lens(ls: SpecServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    return views.code_lenses(ls.current(params.text_document.uri))


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=['"', "=", ",", "{", "["]),
)
def _completion(ls: SpecServer, params: types.CompletionParams) -> types.CompletionList:
    return complete.completions(ls.current(params.text_document.uri), params.position)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def _definition(
    ls: SpecServer, params: types.DefinitionParams
) -> types.Location | None:
    return navigate.definition(ls.current(params.text_document.uri), params.position)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def _code_action(
    ls: SpecServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    analysis = ls.current(params.text_document.uri)
    return actions.code_actions(analysis, params.range, params.context)


def serve() -> None:
    server.start_io()
