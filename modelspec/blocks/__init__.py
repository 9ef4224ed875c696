"""Blocks: parameterised sub-graphs defined once in a spec and used many times.

`expand` turns `[vars]`, `[blocks.*]` and use entries into plain layer tables
before validation; `collapse` groups a report's layers back into block
instances for the summary table. Framework-free, like all of `modelspec/`.
"""

from .collapse import Row, summary_rows
from .expand import Expanded, expand, uses_blocks
from .expr import ExprError, evaluate
from .template import substitute

__all__ = [
    "Expanded",
    "ExprError",
    "Row",
    "evaluate",
    "expand",
    "substitute",
    "summary_rows",
    "uses_blocks",
]
