"""Diagnostics: what the checker found, where, with numbers on both sides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

# The stable codes. README's table is generated from this one (tests compare).
CODES: dict[str, tuple[Severity, str]] = {
    "MS100": ("error", "TOML syntax error"),
    "MS101": ("error", "unknown key"),
    "MS102": ("error", "missing required key"),
    "MS103": ("error", "invalid value"),
    "MS104": ("error", "unknown layer type"),
    "MS201": ("error", "duplicate layer name"),
    "MS202": ("error", "unknown input reference"),
    "MS203": ("error", "forward reference or cycle in inputs"),
    "MS204": ("error", "reshape or flatten size mismatch"),
    "MS205": ("error", "dead layer: nothing reads its output"),
    "MS206": ("error", "kernel or pool window larger than its input"),
    "MS207": ("error", "a dimension shrinks to zero or below"),
    "MS208": ("error", "incompatible shapes for a merge (add, multiply, concat, ...)"),
    "MS209": ("error", "expect_shape assertion failed"),
    "MS210": ("error", "expect_params assertion failed"),
    "MS211": ("error", "in_channels assertion failed"),
    "MS212": ("error", "output shape does not match classes"),
    "MS213": ("error", "input rank not accepted by the layer"),
    "MS214": ("error", "invalid axis"),
    # -- conv family and resizing
    "MS220": ("error", "groups do not divide the input channels or filters"),
    "MS221": ("error", "invalid output_padding for conv2d_transpose"),
    "MS222": ("error", "cropping removes the whole input"),
    "MS223": ("error", "dropout noise_shape does not broadcast to the input"),
    # -- merges, rescaling and normalisation
    "MS230": ("error", "per-channel values do not match the input's axis"),
    "MS301": ("warning", "non-linear activation on the output logits"),
    "MS302": ("error", "loss and output activation disagree"),
    "MS303": ("warning", "learning rate far outside the optimizer's usual range"),
    "MS304": ("warning", "dropout rate drops (almost) everything"),
    "MS305": ("warning", "top-k metric with k >= classes is always 100%"),
    "MS306": ("warning", "dense applied to a feature map (rank > 1)"),
    "MS307": ("warning", "softmax on a hidden layer"),
    "MS308": ("warning", "two linear layers in a row collapse into one"),
    "MS309": ("warning", "output is not a vector"),
    "MS310": ("warning", "dropout right before the output"),
    "MS311": ("warning", "reshape's -1 is not the batch axis"),
    "MS312": ("warning", "the weights alone exceed this machine's memory"),
    # -- [data.augment]
    "MS320": ("error", "model input does not match the augment crop"),
    "MS321": ("error", "augment crop larger than the images"),
    "MS322": ("warning", "augment brightness shifts by half the pixel range or more"),
    "MS323": ("warning", "augment contrast reaches a factor near zero"),
    "MS324": ("error", "augment cutout as large as the image"),
    "MS325": ("error", "augment shift (pad_crop, translate) of a whole image side"),
    "MS326": ("error", "augmentation that moves pixels on a non-image input"),
    "MS401": ("error", "model input does not match the dataset"),
    "MS402": ("error", "classes do not match the dataset"),
    "MS403": ("error", "data classes subset out of range"),
    "MS404": ("warning", "validation split is empty or too large"),
    "MS405": ("error", "transfer settings invalid"),
    "MS501": ("error", "unknown block"),
    "MS502": ("error", "bad block argument or use entry"),
    "MS503": ("error", "invalid ${...} expression"),
    "MS504": ("error", "block uses itself (recursion)"),
    "MS505": ("error", "block expansion too large"),
}


@dataclass
class Origin:
    """One block instance around an expanded layer: its name, its block and
    the line of the use entry that made it."""

    instance: str
    block: str
    line: int | None = None


@dataclass
class Diagnostic:
    code: str
    message: str
    severity: Severity = "error"
    line: int | None = None
    column: int | None = None
    layer: str | None = None
    index: int | None = None
    layer_type: str | None = None
    hint: str | None = None
    file: str | None = field(default=None, repr=False)
    # Where the problem was written when it is not the file: `--set k=v`.
    source: str | None = None
    # The block instances the layer came from, innermost first (None: no block).
    origin: list[Origin] | None = None
    # How many more diagnostics of this code at this place (other instances or
    # layers of the same block) were folded into this one.
    also: int = 0

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def where(self) -> str:
        """`file:line:col`, omitting what is unknown; or the command-line option
        (`--set train.batchsize=8`) that wrote the value."""
        if self.source:
            return self.source
        parts = [self.file or "<spec>"]
        if self.line is not None:
            parts.append(str(self.line))
            parts.append(str(self.column or 1))
        return ":".join(parts)

    def subject(self) -> str:
        """`layers[6] fc1 (reshape)`, or empty for spec-level problems."""
        if self.layer is None and self.index is None:
            return ""
        parts = [f"layers[{self.index}]" if self.index is not None else "layer"]
        if self.layer:
            parts.append(self.layer)
        if self.layer_type:
            parts.append(f"({self.layer_type})")
        return " ".join(parts)

    def render(self) -> str:
        """The one-line text form, followed by a hint line when there is one."""
        subject = self.subject()
        head = f"{self.where()}: {self.severity} {self.code}"
        text = (
            f"{head} {subject}: {self.message}"
            if subject
            else (f"{head}: {self.message}")
        )
        for n, o in enumerate(self.origin or ()):
            line = f":{o.line}" if o.line is not None else ""
            text += (
                f"\n  in block '{o.block}' instance '{o.instance}', used at "
                f"{self.file or '<spec>'}{line}"
            )
            if n == 0 and self.also:
                # the same slip in other instances (or layers) of the block
                text += f" (and {self.also} more like it)"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("file")
        if d["source"] is None:  # only diagnostics about a --set carry it
            d.pop("source")
        # Keys only blocks bring, so that reports without blocks stay as they were.
        if d["origin"] is None:
            d.pop("origin")
        if not d["also"]:
            d.pop("also")
        return d
