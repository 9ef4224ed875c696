"""Quick fixes."""

from __future__ import annotations

from lsprotocol import types

from .analysis import Analysis


def code_actions(
    analysis: Analysis, rng: types.Range, context: types.CodeActionContext
) -> list[types.CodeAction]:
    return []
