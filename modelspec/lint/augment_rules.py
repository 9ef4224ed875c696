"""Lint rules for `[data.augment]`: what a crop does to the model input, and
values that destroy the image instead of varying it.

The image size comes from the built-in dataset (`modelspec.data.info`) or
`[data] image_size`; for other data only the model input is known, so rules
that need the uncropped size stay silent.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..data.info import DATASETS
from ..diagnostics import Diagnostic
from .context import LintContext

# Contrast factors below this flatten an image to (nearly) its mean colour.
CONTRAST_FLOOR = 0.1


def _augment(c: LintContext):
    data = c.tables.get("data")
    return (data, data.augment) if data is not None else (None, None)


def _image_hw(data) -> tuple[int, int] | None:
    """(height, width) of the examples before any crop, when known."""
    if data.dataset in DATASETS:
        shape = DATASETS[data.dataset][0]
        return int(shape[0]), int(shape[1])
    if data.dataset == "images" and data.image_size:
        return int(data.image_size[0]), int(data.image_size[1])
    return None


def _raw_max(data) -> float | None:
    if data.dataset == "digits":
        return 16.0
    if data.dataset in DATASETS or data.dataset == "images":
        return 255.0
    return None


def crop_fits(c: LintContext) -> Iterable[Diagnostic]:
    data, aug = _augment(c)
    if aug is None or not aug.crop or c.model is None:
        return
    h, w = aug.crop
    image = _image_hw(data)
    if image is not None and (h > image[0] or w > image[1]):
        yield c.diag(
            "MS321",
            f"crop = [{h}, {w}] is larger than the {data.dataset} images "
            f"({image[0]}x{image[1]}). Received: crop={[h, w]}",
            ("data", "augment", "crop"),
            hint=f"crop to at most [{image[0]}, {image[1]}]",
        )
    want = list(c.model.input)
    channels = want[-1] if len(want) == 3 else "channels"
    if data.dataset in DATASETS:
        channels = DATASETS[data.dataset][0][-1]
    if want != [h, w, channels]:
        yield c.diag(
            "MS320",
            f"[data.augment] crop = [{h}, {w}] feeds the model [{h}, {w}, "
            f"{channels}] examples, but [model] input is {want}",
            ("model", "input"),
            hint=f"set input = [{h}, {w}, {channels}] (training crops randomly, "
            "evaluation centrally)",
        )


def shifts_fit(c: LintContext) -> Iterable[Diagnostic]:
    data, aug = _augment(c)
    if aug is None or c.model is None:
        return
    size = _image_hw(data)
    if size is None and len(c.model.input) == 3:
        size = (int(c.model.input[0]), int(c.model.input[1]))
    if size is None:
        return
    side = min(size)
    for key in ("pad_crop", "translate"):
        value = getattr(aug, key)
        if value and value >= side:
            yield c.diag(
                "MS325",
                f"{key} = {value} shifts by a whole image side ({side} pixels): "
                "crops could hold no pixel of the image",
                ("data", "augment", key),
                hint=f"use a shift well below {side}, e.g. {max(1, side // 8)}",
            )
    model_side = min(int(d) for d in c.model.input[:2]) if c.model.input else 0
    if aug.cutout and len(c.model.input) == 3 and aug.cutout >= model_side:
        yield c.diag(
            "MS324",
            f"cutout = {aug.cutout} is as large as the {model_side}-pixel image "
            "the model sees: it can erase all of it",
            ("data", "augment", "cutout"),
            hint=f"use about half the side or less, e.g. cutout = {model_side // 2}",
        )


def photometric(c: LintContext) -> Iterable[Diagnostic]:
    data, aug = _augment(c)
    if aug is None:
        return
    top = _raw_max(data)
    if aug.brightness and top is not None and aug.brightness >= top / 2:
        yield c.warn(
            "MS322",
            f"brightness = {aug.brightness:g} can shift every pixel by half the "
            f"pixel range (0..{top:g}) or more: images become flat black or white",
            ("data", "augment", "brightness"),
            hint=f"brightness is in raw pixel units; the CIFAR-10 tutorial's is 63 "
            f"of 255, i.e. about {top / 4:g} here",
        )
    if aug.contrast and aug.contrast[0] < CONTRAST_FLOOR:
        yield c.warn(
            "MS323",
            f"contrast = {aug.contrast} reaches a factor of "
            f"{aug.contrast[0]:g}: the image is flattened to its mean colour",
            ("data", "augment", "contrast"),
            hint="the CIFAR-10 tutorial uses contrast = [0.2, 1.8]",
        )


def needs_images(c: LintContext) -> Iterable[Diagnostic]:
    _, aug = _augment(c)
    if aug is None or c.model is None or aug.crop or len(c.model.input) == 3:
        return
    used = [k for k in ("pad_crop", "translate", "flip", "cutout") if getattr(aug, k)]
    if used:
        yield c.diag(
            "MS326",
            f"{', '.join(used)} {'moves' if len(used) == 1 else 'move'} pixels of "
            f"images, but [model] input "
            f"{list(c.model.input)} is not an image (height, width, channels)",
            ("data", "augment", used[0]),
            hint="give [model] input as [height, width, channels] and reshape "
            "inside the model if needed",
        )


RULES = [crop_fits, shifts_fit, photometric, needs_images]
