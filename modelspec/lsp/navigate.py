"""Go to definition."""

from __future__ import annotations

from lsprotocol import types

from .analysis import Analysis


def definition(analysis: Analysis, position: types.Position) -> types.Location | None:
    return None
