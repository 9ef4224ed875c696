"""What a model costs the machine, told before anything is allocated.

A spec can ask for a 10^10-parameter dense layer in one line; TensorFlow would
then fail deep inside with ResourceExhaustedError (or the kernel would kill the
process). These pure functions let `check` warn and `train` refuse first.
"""

from __future__ import annotations

import os

FLOAT32_BYTES = 4
# Copies of the weights that training keeps besides the weights themselves:
# the gradients, plus the optimizer's slots (Adam and AdamW: two moments;
# RMSprop: one, two with momentum; SGD: one with momentum).
_SLOTS = {"adam": 2, "adamw": 2, "rmsprop": 1, "sgd": 0}


MEMORY_ENV = "MODELSPEC_MEMORY_BYTES"


def machine_memory() -> int | None:
    """Physical memory in bytes (or $MODELSPEC_MEMORY_BYTES, to check for another
    machine), or None where the OS does not say."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def weight_bytes(params: int) -> int:
    return params * FLOAT32_BYTES


def training_bytes(params: int, optimizer=None) -> int:
    """Weights, gradients and optimizer slots; activations come on top."""
    kind = getattr(optimizer, "type", "adam")
    slots = _SLOTS.get(kind, 2)
    if kind in ("sgd", "rmsprop") and getattr(optimizer, "momentum", 0):
        slots += 1
    return weight_bytes(params) * (2 + slots)


def gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def require_training_memory(params: int, optimizer=None) -> None:
    """Raise RunError when training cannot fit in this machine's memory at all,
    before a run folder or a single tensor exists."""
    from .errors import RunError

    memory = machine_memory()
    need = training_bytes(params, optimizer)
    if memory is None or need <= memory:
        return
    raise RunError(
        f"training this model needs at least {gib(need)} (its {params:,} float32 "
        f"weights, their gradients and the optimizer's state), more than this "
        f"machine's {gib(memory)} of memory",
        hint="make the largest layers smaller (`modelspec check` lists each "
        "layer's parameters), or train on a machine with more memory",
    )
