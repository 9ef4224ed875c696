"""scikit-learn's bundled 8x8 digits: no download, the first-run dataset.

1,797 images with values 0..16 (so 'unit' scaling divides by 16). The test
set is a fixed stratified 20% (`train_test_split(test_size=0.2, stratify=y,
random_state=0)`): 1,437 training and 360 test images, the same on every run
and machine, whatever the training seed.
"""

from __future__ import annotations

import numpy as np

from ..errors import require
from .info import CLASS_NAMES
from .process import RawData

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def load_digits() -> RawData:
    require("sklearn")
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = bunch.images.astype(np.uint8)  # stored as float64 but integral 0..16
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return RawData(
        name="digits",
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        class_names=CLASS_NAMES["digits"],
        raw_max=16.0,
        source="sklearn.datasets.load_digits",
    )
