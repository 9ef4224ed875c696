"""Run the checker on an editor buffer and keep the latest result per document.

The text checked is the buffer, never the file on disk: the user sees the
diagnostics of what they typed. The document's path only names the file in the
report (as `check` names it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from ..check import check_parsed, check_text
from ..errors import ModelspecError
from ..report import INPUT_INDEX, LayerInfo, Node, Report
from ..source import Positions, TomlSyntaxError, parse
from .incremental import IncrementalParser
from .positions import Entry, entries


@dataclass(frozen=True)
class Settings:
    """The editor's equivalents of `check --strict` and `check --set`."""

    strict: bool = False
    overrides: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: object) -> Settings:
        """Read `{"strict": bool, "set": [..]}`, also nested under "modelspec"
        (VS Code and Neovim send settings by section); unknown keys are ignored
        so that a client's other settings do not break the server."""
        if not isinstance(value, dict):
            return cls()
        nested = value.get("modelspec")
        if isinstance(nested, dict):
            value = nested
        assert isinstance(value, dict)
        strict = bool(value.get("strict", False))
        items = value.get("set", ())
        if isinstance(items, str):
            items = [items]
        overrides = tuple(str(x) for x in items) if isinstance(items, list) else ()
        return cls(strict, overrides)


@dataclass
class Analysis:
    """One check of one version of a document."""

    uri: str
    version: int | None
    text: str
    report: Report
    # A --set that could not be applied (the message), shown as a diagnostic.
    setting_error: str | None = None
    lines: list[str] = field(default_factory=list)
    _positions: Positions | None = field(default=None, repr=False)
    _entries: list[Entry] | None = field(default=None, repr=False)
    _infos: dict[int, LayerInfo] | None = field(default=None, repr=False)
    _by_line: dict[object, list[Node]] | None = field(default=None, repr=False)

    @property
    def positions(self) -> Positions | None:
        """Where every key is written (before block expansion), or None when the
        text is not TOML. Computed on first use: publishing diagnostics, the
        path that must be fast, never needs it."""
        if self._positions is None and self.report.raw:
            try:
                self._positions = parse(self.text)[1]
            except TomlSyntaxError:
                return None
        return self._positions

    @property
    def entries(self) -> list[Entry]:
        """The layer tables as written (top level and in blocks), by line."""
        if self._entries is None:
            pos = self.positions
            self._entries = entries(pos) if pos is not None else []
        return self._entries

    def nodes_of(self, entry: Entry) -> list[Node]:
        """The checked layers an entry made: itself, every instance of a layer
        of a block, or every layer of the instances a `use` entry made."""
        if self._by_line is None:
            self._by_line = {}
            for n in self.report.nodes:
                lines: set[object] = {
                    o.line for o in self.report.origins.get(n.index, ())
                }
                # a layer of a block is written in the block, not at the top
                lines.add((n.line, n.block is None))
                for key in lines:
                    self._by_line.setdefault(key, []).append(n)
        return self._by_line.get(entry.line, []) + self._by_line.get(
            (entry.line, entry.block is None), []
        )

    def info(self, index: int) -> LayerInfo | None:
        if self._infos is None:
            self._infos = {li.index: li for li in self.report.layers}
        return self._infos.get(index)

    def model_input(self) -> tuple[int, ...] | None:
        model = self.report.raw.get("model")
        value = model.get("input") if isinstance(model, dict) else None
        if isinstance(value, list) and all(type(v) is int for v in value):
            return tuple(value)
        return None

    def input_shapes(self, node: Node) -> list[tuple[int, ...] | None]:
        out: list[tuple[int, ...] | None] = []
        for src in node.sources:
            if src == INPUT_INDEX:
                out.append(self.model_input())
            else:
                info = self.info(src) if src is not None else None
                out.append(info.output_shape if info else None)
        return out


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


def analyze(
    uri: str,
    version: int | None,
    text: str,
    settings: Settings,
    parser: IncrementalParser | None = None,
) -> Analysis:
    """Check `text`; with a parser, reuse the parse of unchanged tables."""
    path = uri_to_path(uri)
    parsed = parser.parse(text) if parser is not None else None
    positions = Positions(dict(parsed[1].at)) if parsed is not None else None
    setting_error = None
    try:
        report = _check(text, path, settings.overrides, parsed)
    except ModelspecError as e:
        # A malformed --set setting: check the buffer without overrides and say
        # what is wrong with the setting.
        setting_error = e.message
        report = _check(text, path, (), parser.parse(text) if parser else None)
    found = Analysis(uri, version, text, report, setting_error, text.splitlines())
    found._positions = positions
    return found


def _check(text: str, path: str, overrides, parsed) -> Report:
    if parsed is None:
        return check_text(text, path, overrides)
    raw, positions = parsed
    return check_parsed(text, raw, positions, path, overrides)


class Cache:
    """The latest analysis of each open document, by URI, and the parse of
    its tables for the next edit."""

    def __init__(self) -> None:
        self._by_uri: dict[str, Analysis] = {}
        self._parsers: dict[str, IncrementalParser] = {}

    def put(self, analysis: Analysis) -> None:
        self._by_uri[analysis.uri] = analysis

    def get(self, uri: str) -> Analysis | None:
        return self._by_uri.get(uri)

    def parser(self, uri: str) -> IncrementalParser:
        return self._parsers.setdefault(uri, IncrementalParser())

    def drop(self, uri: str) -> None:
        self._by_uri.pop(uri, None)
        self._parsers.pop(uri, None)
