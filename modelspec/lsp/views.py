"""Hover, inlay hints and code lenses: the checker's shapes and counts."""

from __future__ import annotations

from lsprotocol import types

from .analysis import Analysis


def hover(analysis: Analysis, position: types.Position) -> types.Hover | None:
    return None


def inlay_hints(analysis: Analysis, rng: types.Range) -> list[types.InlayHint]:
    return []


def code_lenses(analysis: Analysis) -> list[types.CodeLens]:
    return []
