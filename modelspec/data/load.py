"""`load_data`: pick the loader for `[data] dataset`, then make the splits."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from . import process as P
from .process import RawData, Splits


def load_data(
    table,
    input_shape: tuple[int, ...],
    seed: int | None = 0,
    *,
    classes: int | None = None,
) -> Splits:
    """Load `[data]` (a `modelspec.schema.DataTable`) shaped for `input_shape`.

    `classes` is `[model] classes` when known: labels at or above it are an
    error. `seed` does not change any split on purpose: every split is fixed
    (digits' stratified split uses its own fixed seed), so runs with different
    training seeds are validated and tested on the same examples.
    """
    input_shape = tuple(int(d) for d in input_shape)
    raw = _load_raw(table, input_shape)
    return finish(raw, table, input_shape, classes)


def _load_raw(table, input_shape: tuple[int, ...]) -> RawData:
    name = table.dataset
    if table.path and name not in ("npz", "images", "digits"):
        from pathlib import Path

        if not Path(table.path).expanduser().exists():
            # Not silently falling back to another copy: a typo would go unseen.
            raise DataError(
                f"[data] path {table.path!r} does not exist",
                hint="give the folder (or archive) holding the dataset, "
                "or leave path out to search the usual places",
            )
    if name == "digits":
        from .digits import load_digits

        return load_digits()
    if name in ("mnist", "fashion_mnist"):
        from .idx import load_builtin

        return load_builtin(name, table.path)
    if name in ("cifar10", "cifar100"):
        from .cifar import load_builtin

        return load_builtin(name, table.path)
    if name == "npz":
        from .npz import load_npz

        return load_npz(table.path)
    if name == "images":
        from .images import load_folder

        return load_folder(table.path, input_shape, table.image_size)
    raise DataError(f"unknown dataset {name!r}")


def _subset_names(raw: RawData, keep: list[int]) -> list[str]:
    names = raw.class_names or []
    return [names[c] if c < len(names) else str(c) for c in keep]


def finish(
    raw: RawData, table, input_shape: tuple[int, ...], classes: int | None = None
) -> Splits:
    """Everything after loading, in order: check the arrays, add the
    validation file, keep the `[data] classes` subset, split and limit, check
    what is left, preprocess. See the module docstring of `process`."""
    name = raw.name
    first = tuple(np.shape(raw.x_train)[1:])
    x_tr, y_tr, x_te, y_te = _checked_arrays(
        raw, _load_shape(table, name, first, input_shape)
    )
    example = tuple(x_tr.shape[1:])
    val = _validation_file(table, example)
    if raw.class_names:
        class_names = list(raw.class_names)
    else:
        top = max(int(y.max(initial=-1)) for y in (y_tr, y_te))
        class_names = [str(i) for i in range(top + 1)]
    after = ""
    if table.classes:
        keep = list(table.classes)
        (x_tr, y_tr), (x_te, y_te), val = _keep_classes(
            name, keep, (x_tr, y_tr), (x_te, y_te), val
        )
        class_names = _subset_names(raw, keep)
        after = f" after keeping classes {keep}"

    want_val = val is not None or bool(table.validation)
    (x_tr, y_tr), val, (x_te, y_te) = _split_and_limit(
        table, name, (x_tr, y_tr), val, (x_te, y_te)
    )
    P.check_nonempty(name, "training", len(x_tr), after)
    P.check_nonempty(name, "test", len(x_te), after)
    if want_val:
        P.check_nonempty(name, "validation", len(val[0]), after)
    P.check_label_range(
        name, {"training": y_tr, "validation": val[1], "test": y_te}, classes
    )

    pp = P.make_preprocessing(table.scale, x_tr, raw)
    if len(example) >= 2:  # lets predict resize new images for flat inputs too
        pp["image_size"] = [int(example[0]), int(example[1])]
    shape = _load_shape(table, name, example, input_shape)
    if table.augment.crop:
        pp["crop"] = [int(d) for d in table.augment.crop]
        pp["raw_shape"] = list(shape)

    def ready(x: np.ndarray) -> np.ndarray:
        return P.preprocess(x, pp).reshape((len(x),) + input_shape)

    train_raw = table.augment.active()
    if train_raw:  # the pipeline augments, then crops and standardizes
        x_train = P.scale_pixels(x_tr, pp).reshape((len(x_tr),) + shape)
    else:
        x_train = ready(x_tr)

    return Splits(
        x_train=x_train,
        y_train=y_tr,
        x_val=ready(val[0]),
        y_val=val[1],
        x_test=ready(x_te),
        y_test=y_te,
        class_names=class_names,
        num_classes=len(class_names),
        preprocessing=pp,
        augment=table.augment,
        name=name,
        source=raw.source,
        train_raw=train_raw,
    )


def _load_shape(table, name: str, example, input_shape) -> tuple[int, ...]:
    """The shape examples are loaded in: `[model] input`, or the uncropped
    image that `[data.augment] crop` cuts it from."""
    if not table.augment.crop:
        return input_shape
    from .evalops import uncropped_shape

    return uncropped_shape(name, example, input_shape, table.augment.crop)


def _checked_arrays(raw: RawData, input_shape: tuple[int, ...]):
    """(x_train, y_train, x_test, y_test) as arrays, after checking that the
    labels are labels, each x matches its y, and the examples fit the input."""
    name = raw.name
    x_tr, x_te = np.asarray(raw.x_train), np.asarray(raw.x_test)
    y_tr = P.as_labels(raw.y_train, f"{name} y_train")
    y_te = P.as_labels(raw.y_test, f"{name} y_test")
    P.check_pair(x_tr, y_tr, f"{name} training set")
    P.check_pair(x_te, y_te, f"{name} test set")
    example = tuple(x_tr.shape[1:])
    P.check_fits(name, example, input_shape)
    if tuple(x_te.shape[1:]) != example:
        raise DataError(
            f"{name}: test examples have shape {tuple(x_te.shape[1:])}, "
            f"training examples {example}"
        )
    return x_tr, y_tr, x_te, y_te


def _validation_file(table, example: tuple[int, ...]):
    """(x_val, y_val) from `[data] validation_path`, or None without one."""
    if not table.validation_path:
        return None
    from .npz import load_validation

    x_v, y_v = load_validation(table.validation_path)
    y_v = P.as_labels(y_v, f"{table.validation_path} y_val")
    P.check_pair(x_v, y_v, f"{table.validation_path}")
    if tuple(x_v.shape[1:]) != example:
        raise DataError(
            f"{table.validation_path}: x_val examples have shape "
            f"{tuple(x_v.shape[1:])}, training examples {example}"
        )
    return x_v, y_v


def _keep_classes(name: str, keep: list[int], train, test, val):
    """The (x, y) pairs restricted to the labels in `keep`, relabelled
    0..len(keep)-1 in that order; every kept label must occur in training."""
    x_tr, y_tr = train
    present = set(np.unique(y_tr).tolist())
    missing = [c for c in keep if c not in present]
    if missing:
        raise DataError(
            f"{name}: [data] classes lists {missing}, which the training set "
            f"does not have (its labels are {sorted(present)[:3]}..."
            f"{max(present, default=-1)})",
            hint="list labels that occur in the data (0-based)",
        )
    m, y_tr = P.subset(y_tr, keep)
    x_tr = x_tr[m]
    m, y_te = P.subset(test[1], keep)
    x_te = test[0][m]
    if val is not None:
        m, y_v = P.subset(val[1], keep)
        val = (val[0][m], y_v)
    return (x_tr, y_tr), (x_te, y_te), val


def _split_and_limit(table, name: str, train, val, test):
    """Hold out `[data] validation` from the end of training (unless a file
    gave one; an empty split otherwise), then apply `limit`/`test_limit`."""
    x_tr, y_tr = train
    x_te, y_te = test
    if val is None and table.validation:
        n = P.validation_count(table.validation, len(x_tr), name)
        val = (x_tr[-n:], y_tr[-n:])
        x_tr, y_tr = x_tr[:-n], y_tr[:-n]
    if val is None:
        val = (x_tr[:0], y_tr[:0])
    if table.limit:
        x_tr, y_tr = x_tr[: table.limit], y_tr[: table.limit]
    if table.test_limit:
        x_te, y_te = x_te[: table.test_limit], y_te[: table.test_limit]
    return (x_tr, y_tr), val, (x_te, y_te)
