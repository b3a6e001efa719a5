"""The convolutions' window kernels (numba) and their NumPy twins give the
same bits: im2col and col2im over ranks 1 and 2, strides, dilations, groups
and strided canvases (a channels-first input seen channels-last), and the
passes around a ReLU, in float32 and float64."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import windows

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


def _both(function):
    """``function()`` with the fused kernels, then with the twins."""
    results = []
    for backend in ("numba", "numpy"):
        kernels.set_backend(backend)
        results.append(function())
    return results


# (canvas shape channels-last, taps, strides, dilations, groups)
WINDOWS = [
    ((3, 9, 8, 6), (3, 2), (2, 1), (1, 1), 1),
    ((2, 9, 9, 8), (3, 3), (1, 1), (2, 2), 2),
    ((2, 7, 7, 12), (2, 2), (2, 2), (1, 1), 3),
    ((2, 8, 7, 3), (4, 3), (3, 2), (1, 1), 1),
    ((2, 8, 7, 4), (2, 2), (1, 1), (1, 1), 4),  # one channel per group: the twins run
    ((2, 11, 6), (3,), (3,), (1,), 2),
    ((2, 10, 4), (4,), (1,), (2,), 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize(("shape", "taps", "strides", "dilations", "groups"), WINDOWS)
def test_im2col_and_col2im_twins_agree_to_the_bit(
    shape, taps, strides, dilations, groups, channels_first, dtype
):
    rng = np.random.default_rng(0)
    canvas = rng.normal(size=shape).astype(dtype)
    if channels_first:  # a strided view, as a channels-first input is read
        canvas = np.moveaxis(np.ascontiguousarray(np.moveaxis(canvas, -1, 1)), 1, -1)
    windows_per_axis = [
        (n - (t - 1) * d - 1) // s + 1
        for n, t, s, d in zip(shape[1:-1], taps, strides, dilations, strict=True)
    ]
    cols_shape = (groups, shape[0], *windows_per_axis, *taps, shape[-1] // groups)
    slopes = rng.normal(size=cols_shape).astype(dtype)

    def run():
        cols = np.empty(cols_shape, dtype)
        windows.im2col(canvas, cols, strides, dilations)
        added = np.zeros(shape, dtype)
        windows.col2im(slopes, added, strides, dilations)
        return cols, added

    (fused_cols, fused_added), (twin_cols, twin_added) = _both(run)
    np.testing.assert_array_equal(fused_cols, twin_cols)
    np.testing.assert_array_equal(fused_added, twin_added)
    # and what they compute: window (0, ..., 0) of group 0 is the canvas's corner
    spans = zip(taps, dilations, strict=True)
    corner = canvas[(0, *(slice(0, (t - 1) * d + 1, d) for t, d in spans))]
    np.testing.assert_array_equal(
        twin_cols[(0, 0, *(0,) * len(taps))], corner[..., : shape[-1] // groups]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_passes_twins_agree_to_the_bit(dtype):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4099, 7)).astype(dtype)
    z[0, :3] = [0.0, -0.0, np.nan]
    bias = rng.normal(size=7).astype(dtype)
    bias[:3] = 0
    grad = rng.normal(size=z.shape).astype(dtype)

    def run():
        output = z.copy()
        windows.bias_relu(output, bias)
        return output, *windows.relu_slope(grad, output)

    fused, twin = _both(run)
    for a, b in zip(fused, twin, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
        assert (np.signbit(a) == np.signbit(b)).all()
    output, slope, bias_slope = twin
    np.testing.assert_array_equal(output[0], np.maximum(z[0] + bias, 0))
    np.testing.assert_array_equal(slope, grad * (z + bias > 0))
