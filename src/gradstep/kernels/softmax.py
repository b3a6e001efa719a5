"""The softmax over a matrix's rows and the sparse categorical cross-entropy
taken on it, fused (numba) and as NumPy twins that give the same bits.

A Dense layer of 10 softmax units and its loss, on a batch of 32, are about
twenty NumPy calls on 320 numbers each, a microsecond apiece. The fused passes
make them five: the exponential and the logarithm stay NumPy's (their last bit
differs from LLVM's), and everything between them is one pass over the rows.

Softmax, for ``pre`` (rows of ``k`` classes) and an optional ``bias``::

    pre += bias                                  (in place: the layer keeps it)
    out = exp(pre - max(pre's row))              (np.maximum.reduce: NaN wins)
    out /= sum(out's row)

Sparse categorical cross-entropy of probabilities ``out`` and labels ``l``,
averaged over the ``n`` rows (Keras's formula)::

    q = clip(out[i, l] / sum(out's row), EPSILON, 1 - EPSILON)
    loss = sum(-log(q)) / n
    slope = (out * kept - onehot(l) * kept) / n,  kept = EPSILON <= out[i, l] <= 1 - EPSILON

A row's sum is NumPy's ``add.reduce`` along a contiguous axis, which adds
pairwise: eight running sums, combined as a tree, then the rest in order
(``_row_sum``; rows of more than 128 entries, where NumPy splits the row in
halves first, run the twins). tests/kernels/test_softmax.py checks the bits
against the twins.
"""

from __future__ import annotations

import functools

import numpy as np

from gradstep import kernels
from gradstep.kernels import dense

#: The longest row the fused passes sum: NumPy adds longer ones in halves.
MAX_CLASSES = 128

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fusable(array: np.ndarray) -> bool:
    """Whether the fused passes fit a matrix of rows: C-contiguous and
    writeable (a read-only one takes the twins: numba would type it as one
    the shift cannot add a bias to), rank 2, float32 or float64, rows of 1 to
    ``MAX_CLASSES`` entries."""
    return (
        array.ndim == 2
        and 0 < array.shape[1] <= MAX_CLASSES
        and array.flags.carray
        and array.dtype in _FLOAT_TYPES
    )


