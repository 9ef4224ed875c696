"""The zoo specs' [vars] scale like keras.applications' own arguments.

The MobileNet and EfficientNet specs state the width multiplier (alpha, or
width/depth coefficients) as [vars] and round channels and repeats with
make_divisible / ceil as Keras does. Overriding the vars (and, for EfficientNet,
the input size and which stages start on odd sizes) must give exactly the
Keras model built with the corresponding arguments: the same total parameters,
and the same output shape and parameters for every layer name both share.
tests/test_zoo.py checks the defaults, weights and outputs; this checks that the
vars are not decoration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelspec.check import check_file

pytestmark = pytest.mark.framework

ZOO = Path(__file__).resolve().parents[1] / "specs" / "zoo"

CASES = [
    ("MobileNet", ["vars.alpha=0.5"], "MobileNet", {"alpha": 0.5}),
    ("MobileNetV2", ["vars.alpha=0.35"], "MobileNetV2", {"alpha": 0.35}),
    ("MobileNetV2", ["vars.alpha=1.4"], "MobileNetV2", {"alpha": 1.4}),
    ("MobileNetV3Small", ["vars.alpha=0.5"], "MobileNetV3Small", {"alpha": 0.5}),
    ("MobileNetV3Large", ["vars.alpha=1.25"], "MobileNetV3Large", {"alpha": 1.25}),
    # EfficientNetB1 is B0 at depth 1.1 on 240 x 240; stage 6 starts at 15 x 15
    (
        "EfficientNetB0",
        ["vars.depth=1.1", "model.input=[240,240,3]", "layers.11.odd=true"],
        "EfficientNetB1",
        {},
    ),
    # B2: width 1.1, depth 1.2, 260 x 260: stages 3, 4 and 6 start odd
    (
        "EfficientNetB0",
        [
            "vars.width=1.1",
            "vars.depth=1.2",
            "model.input=[260,260,3]",
            "layers.8.odd=true",
            "layers.9.odd=true",
            "layers.11.odd=true",
        ],
        "EfficientNetB2",
        {},
    ),
]


@pytest.mark.parametrize(
    "spec, sets, fn, kwargs",
    CASES,
    ids=[f"{c[2]}-{'-'.join(s.split('=')[1] for s in c[1][:1])}" for c in CASES],
)
def test_vars_reproduce_keras_arguments(spec, sets, fn, kwargs):
    import keras

    report = check_file(ZOO / f"{spec}.toml", overrides=sets)
    # expect_params states the default model's count: a scaled one differs
    errors = [
        d.render()
        for d in report.diagnostics
        if d.severity == "error" and d.code != "MS210"
    ]
    assert errors == []
    keras.backend.clear_session()  # Keras's automatic names restart
    model = getattr(keras.applications, fn)(weights=None, **kwargs)
    assert report.total_params == model.count_params()
    theirs = {layer.name: layer for layer in model.layers}
    shared = [li for li in report.layers if li.name in theirs]
    assert len(shared) > len(report.layers) // 2, "too few shared names to compare"
    problems = []
    for li in shared:
        layer = theirs[li.name]
        shape = tuple(layer.output.shape[1:])
        # MobileNetV3 is built for any image size: None matches any size
        if len(shape) != len(li.output_shape) or any(
            k is not None and k != o
            for k, o in zip(shape, li.output_shape, strict=True)
        ):
            problems.append(f"{li.name}: shape spec {li.output_shape}, Keras {shape}")
        if layer.count_params() != li.params:
            problems.append(
                f"{li.name}: params spec {li.params}, Keras {layer.count_params()}"
            )
    assert problems == []
