"""Lint pass: model-level assertions and what a careful reviewer would flag.

`model_rules` reads the model alone, `train_rules` reads `[train]`, `[data]`
and `[transfer]` against it; both are lists of small functions over
`LintContext` that only read. They run in that order.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from . import augment_rules, model_rules, train_rules
from .context import LintContext


def lint(c: LintContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for rule in model_rules.RULES + train_rules.RULES + augment_rules.RULES:
        out.extend(rule(c))
    return out


__all__ = ["LintContext", "lint"]
