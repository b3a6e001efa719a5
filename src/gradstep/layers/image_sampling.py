"""Resampling images at transformed coordinates: the geometric step that
RandomRotation, RandomZoom and RandomTranslation share (Keras 3's
``ops.image.affine_transform``, which calls JAX's
``scipy.ndimage.map_coordinates``).

A transform is Keras's eight numbers ``[a0, a1, a2, b0, b1, b2, c0, c1]``
per image (``c0 = c1 = 0``: JAX ignores them, and so does this module). The
output pixel at row ``y``, column ``x`` is the input sampled at

    x_in = a0 x + a1 y + a2,    y_in = b0 x + b1 y + b2.

``interpolation='nearest'`` takes the pixel at ``round(y_in), round(x_in)``
(halves away from zero); ``'bilinear'`` mixes the four pixels around the
point with weights ``(1 - fy)(1 - fx)``, ``(1 - fy) fx``, ``fy (1 - fx)``,
``fy fx``, where ``fy = y_in - floor(y_in)``. A pixel index outside the image
is mapped back in by ``fill_mode`` (with ``size`` pixels along the axis):

- ``'reflect'``: ``d c b a | a b c d | d c b a`` (about the outer edge);
- ``'wrap'``: ``a b c d | a b c d | a b c d`` (``i mod size``);
- ``'nearest'``: ``a a a a | a b c d | d d d d`` (clipped);
- ``'constant'``: the pixel is ``fill_value``.

So each output pixel is ``Y[p] = sum_k w_k(p) X[i_k(p)] (+ fill_value times
the weights of the outside pixels, for 'constant')``: linear in the image for
a fixed transform. Backward is its transpose, ``dX[i] = sum over (p, k) with
i_k(p) = i of w_k(p) G[p]``: each output pixel's slope goes back to the input
pixels it was mixed from, with the same weights (nothing to a filled pixel).
The transform itself gets no slope (it is drawn, not learned).
"""

from __future__ import annotations

import numpy as np

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def _round_half_away_from_zero(values: np.ndarray) -> np.ndarray:
    rounded = np.round(values)  # halves to even; move the exact halves outwards
    halves = np.abs(values - np.trunc(values)) == 0.5
    return np.where(halves, np.trunc(values) + np.sign(values), rounded)


def _mirror(index: np.ndarray, size: int) -> np.ndarray:
    half_period = size - 1
    return np.abs((index + half_period) % (2 * half_period) - half_period)


def _fixed_index(index: np.ndarray, size: int, fill_mode: str) -> np.ndarray:
    """``index`` mapped into ``[0, size)`` by ``fill_mode`` (JAX's index fixers;
    for 'constant' the index is only clipped, the pixel is masked later)."""
    if fill_mode == "reflect":
        return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2
    if fill_mode == "wrap":
        return index % size
    return np.clip(index, 0, size - 1)


def _axis_nodes(coordinate: np.ndarray, size: int, interpolation: str, fill_mode: str):
    """``[(index, weight, inside)]`` along one axis: the pixel(s) a coordinate
    is read from, their interpolation weights, and whether each lies inside the
    image (None when the fill mode maps every index in)."""
    if interpolation == "nearest":
        nodes = [(_round_half_away_from_zero(coordinate).astype(np.int64), None)]
    else:
        lower = np.floor(coordinate)
        upper_weight = coordinate - lower
        lower = lower.astype(np.int64)
        nodes = [(lower, 1 - upper_weight), (lower + 1, upper_weight)]
    fixed = []
    for index, weight in nodes:
        inside = (index >= 0) & (index < size) if fill_mode == "constant" else None
        fixed.append((_fixed_index(index, size, fill_mode), weight, inside))
    return fixed


def affine_sample(
    images: np.ndarray,
    transforms: np.ndarray,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
):
    """``(output, plan)``: ``images`` ``(n, h, w, c)`` (floats) resampled by
    ``transforms`` ``(n, 8)`` (see the module); ``plan`` is what
    ``affine_sample_backward`` needs.

    The coordinates and weights are computed in the images' dtype, in the
    order JAX computes them, so that float32 results round as Keras's do."""
    count, height, width, channels = images.shape
    dtype = images.dtype
    rows = np.arange(height, dtype=dtype)[None, :, None]
    columns = np.arange(width, dtype=dtype)[None, None, :]
    a0, a1, a2, b0, b1, b2 = (transforms[:, k].astype(dtype).reshape(count, 1, 1) for k in range(6))
    x_in = (rows * a1 + columns * a0) + a2
    y_in = (rows * b1 + columns * b0) + b2
    y_nodes = _axis_nodes(y_in, height, interpolation, fill_mode)
    x_nodes = _axis_nodes(x_in, width, interpolation, fill_mode)
    pixels = images.reshape(-1, channels)
    image_offset = (np.arange(count) * (height * width)).reshape(count, 1, 1)
    fill = dtype.type(fill_value)
    output = None
    plan = []
    for y_index, y_weight, y_inside in y_nodes:
        for x_index, x_weight, x_inside in x_nodes:
            flat = (image_offset + y_index * width + x_index).reshape(-1)
            weight = _product(y_weight, x_weight, y_index.shape, dtype)
            values = np.take(pixels, flat, axis=0).reshape(count, height, width, channels)
            inside = None if y_inside is None else (y_inside & x_inside)
            if inside is not None:
                values = np.where(inside[..., None], values, fill)
            term = np.multiply(weight[..., None], values, out=values)
            if output is None:
                output = term
            else:
                output += term
            slope_weight = weight if inside is None else np.where(inside, weight, 0)
            plan.append((flat, slope_weight.reshape(-1)))
    return output.astype(dtype, copy=False), (images.shape, plan)


def _product(y_weight, x_weight, shape, dtype) -> np.ndarray:
    if y_weight is None:  # nearest: every weight is 1
        return np.ones(shape, dtype=dtype)
    return y_weight * x_weight


def affine_sample_backward(plan, grad_wrt_output: np.ndarray) -> np.ndarray:
    """The slope at the images of ``affine_sample`` (its transpose, see the module)."""
    shape, terms = plan
    channels = shape[-1]
    grad = grad_wrt_output.reshape(-1, channels)
    pixel_count = int(np.prod(shape[:-1]))
    slope = np.empty((pixel_count, channels), dtype=np.float64)
    for channel in range(channels):
        column = grad[:, channel]
        slope[:, channel] = sum(
            np.bincount(flat, weights=weight * column, minlength=pixel_count)
            for flat, weight in terms
        )
    return slope.astype(grad_wrt_output.dtype, copy=False).reshape(shape)
