"""The `[model]`, `[data]`, `[train]`, `[transfer]` and `[export]` tables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .common import PositiveInt, Strict

BUILTIN_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100")
DATASET_KINDS = BUILTIN_DATASETS + ("npz", "images")


class ModelTable(Strict):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Model name: letters, digits, '_' and '-'. Names the run folder.",
    )
    input: list[PositiveInt] = Field(
        min_length=1,
        max_length=3,
        description="One example's shape, channels last, no batch axis.",
    )
    classes: PositiveInt | None = Field(
        None, description="Number of classes; then the output must be (classes,)."
    )
    expect_params: int | None = Field(
        None, ge=0, description="Assertion on the total parameter count."
    )
    class_names: list[str] | None = Field(
        None, description="Names of the classes, in label order (for plots, export)."
    )


class Augment(Strict):
    """Training-time augmentation, per example, in this order: pad_crop or
    translate, crop, flip, brightness, contrast, then the scaling
    (`[data] scale`, e.g. per-image standardization), then cutout."""

    crop: list[PositiveInt] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Random crop to [height, width] in training; the central "
        "crop of that size at evaluation, test, predict and export. [model] "
        "input is then [height, width, channels].",
    )
    pad_crop: int = Field(
        0,
        ge=0,
        description="Pad by this many pixels of zeros, then random-crop back (to "
        "`crop` when set, else to the image size).",
    )
    translate: int = Field(
        0,
        ge=0,
        description="Random shift by up to this many pixels in each direction, "
        "edges reflected (pad_crop with reflection padding).",
    )
    flip: bool = Field(False, description="Random horizontal flip.")
    brightness: float = Field(
        0.0,
        ge=0,
        description="Add one random delta in [-b, b] to every pixel, in the units "
        "of the stored pixels before any scaling (0..255 for 8-bit images, "
        "0..16 for digits): 63 is the TF CIFAR-10 tutorial's max_delta.",
    )
    contrast: list[Annotated[float, Field(ge=0)]] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="[lower, upper]: per channel, (x - mean) * f + mean with f "
        "uniform in [lower, upper) (tf.image.random_contrast).",
    )
    cutout: int = Field(
        0,
        ge=0,
        description="Zero a square of this side (pixels) at a random centre, "
        "after scaling (it may reach past the edges).",
    )

    @field_validator("contrast")
    @classmethod
    def _ordered(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError(
                f"contrast is [lower, upper] with lower < upper. Received: contrast={v}"
            )
        return v

    @model_validator(mode="after")
    def _one_shift(self) -> Augment:
        if self.pad_crop and self.translate:
            raise ValueError("pad_crop and translate both shift the image; use one")
        return self

    def active(self) -> bool:
        """Does training transform examples at all?"""
        return bool(
            self.crop
            or self.pad_crop
            or self.translate
            or self.flip
            or self.brightness
            or self.contrast
            or self.cutout
        )


class DataTable(Strict):
    # Literal over a tuple constant: pydantic expands it, mypy cannot.
    dataset: Literal[DATASET_KINDS] = Field(  # type: ignore[valid-type]
        description="A built-in dataset, 'npz' (a file with x_train, y_train, "
        "x_test, y_test) or 'images' (a folder with one sub-folder per class)."
    )
    path: str | None = Field(
        None,
        description="File or folder for 'npz' and 'images'; for built-in datasets, "
        "a folder to look in first.",
    )
    validation: Annotated[int, Field(ge=0)] | Annotated[float, Field(gt=0, lt=1)] = (
        Field(
            0.1,
            description="Examples held out from the end of the training set: an int "
            "count or a float fraction.",
        )
    )
    validation_path: str | None = Field(
        None, description="An .npz file with x_val, y_val, used instead of a split."
    )
    classes: list[Annotated[int, Field(ge=0)]] | None = Field(
        None,
        min_length=2,
        description="Keep only these labels (relabelled 0..n-1 in this order).",
    )
    scale: Literal["unit", "standardize", "per_image", "none"] = Field(
        "unit",
        description="'unit' divides by 255 (integer images) into [0, 1]; "
        "'standardize' subtracts the training mean and divides by its std per "
        "channel; 'per_image' standardizes each image by its own mean and std "
        "(tf.image.per_image_standardization, after augmentation; in training, "
        "evaluation and predict); 'none' keeps the values.",
    )
    augment: Augment = Field(
        default_factory=Augment, description="Training-time augmentation."
    )
    limit: PositiveInt | None = Field(
        None, description="Use only the first N training examples (quick runs)."
    )
    test_limit: PositiveInt | None = Field(
        None, description="Use only the first N test examples."
    )
    image_size: list[PositiveInt] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="For 'images': resize to [height, width]; default model input.",
    )

    @field_validator("classes")
    @classmethod
    def _distinct(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"class labels must be distinct. Received: classes={v}")
        return v

    @model_validator(mode="after")
    def _needs_path(self) -> DataTable:
        if self.dataset in ("npz", "images") and not self.path:
            raise ValueError(f"dataset = {self.dataset!r} needs `path`")
        return self


class Optimizer(Strict):
    type: Literal["sgd", "adam", "adamw", "rmsprop"] = Field(
        "adam", description="Optimizer."
    )
    learning_rate: float = Field(
        1e-3, gt=0, description="Initial learning rate (before any schedule)."
    )
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd and rmsprop momentum.")
    nesterov: bool = Field(False, description="sgd: Nesterov momentum.")
    beta_1: float = Field(0.9, gt=0, lt=1, description="adam/adamw beta_1.")
    beta_2: float = Field(0.999, gt=0, lt=1, description="adam/adamw beta_2.")
    epsilon: float = Field(1e-7, gt=0, description="Numerical-stability epsilon.")
    rho: float = Field(0.9, gt=0, lt=1, description="rmsprop decay.")
    weight_decay: float | None = Field(
        None, ge=0, description="Decoupled weight decay (adamw default 0.004)."
    )
    clipnorm: float | None = Field(None, gt=0, description="Clip gradient norm.")
    ema: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Weight EMA: also keep an exponential moving average of the "
        "weights with this momentum (e.g. 0.999; it averages over about "
        "1 / (1 - ema) steps). Validation, best.keras, evaluate, predict and "
        "export use the average; training continues from the raw weights.",
    )


class Schedule(Strict):
    type: Literal["constant", "exponential", "step", "cosine", "one_cycle"] = Field(
        "constant",
        description="Learning-rate schedule. 'one_cycle' (PyTorch's OneCycleLR, "
        "cosine): up from learning_rate / div_factor to learning_rate over "
        "pct_start of training, then down to that / final_div_factor.",
    )
    decay_rate: float = Field(
        0.96, gt=0, description="exponential/step: factor applied per period."
    )
    decay_epochs: float = Field(
        1.0, gt=0, description="exponential/step: epochs per decay period."
    )
    staircase: bool = Field(False, description="exponential: decay in steps.")
    alpha: float = Field(
        0.0, ge=0, le=1, description="cosine: final fraction of the learning rate."
    )
    min_lr: float = Field(
        0.0,
        ge=0,
        description="Floor: the schedule never takes the learning rate below "
        "this (every type; a warm-up still starts near 0).",
    )
    warmup_epochs: float = Field(
        0.0,
        ge=0,
        description="Linear warm-up from 0 over this many epochs, multiplying "
        "any schedule type.",
    )
    pct_start: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="one_cycle: fraction of the training steps spent rising.",
    )
    div_factor: float = Field(
        25.0,
        ge=1,
        description="one_cycle: the first learning rate is learning_rate / this.",
    )
    final_div_factor: float = Field(
        1e4,
        ge=1,
        description="one_cycle: the last learning rate is the first / this.",
    )


class EarlyStopping(Strict):
    patience: PositiveInt = Field(5, description="Epochs without improvement.")
    min_delta: float = Field(0.0, ge=0, description="Smallest change that counts.")
    restore_best: bool = Field(True, description="Restore the best weights at the end.")


Metric = Annotated[str, Field(pattern=r"^(accuracy|top[1-9][0-9]*)$")]


class TrainTable(Strict):
    epochs: PositiveInt = Field(10, description="Epochs to train.")
    steps: PositiveInt | None = Field(
        None,
        description="Total training steps instead of epochs (rounded up to "
        "whole epochs of steps_per_epoch).",
    )
    batch_size: PositiveInt = Field(32, description="Examples per batch.")
    optimizer: Optimizer = Field(default_factory=Optimizer, description="Optimizer.")
    schedule: Schedule = Field(
        default_factory=Schedule, description="Learning-rate schedule."
    )
    loss: Literal["auto", "sparse_categorical_crossentropy"] = Field(
        "auto",
        description="'auto' picks sparse categorical cross-entropy with from_logits "
        "set from the final activation.",
    )
    from_logits: bool | None = Field(
        None, description="Override; default: true unless the output is a softmax."
    )
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="Label smoothing.")
    metrics: list[Metric] = Field(
        default_factory=lambda: ["accuracy"],
        description="'accuracy' and 'topK' (top-K accuracy), e.g. 'top5'.",
    )
    monitor: Literal["val_loss", "val_accuracy"] = Field(
        "val_loss", description="What picks best.keras."
    )
    early_stopping: EarlyStopping | None = Field(
        None, description="Stop when the monitored metric stops improving."
    )
    seed: int | None = Field(
        0, description="Seed for weights, shuffling and augmentation; none = random."
    )
    jit_compile: bool | Literal["auto"] = Field(
        False,
        description="XLA compilation. Off by default: on a 2-core CPU it was 2x "
        "slower for LeNet (docs/benchmarks.md).",
    )
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = Field(
        "float32", description="Keras dtype policy."
    )
    strategy: Literal["auto", "default", "mirrored", "multi_worker"] = Field(
        "auto",
        description="'auto': MirroredStrategy over all local GPUs when there are "
        "several, else the default; 'multi_worker' reads TF_CONFIG.",
    )
    log_every: PositiveInt | None = Field(
        None, description="Also write TensorBoard scalars every N batches."
    )
    cache: bool = Field(True, description="Cache the input pipeline in memory.")
    steps_per_execution: PositiveInt = Field(
        1,
        description="Training steps per call into the compiled graph (Keras's "
        "compile argument); fewer Python round trips. Batch callbacks (progress, "
        "log_every) then fire once per execution; capped at steps per epoch.",
    )


class TransferTable(Strict):
    from_: str = Field(
        alias="from",
        description="Where the weights come from, matched by layer name: a run "
        "directory (its best.keras), a .keras file, a .weights.h5 file or a legacy "
        ".h5 weight file (keras.applications' ImageNet files); a bare file name is "
        "also looked for in Keras's cache (~/.keras/models).",
    )
    freeze: Literal["all_but_last", "none"] | list[str] = Field(
        "none", description="Layers to freeze: a list of names, or 'all_but_last'."
    )
    skip: list[str] = Field(
        default_factory=list,
        description="Layers left at their initializers even when the source has "
        "them (e.g. a new head); any other layer whose weights do not fit is an "
        "error.",
    )
    widen: bool = Field(
        True,
        description="Copy a smaller output layer into a wider one (new rows "
        "initialised fresh).",
    )

    model_config = Strict.model_config | {"populate_by_name": True}


class ExportTable(Strict):
    opset: int = Field(17, ge=9, le=21, description="ONNX opset.")
    tolerance: float = Field(
        1e-4, gt=0, description="Largest |ONNX - Keras| difference accepted."
    )
    verify_examples: PositiveInt = Field(
        64, description="Test examples compared between Keras and ONNX Runtime."
    )
