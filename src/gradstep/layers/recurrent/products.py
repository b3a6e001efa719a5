"""Matrix products of a cell with dropout masks per gate, and their slopes.

Keras's cells multiply their input (and their previous state) by the kernel
(the recurrent kernel) after dropout. A mask is drawn once per sequence and
kept for every step. With ``recurrent_dropout`` Keras draws one mask per gate
(its "implementation 1"): gate ``g`` sees ``x * m_g``, so

    z[:, g] = (x * m_g) @ W[:, g]        dW[:, g] = (x * m_g)^T dz[:, g]
    dx = sum_g (dz[:, g] @ W[:, g]^T) * m_g

With one mask (or none) this is the plain ``z = (x * m) @ W``. The cells
keep their sequences time-major, ``x`` of shape ``(steps, batch, features)``
(or one step's ``(batch, features)``), so a mask ``(batch, features)``
multiplies every step by broadcasting.
"""

from __future__ import annotations

import numpy as np


def draw_masks(rng, rate: float, count: int, shape: tuple, dtype) -> np.ndarray | None:
    """``count`` inverted-dropout masks of ``shape`` (keep / (1 - rate)), or
    None when ``rate`` is 0: Keras's ``DropoutRNNCell`` masks."""
    if rate <= 0:
        return None
    keep = rng.random((count, *shape)) >= rate
    return keep.astype(dtype) / np.asarray(1 - rate, dtype)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def masked_matmul(x: np.ndarray, masks, kernel: np.ndarray, out=None) -> np.ndarray:
    """``x @ kernel`` with ``masks`` (None, one mask, or one per gate)
    applied to ``x`` first; ``x`` is ``(..., batch, features)``; written
    into ``out`` when given."""
    if masks is None:
        return np.matmul(x, kernel, out=out)
    if len(masks) == 1:
        return np.matmul(x * masks[0], kernel, out=out)
    gates = np.split(kernel, len(masks), axis=1)
    return np.concatenate(
        [(x * m) @ k for m, k in zip(masks, gates, strict=True)], axis=-1, out=out
    )


def masked_matmul_backward(
    x: np.ndarray, masks, kernel: np.ndarray, slope: np.ndarray, kernel_slope, need_x
):
    """The slope at ``x`` of ``masked_matmul`` (None unless ``need_x``);
    adds the kernel's slope into ``kernel_slope`` (unless it is None)."""
    if masks is None:
        if kernel_slope is not None:
            kernel_slope += _flat(x).T @ _flat(slope)
        return slope @ kernel.T if need_x else None
    if len(masks) == 1:
        mask = masks[0]
        if kernel_slope is not None:
            kernel_slope += _flat(x * mask).T @ _flat(slope)
        return (slope @ kernel.T) * mask if need_x else None
    count = len(masks)
    gates = np.split(kernel, count, axis=1)
    slopes = np.split(slope, count, axis=-1)
    width = kernel.shape[1] // count
    x_slope = np.zeros_like(x) if need_x else None
    for g, (m, k, s) in enumerate(zip(masks, gates, slopes, strict=True)):
        if kernel_slope is not None:
            kernel_slope[:, g * width : (g + 1) * width] += _flat(x * m).T @ _flat(s)
        if need_x:
            x_slope += (s @ k.T) * m
    return x_slope