# --- softmax -----------------------------------------------------------------------------
def bias_softmax(pre: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``pre += bias`` in place (without a bias, ``pre`` is left as it is),
    and the softmax of ``pre``'s rows as a new array."""
    if fusable(pre) and (bias is None or dense.bias_fits(bias, pre)):
        out = np.empty_like(pre)
        with_bias = bias is not None
        shift_arguments = (pre, pre[0] if bias is None else bias, out, with_bias)
        zero = pre.dtype.type(0)
        shift = kernels.ready_if_used(
            "softmax_shift", _compile_shift, shift_arguments, pre.size, fitting=True
        )
        normalize = kernels.ready_if_used(
            "softmax_normalize", _compile_normalize, (out, zero), pre.size, fitting=True
        )
        if shift is not None and normalize is not None:
            shift(*shift_arguments)
            np.exp(out, out=out)
            normalize(out, zero)
            return out
    return bias_softmax_numpy(pre, bias)


def bias_softmax_numpy(pre: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is not None:
        pre += bias
    return softmax_numpy(pre)


def softmax_numpy(x: np.ndarray, axis: int = -1) -> np.ndarray:
    # Subtracting the row max leaves softmax unchanged and keeps exp() <= 1.
    # (the ufuncs' reduce is what x.max and x.sum call, without their Python wrappers)
    shifted = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
    shifted /= np.add.reduce(shifted, axis=axis, keepdims=True)
    return shifted


# --- sparse categorical cross-entropy ------------------------------------------------------
def sparse_crossentropy_mean(labels: np.ndarray, output: np.ndarray, epsilon: float):
    """The mean of ``-log(clip(output[i, label_i] / sum(output's row)))`` and
    its slope at ``output`` (see the module's description); ``labels`` are
    integers already checked to lie in ``0 .. k - 1``."""
    if fusable(output) and labels.shape == output.shape[:1]:
        labels = kernel_labels(labels)
        per_sample = np.empty(output.shape[0], output.dtype)
        slope = np.empty_like(output)
        scalars = crossentropy_scalars(output.dtype, epsilon, output.shape[0])
        arguments = (output, labels, per_sample, slope, *scalars)
        kernel = kernels.ready_if_used(
            "sparse_crossentropy", _compile_crossentropy, arguments, output.size, fitting=True
        )
        if kernel is not None:
            kernel(*arguments)
            np.log(per_sample, out=per_sample)
            np.negative(per_sample, out=per_sample)
            return np.add.reduce(per_sample) / float(per_sample.size), slope
    return sparse_crossentropy_mean_numpy(labels, output, epsilon)


def kernel_labels(labels: np.ndarray) -> np.ndarray:
    """Labels as the cross-entropy kernel takes them: int64, C-contiguous,
    aligned and writeable (as the kernel compiled ahead of time is typed)."""
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    return labels if labels.flags.carray else labels.copy()


@functools.lru_cache(maxsize=64)
def crossentropy_scalars(dtype: np.dtype, epsilon: float, rows: int) -> tuple:
    """The cross-entropy kernel's scalars in ``dtype``: ``epsilon``, ``1 -
    epsilon``, ``1 / rows``, 0 and 1 (made once for a batch size)."""
    cast = dtype.type
    return cast(epsilon), cast(1 - epsilon), cast(1.0 / float(rows)), cast(0), cast(1)


def sparse_crossentropy_mean_numpy(labels: np.ndarray, output: np.ndarray, epsilon: float):
    labels = labels.astype(np.int64, copy=False)
    rows = np.arange(labels.shape[0])
    picked = output[rows, labels]
    # -log(clip(picked / sum, EPSILON, 1 - EPSILON)), with the ufuncs that
    # clip and sum call (min(max(x, low), high); add.reduce), in place
    per_sample = picked / np.add.reduce(output, axis=-1)
    np.maximum(per_sample, epsilon, out=per_sample)
    np.minimum(per_sample, 1 - epsilon, out=per_sample)
    np.log(per_sample, out=per_sample)
    np.negative(per_sample, out=per_sample)
    value = np.add.reduce(per_sample) / float(per_sample.size)
    # where clip passes picked through (its slope 1; the bounds count as inside)
    kept = ((picked >= epsilon) & (picked <= 1 - epsilon)).astype(output.dtype)
    slope = output * kept[..., None]
    slope[rows, labels] += -kept
    slope *= 1.0 / float(labels.shape[0])
    return value, slope


# --- the fused passes --------------------------------------------------------------------
def _compile_row_sum():
    @kernels.jit()
    def row_sum(values, i, zero):
        """NumPy's add.reduce of ``values[i]`` (at most 128 entries): from 0,
        in order below 8 entries, else eight running sums added as a tree and
        then the entries left over, in order."""
        n = values.shape[1]
        if n < 8:
            total = zero
            for j in range(n):
                total += values[i, j]
            return total
        r0, r1, r2, r3 = values[i, 0], values[i, 1], values[i, 2], values[i, 3]
        r4, r5, r6, r7 = values[i, 4], values[i, 5], values[i, 6], values[i, 7]
        j = 8
        while j < n - n % 8:
            r0 += values[i, j]
            r1 += values[i, j + 1]
            r2 += values[i, j + 2]
            r3 += values[i, j + 3]
            r4 += values[i, j + 4]
            r5 += values[i, j + 5]
            r6 += values[i, j + 6]
            r7 += values[i, j + 7]
            j += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while j < n:
            total += values[i, j]
            j += 1
        return zero + total  # the reduction starts at 0: a sum of -0s is +0

    return row_sum


def _compile_shift():
    @kernels.jit()
    def softmax_shift(pre, bias, out, with_bias):
        rows, classes = pre.shape
        for i in range(rows):
            if with_bias:
                for j in range(classes):
                    pre[i, j] += bias[j]
            largest = pre[i, 0]
            for j in range(1, classes):
                value = pre[i, j]
                # as np.maximum(largest, value): a NaN on either side is the result
                largest = largest if largest >= value or largest != largest else value
            for j in range(classes):
                out[i, j] = pre[i, j] - largest

    return softmax_shift


def _compile_normalize():
    row_sum = _compile_row_sum()

    @kernels.jit()
    def softmax_normalize(out, zero):
        rows, classes = out.shape
        for i in range(rows):
            total = row_sum(out, i, zero)
            for j in range(classes):
                out[i, j] /= total

    return softmax_normalize


def _compile_crossentropy():
    row_sum = _compile_row_sum()

    @kernels.jit()
    def sparse_crossentropy(output, labels, per_sample, slope, low, high, scale, zero, one):
        rows, classes = output.shape
        for i in range(rows):
            label = labels[i]
            if label < 0 or label >= classes:  # (checked before training: never out of bounds)
                per_sample[i] = np.nan
                for j in range(classes):
                    slope[i, j] = np.nan
                continue
            picked = output[i, label]
            q = picked / row_sum(output, i, zero)
            q = q if q >= low or q != q else low  # np.maximum(q, low)
            q = q if q <= high or q != q else high  # np.minimum(q, high)
            per_sample[i] = q
            kept = one if picked >= low and picked <= high else zero
            for j in range(classes):
                slope[i, j] = output[i, j] * kept
            slope[i, label] += -kept
            for j in range(classes):
                slope[i, j] *= scale

    return sparse_crossentropy
