"""`[data.augment]` and `scale = "per_image"` without a framework: range
errors, the lints MS320-MS326 on values a reviewer would flag, the numpy
evaluation steps (central crop, per-image standardization) and what an ONNX
file exported without data records about them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import codes, to_toml, toml_value
from modelspec.check import check_text
from modelspec.data import evalops, preprocess
from modelspec.onnx_file.metadata import static_preprocessing

LAYERS = [
    {"type": "conv2d", "name": "conv1", "filters": 4, "kernel": 3},
    {"type": "global_avg_pool2d", "name": "gap"},
    {"type": "dense", "name": "logits", "units": 10},
]


def spec(augment: dict, input=(24, 24, 3), dataset="cifar10", scale=None) -> str:
    text = to_toml({"name": "t", "input": list(input), "classes": 10}, LAYERS)
    text += f'\n[data]\ndataset = "{dataset}"\n'
    if scale:
        text += f'scale = "{scale}"\n'
    text += "\n[data.augment]\n"
    return text + "".join(f"{k} = {toml_value(v)}\n" for k, v in augment.items())


def test_the_tutorial_pipeline_checks_clean():
    report = check_text(
        spec(
            {"crop": [24, 24], "flip": True, "brightness": 63, "contrast": [0.2, 1.8]},
            scale="per_image",
        )
    )
    assert report.ok and codes(report) == []
    aug = report.spec.data.augment
    assert aug.crop == [24, 24] and aug.brightness == 63.0 and aug.active()
    assert report.spec.data.scale == "per_image"


@pytest.mark.parametrize(
    "augment",
    [
        {"crop": [24]},
        {"crop": [0, 24]},
        {"brightness": -1},
        {"contrast": [1.8, 0.2]},
        {"contrast": [-0.5, 1.5]},
        {"contrast": [0.5, 0.5]},
        {"cutout": -2},
        {"translate": -1},
        {"translate": 2, "pad_crop": 2},
        {"mixup": 0.2},
    ],
)
def test_range_errors_are_invalid_values(augment):
    report = check_text(spec({"crop": [24, 24], **augment}))
    assert not report.ok
    assert set(codes(report)) <= {"MS103", "MS101"}, codes(report)
    assert report.diagnostics[0].line is not None


def test_the_model_input_must_be_the_crop():
    report = check_text(spec({"crop": [24, 24]}, input=(32, 32, 3)))
    assert codes(report) == ["MS320"]
    d = report.diagnostics[0]
    assert "[24, 24, 3]" in d.message and "[32, 32, 3]" in d.message
    assert d.line == 3  # `input = ...` under [model]
    # the dataset's channels count too
    wrong = check_text(spec({"crop": [24, 24]}, input=(24, 24, 1)))
    assert codes(wrong) == ["MS320"] and "[24, 24, 3]" in wrong.diagnostics[0].message
    # Without the crop, the whole image is the input again (MS401 otherwise).
    assert check_text(spec({"flip": True}, input=(32, 32, 3))).ok
    assert codes(check_text(spec({"flip": True}, input=(24, 24, 3)))) == ["MS401"]


@pytest.mark.parametrize(
    "augment, input, code",
    [
        ({"crop": [40, 24]}, (40, 24, 3), "MS321"),
        ({"brightness": 128}, (32, 32, 3), "MS322"),
        ({"contrast": [0.0, 1.5]}, (32, 32, 3), "MS323"),
        ({"cutout": 32}, (32, 32, 3), "MS324"),
        ({"crop": [24, 24], "cutout": 24}, (24, 24, 3), "MS324"),
        ({"translate": 32}, (32, 32, 3), "MS325"),
        ({"pad_crop": 40}, (32, 32, 3), "MS325"),
        ({"flip": True}, (3072,), "MS326"),
    ],
)
def test_nonsense_values_are_flagged(augment, input, code):
    report = check_text(spec(augment, input=input))
    assert code in codes(report), codes(report)
    assert all(d.line for d in report.diagnostics)


@pytest.mark.parametrize(
    "augment",
    [
        {"brightness": 127},  # just under half of 0..255
        {"contrast": [0.1, 3.0]},
        {"cutout": 16},
        {"translate": 4},
        {"pad_crop": 4},
        {"crop": [32, 32]},
    ],
)
def test_sensible_values_are_not_flagged(augment):
    assert codes(check_text(spec(augment, input=(32, 32, 3)))) == []


def test_brightness_is_judged_in_the_datasets_pixel_units():
    # digits' pixels are 0..16: 8 is half their range, 63 would be absurd.
    assert "MS322" in codes(
        check_text(spec({"brightness": 8}, input=(8, 8, 1), dataset="digits"))
    )
    assert check_text(spec({"brightness": 4}, input=(8, 8, 1), dataset="digits")).ok


def test_central_crop_offsets_are_tensorflows():
    x = np.arange(2 * 7 * 6 * 1, dtype=np.float32).reshape(2, 7, 6, 1)
    out = evalops.central_crop(x, [4, 3])
    # (7 - 4) // 2 = 1 row and (6 - 3) // 2 = 1 column off the top left
    assert out.shape == (2, 4, 3, 1)
    assert np.array_equal(out, x[:, 1:5, 1:4])


def test_per_image_standardization_formula():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (3, 5, 5, 3)).astype(np.float32)
    x[2] = 7.0  # a flat image: the std floor 1 / sqrt(75) applies
    out = evalops.per_image_standardize(x)
    for i in range(2):
        ref = (x[i] - x[i].mean()) / x[i].std()
        assert np.allclose(out[i], ref, atol=1e-5)
        assert abs(out[i].mean()) < 1e-5 and abs(out[i].std() - 1) < 1e-4
    assert np.all(out[2] == 0)
    assert math.isclose(1 / math.sqrt(75), 0.11547, rel_tol=1e-4)


def test_preprocess_crops_and_standardizes_per_image():
    rng = np.random.default_rng(4)
    raw = rng.integers(0, 256, (4, 10, 10, 3)).astype(np.uint8)
    pp = {"scale": "per_image", "crop": [6, 6], "raw_shape": [10, 10, 3]}
    out = preprocess(raw, pp)
    assert out.shape == (4, 6, 6, 3)
    centre = raw[:, 2:8, 2:8].astype(np.float64)
    for i in range(4):
        ref = (centre[i] - centre[i].mean()) / centre[i].std()
        assert np.allclose(out[i], ref, atol=1e-4)
    # unit scaling with a crop: only the crop of raw / 255
    unit = preprocess(raw, {"scale": "unit", "divide": 255.0, "crop": [6, 6]})
    assert np.allclose(unit, centre / 255.0)


def test_an_onnx_file_without_data_records_the_crop():
    report = check_text(
        spec({"crop": [24, 24], "flip": True}, input=(24, 24, 3), scale="per_image")
    )
    prep = static_preprocessing(report.spec)
    assert prep["scale"] == "per_image"
    assert prep["crop"] == [24, 24] and prep["raw_shape"] == [32, 32, 3]
