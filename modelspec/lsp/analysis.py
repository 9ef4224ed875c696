"""Run the checker on an editor buffer and keep the latest result per document.

The text checked is the buffer, never the file on disk: the user sees the
diagnostics of what they typed. The document's path only names the file in the
report (as `check` names it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from ..check import check_text
from ..errors import ModelspecError
from ..report import Report
from ..source import Positions, TomlSyntaxError, parse


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


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


def analyze(uri: str, version: int | None, text: str, settings: Settings) -> Analysis:
    path = uri_to_path(uri)
    setting_error = None
    try:
        report = check_text(text, path, settings.overrides)
    except ModelspecError as e:
        # A malformed --set setting: check the buffer without overrides and say
        # what is wrong with the setting.
        setting_error = e.message
        report = check_text(text, path)
    return Analysis(uri, version, text, report, setting_error, text.splitlines())


class Cache:
    """The latest analysis of each open document, by URI."""

    def __init__(self) -> None:
        self._by_uri: dict[str, Analysis] = {}

    def put(self, analysis: Analysis) -> None:
        self._by_uri[analysis.uri] = analysis

    def get(self, uri: str) -> Analysis | None:
        return self._by_uri.get(uri)

    def drop(self, uri: str) -> None:
        self._by_uri.pop(uri, None)
