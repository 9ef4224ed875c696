"""Pydantic models of `[blocks.NAME]` tables and of use entries.

A use entry's own keys are fixed (`use`, `name`, `prefix`, `inputs`, `repeat`,
`first`, `last`, `when`); every other key is an argument of the block, checked against
the block's `args` by the expansion pass (with did-you-mean), so `UseEntry`
describes only the fixed keys and still forbids nothing a block may take.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
# Names an expression may not rebind: the repeat index and the functions.
RESERVED = frozenset({"i"})
Template = str  # a string holding ${...}
Scalar = bool | int | float | str
Value = Scalar | list[Any]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BlockDef(_Base):
    """`[blocks.NAME]`: a parameterised sub-graph defined once."""

    description: str | None = Field(
        None, description="What the block is (for readers; not used by the checker)."
    )
    args: list[str] = Field(
        default_factory=list,
        description="Argument names; every use gives each one unless `defaults` does.",
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="Default values of some arguments."
    )
    inputs: list[str] = Field(
        default_factory=lambda: ["in"],
        min_length=1,
        description='Local names of the block\'s inputs; default ["in"]. The '
        "first layer reads the first of them unless it names others.",
    )
    let: dict[str, Any] = Field(
        default_factory=dict,
        description="Local values computed in order from the arguments, e.g. "
        'out = "${4 * filters}".',
    )
    layers: list[dict[str, Any]] = Field(
        min_length=1,
        description="The block's layers and nested block uses; values may be "
        "${...} expressions. Each reads the previous present layer unless "
        "`inputs` names local layers or block inputs.",
    )

    @field_validator("args", "inputs")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        import re

        for n in names:
            if not re.match(NAME, n):
                raise ValueError(
                    f"a name is letters, digits and '_', starting "
                    f"with a letter. Received: {n!r}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"names must be unique. Received: {names}")
        return names

    @field_validator("args")
    @classmethod
    def _not_reserved(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if n in RESERVED]
        if bad:
            raise ValueError(
                f"{bad[0]!r} is reserved (i is the repeat number). "
                f"Received: args = {names}"
            )
        return names

    @model_validator(mode="after")
    def _defaults_are_args(self) -> BlockDef:
        extra = [k for k in self.defaults if k not in self.args]
        if extra:
            raise ValueError(
                f"defaults names {extra[0]!r}, which is not in args "
                f"{self.args}. Received: defaults = {self.defaults}"
            )
        return self


class UseEntry(_Base):
    """A use of a block in `layers`; the block's arguments are further keys."""

    use: str = Field(description="The block to use (a key of [blocks]).")
    name: str | None = Field(
        None,
        description="Instance name, the prefix of its layers' names; required "
        "with repeat > 1 and must then contain ${i}.",
    )
    prefix: str | None = Field(
        None,
        description="Put before the names of the instance's layers instead of "
        "'<name>_' (may be \"\"; may hold ${...}): for names whose number comes "
        'last, e.g. prefix = "conv_" and a layer dw_${i} give conv_dw_1.',
    )
    inputs: list[str] | Template | None = Field(
        None,
        description="The layers the instance reads (one per block input); "
        "default the previous layer. With repeat, the first instance reads "
        "them and each later one reads the previous instance, unless they "
        "hold ${...}: then they are evaluated for every instance.",
    )
    repeat: int | Template = Field(
        1, description="How many instances, chained; i is 1, 2, ... in each."
    )
    first: dict[str, Any] = Field(
        default_factory=dict,
        description="Argument overrides for the first instance of a repeat.",
    )
    last: dict[str, Any] = Field(
        default_factory=dict,
        description="Argument overrides for the last instance of a repeat.",
    )
    when: bool | Template = Field(
        True, description="The instance exists only when this is true."
    )


USE_KEYS = frozenset(UseEntry.model_fields)
