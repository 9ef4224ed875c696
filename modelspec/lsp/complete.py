"""Completion."""

from __future__ import annotations

from lsprotocol import types

from .analysis import Analysis


def completions(analysis: Analysis, position: types.Position) -> types.CompletionList:
    return types.CompletionList(is_incomplete=False, items=[])
