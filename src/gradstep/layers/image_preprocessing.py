"""Image preprocessing layers: Resizing and CenterCrop (deterministic), and the
augmentation layers RandomFlip, RandomContrast, RandomRotation, RandomZoom,
RandomTranslation and RandomCrop (training only).

Resizing is separable: with ``R_h`` the ``(out_h, in_h)`` matrix of
interpolation weights along the height and ``R_w`` along the width, each
channel of an image ``X`` becomes ``Y = R_h X R_w^T``; backward, the slope
``G`` at ``Y`` gives ``dX = R_h^T G R_w``. Bilinear weights use half-pixel
centers, ``s = (i + 0.5) * in / out - 0.5`` clamped to ``[0, in - 1]``,
split between ``floor(s)`` and ``floor(s) + 1`` (JAX's
``image.resize`` without antialiasing, which Keras 3 calls); nearest takes
pixel ``floor((i + 0.5) * in / out)``.

The random layers act only in training (inside ``fit``, or called with
``training=True``, or called directly on arrays without ``training``, as
Keras's default is) and are the identity otherwise (``predict``, ``evaluate``,
``layer(x, training=False)``); they draw from the layer's generator
(its own with ``seed``, else the model's dropout generator), so a model's seed
reproduces a run. RandomRotation, RandomZoom and RandomTranslation draw one
transform per image and resample the image with it, as Keras's
``affine_transform`` does (see ``gradstep.layers.image_sampling``); what they
draw is theirs, how they resample it is Keras's, to float32 round-off.
These layers have no weights: their slope at the input is the transpose of
what they did (Keras, which treats them as preprocessing, would never ask).
"""

from __future__ import annotations

import numpy as np

from gradstep import config
from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.image_sampling import (
    FILL_MODES,
    INTERPOLATIONS,
    affine_sample,
    affine_sample_backward,
)
from gradstep.validation import is_int, is_real


def _data_format(label: str, value) -> str:
    if value is None:
        return (
            config.image_data_format()
            if hasattr(config, "image_data_format")
            else ("channels_last")
        )
    standard = value.lower() if isinstance(value, str) else value  # as Keras standardizes it
    if standard not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{label}: data_format must be 'channels_last' or 'channels_first', received {value!r}"
        )
    return standard


def _positive_int(label: str, argument: str, value) -> int:
    if not is_int(value) or value <= 0:
        raise ValueError(f"{label}: {argument} must be a positive integer, received {value!r}")
    return int(value)


def _is_pair(value) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(map(is_real, value))


def interpolation_matrix(size_in: int, size_out: int, interpolation: str) -> np.ndarray:
    """The ``(size_out, size_in)`` weights of one axis's resize (see the module)."""
    scale = size_in / size_out
    rows = np.arange(size_out)
    matrix = np.zeros((size_out, size_in))
    if interpolation == "nearest":
        source = np.minimum(np.floor((rows + 0.5) * scale).astype(int), size_in - 1)
        matrix[rows, source] = 1.0
        return matrix
    position = np.clip((rows + 0.5) * scale - 0.5, 0, size_in - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    fraction = position - low
    np.add.at(matrix, (rows, low), 1.0 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


class _ImageLayer(Layer):
    """Shared by the image layers: images ``(batch, h, w, c)`` (or ``(batch, c,
    h, w)`` channels-first), or one image without the batch axis."""

    supports_masking = False

    def _label(self) -> str:
        return f"{type(self).__name__} layer {self.name!r}"

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) not in (3, 4):
            raise ValueError(
                f"{self._label()} needs images of rank 3 (one image) or 4 (a batch), "
                f"received input shape {input_shape}"
            )

    def _spatial_axes(self, rank: int) -> tuple[int, int]:
        return (
            (rank - 2, rank - 1) if self.data_format == "channels_first" else (rank - 3, rank - 2)
        )


def _apply_axis(array: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` applied along ``axis`` of ``array``."""
    moved = np.moveaxis(array, axis, -1)
    return np.moveaxis(moved @ matrix.T.astype(array.dtype, copy=False), -1, axis)


@LAYERS.register("Resizing")
class Resizing(_ImageLayer):
    """Resize images to ``(height, width)``.

    Args:
        height: the output's size.
        width: the output's size.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        crop_to_aspect_ratio: first crop the largest centered window of the
            target's aspect ratio, so that the image is not distorted.
        pad_to_aspect_ratio: first pad equally on both sides with
            ``fill_value`` to the target's aspect ratio.
        fill_mode: ``'constant'`` only (as Keras on JAX).
        fill_value: the padding's value. Defaults to 0.
        antialias: must be False (Keras's default; the antialiasing filter is
            not written here).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        label = self._label()
        self.height = _positive_int(label, "height", height)
        self.width = _positive_int(label, "width", width)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(
                f"{label}: interpolation must be 'bilinear' or 'nearest' (the ones written "
                f"here), received {interpolation!r}"
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"{label}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True"
            )
        if fill_mode != "constant":
            raise ValueError(f"{label}: fill_mode must be 'constant', received {fill_mode!r}")
        if antialias:
            raise ValueError(f"{label}: antialias=True is not supported by gradstep")
        if not is_real(fill_value):
            raise ValueError(f"{label}: fill_value must be a number, received {fill_value!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = False
        self.data_format = _data_format(label, data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h_axis, w_axis = self._spatial_axes(len(shape))
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def _window(self, height: int, width: int):
        """``(top, left, crop_h, crop_w, pad_h, pad_w)`` of Keras's aspect-ratio step."""
        th, tw = self.height, self.width
        if self.crop_to_aspect_ratio:
            crop_h = max(min(height, int(float(width * th) / tw)), 1)
            crop_w = max(min(width, int(float(height * tw) / th)), 1)
            return int((height - crop_h) / 2), int((width - crop_w) / 2), crop_h, crop_w, 0, 0
        if self.pad_to_aspect_ratio:
            pad_h = int((max(height, int(float(width * th) / tw)) - height) / 2)
            pad_w = int((max(width, int(float(height * tw) / th)) - width) / 2)
            return 0, 0, height, width, pad_h, pad_w
        return 0, 0, height, width, 0, 0

    def forward(self, x, training=False):
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(self.dtype or config.floatx())
        images = x.astype(dtype, copy=False)
        h_axis, w_axis = self._spatial_axes(images.ndim)
        top, left, crop_h, crop_w, pad_h, pad_w = self._window(
            images.shape[h_axis], images.shape[w_axis]
        )
        index = [slice(None)] * images.ndim
        index[h_axis], index[w_axis] = slice(top, top + crop_h), slice(left, left + crop_w)
        window = images[tuple(index)]
        if pad_h or pad_w:
            widths = [(0, 0)] * images.ndim
            widths[h_axis], widths[w_axis] = (pad_h, pad_h), (pad_w, pad_w)
            window = np.pad(window, widths, constant_values=self.fill_value)
        rows = interpolation_matrix(window.shape[h_axis], self.height, self.interpolation)
        columns = interpolation_matrix(window.shape[w_axis], self.width, self.interpolation)
        output = _apply_axis(_apply_axis(window, rows, h_axis), columns, w_axis)
        if x.dtype.kind in "iu":  # Keras rounds and saturates back to the input's integers
            info = np.iinfo(x.dtype)
            output = np.clip(np.round(output), info.min, info.max).astype(x.dtype)
        saved = (x.shape, tuple(index), (pad_h, pad_w), rows, columns)
        return output, saved

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        shape, index, (pad_h, pad_w), rows, columns = saved
        h_axis, w_axis = self._spatial_axes(len(shape))
        grad = _apply_axis(_apply_axis(grad_wrt_output, rows.T, h_axis), columns.T, w_axis)
        if pad_h or pad_w:
            inner = [slice(None)] * len(shape)
            inner[h_axis] = slice(pad_h, grad.shape[h_axis] - pad_h)
            inner[w_axis] = slice(pad_w, grad.shape[w_axis] - pad_w)
            grad = grad[tuple(inner)]
        full = np.zeros(shape, dtype=grad_wrt_output.dtype)
        full[index] = grad
        return full, {}

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": self.data_format,
        }


@LAYERS.register("CenterCrop")
class CenterCrop(_ImageLayer):
    """The centered ``(height, width)`` window of each image, starting at
    ``((h - height) // 2, (w - width) // 2)``; an image smaller than the
    target along an axis is instead resized to it (bilinear, after cropping
    to the target's aspect ratio), as Keras does. Backward puts the slope
    back into the window (zeros elsewhere), or through the resize.

    Args:
        height: the output's size.
        width: the output's size.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        label = self._label()
        self.height = _positive_int(label, "height", height)
        self.width = _positive_int(label, "width", width)
        self.data_format = _data_format(label, data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h_axis, w_axis = self._spatial_axes(len(shape))
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def _resizer(self) -> Resizing:
        return Resizing(
            self.height,
            self.width,
            crop_to_aspect_ratio=True,
            data_format=self.data_format,
            name=f"{self.name}_resize",
        )

    def forward(self, x, training=False):
        h_axis, w_axis = self._spatial_axes(x.ndim)
        height, width = x.shape[h_axis], x.shape[w_axis]
        if height < self.height or width < self.width:
            resizer = self._resizer()
            output, saved = resizer.forward(x)
            return output, ("resize", resizer, saved)
        top, left = (height - self.height) // 2, (width - self.width) // 2
        index = [slice(None)] * x.ndim
        index[h_axis] = slice(top, top + self.height)
        index[w_axis] = slice(left, left + self.width)
        return x[tuple(index)], ("crop", x.shape, tuple(index))

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        if saved[0] == "resize":
            return saved[1].backward(saved[2], grad_wrt_output)
        _, shape, index = saved
        full = np.zeros(shape, dtype=grad_wrt_output.dtype)
        full[index] = grad_wrt_output
        return full, {}

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "data_format": self.data_format,
        }


# --- augmentation ---------------------------------------------------------------------
class _RandomImageLayer(_ImageLayer):
    draws_noise = True
    training_default = True  # as Keras: a direct call without training= augments

    def _seeded(self, seed) -> None:
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


@LAYERS.register("RandomFlip")
class RandomFlip(_RandomImageLayer):
    """In training, flip each image, with probability 1/2 drawn per image,
    left-right (``'horizontal'``), top-bottom (``'vertical'``) or both at once
    (``'horizontal_and_vertical'``: one draw flips both axes, a half turn, as
    Keras 3 does); backward flips the slope the same way. Identity in inference.

    Args:
        mode: ``'horizontal'``, ``'vertical'`` or ``'horizontal_and_vertical'`` (default).
        seed: for the layer's own generator (else the model's).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in _FLIP_MODES:
            raise ValueError(
                f"{self._label()}: mode must be one of {', '.join(map(repr, _FLIP_MODES))}, "
                f"received {mode!r}"
            )
        self.mode = mode
        self.data_format = _data_format(self._label(), data_format)
        self._seeded(seed)

    def forward(self, x, training=False):
        if not training:
            return x, None
        batched = x if x.ndim == 4 else x[None]
        h_axis, w_axis = self._spatial_axes(4)
        flips = self._init_generator().random(len(batched)) <= 0.5
        no_flips = np.zeros_like(flips)
        flip_h = flips if "horizontal" in self.mode else no_flips
        flip_v = flips if "vertical" in self.mode else no_flips
        output = self._flip(batched, flip_h, flip_v, h_axis, w_axis)
        return (output if x.ndim == 4 else output[0]), (flip_h, flip_v, x.ndim)

    @staticmethod
    def _flip(images, flip_h, flip_v, h_axis, w_axis):
        output = images.copy()
        output[flip_h] = np.flip(output[flip_h], axis=w_axis)
        output[flip_v] = np.flip(output[flip_v], axis=h_axis)
        return output

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if saved is None:
            return grad_wrt_output, {}
        flip_h, flip_v, rank = saved
        batched = grad_wrt_output if rank == 4 else grad_wrt_output[None]
        h_axis, w_axis = self._spatial_axes(4)
        grad = self._flip(batched, flip_h, flip_v, h_axis, w_axis)
        return (grad if rank == 4 else grad[0]), {}

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "seed": self.seed,
            "data_format": self.data_format,
        }


@LAYERS.register("RandomContrast")
class RandomContrast(_RandomImageLayer):
    """In training, scale each image's deviation from its per-channel mean by a
    factor ``f`` drawn uniformly per image from ``[1 - lower, 1 + upper]``:
    ``y = clip((x - m) * f + m, value_range)``, ``m`` the mean over height and
    width. With ``y = f x + (1 - f) m``, backward is ``dx = f g + (1 - f)
    mean(g)`` over each channel, ``g`` zero where the output was clipped.
    Identity in inference.

    Args:
        factor: a number ``a`` in [0, 1], which Keras 3 reads as ``(lower,
            upper) = (0, a)`` (the factors ``[1, 1 + a]``: contrast only
            raised), or a pair ``(lower, upper)`` of numbers in [0, 1] (the
            factors ``[1 - lower, 1 + upper]``).
        value_range: the ``(low, high)`` the output is clipped to. Defaults to (0, 255).
        seed: for the layer's own generator.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        label = self._label()
        factor = factor or 0.0
        if is_real(factor) and 0 <= factor <= 1:
            lower, upper = 0.0, float(factor)
        elif _is_pair(factor) and all(0 <= value <= 1 for value in factor):
            lower, upper = sorted(float(value) for value in factor)
        else:
            raise ValueError(
                f"{label}: factor must be a number in [0, 1] or a pair (lower, upper) of "
                f"numbers in [0, 1], received factor={factor!r}"
            )
        if not _is_pair(value_range) or value_range[0] >= value_range[1]:
            raise ValueError(
                f"{label}: value_range must be a pair (low, high) with low < high, "
                f"received {value_range!r}"
            )
        self.factor = (lower, upper)
        self.value_range = tuple(value_range)
        self.data_format = _data_format(label, data_format)
        self._seeded(seed)

    def _image_axes(self) -> tuple[int, int]:
        return self._spatial_axes(4)

    def forward(self, x, training=False):
        if not training:
            return x, None
        batched = x if x.ndim == 4 else x[None]
        lower, upper = self.factor
        factors = self._init_generator().uniform(1 - lower, 1 + upper, len(batched))
        factors = factors.astype(batched.dtype).reshape(-1, 1, 1, 1)
        means = batched.mean(axis=self._image_axes(), keepdims=True)
        unclipped = (batched - means) * factors + means
        low, high = self.value_range
        output = np.clip(unclipped, low, high)
        inside = (unclipped >= low) & (unclipped <= high)
        return (output if x.ndim == 4 else output[0]), (factors, inside, x.ndim)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if saved is None:
            return grad_wrt_output, {}
        factors, inside, rank = saved
        grad = (grad_wrt_output if rank == 4 else grad_wrt_output[None]) * inside
        # y = f x + (1 - f) m(x): dx = f g + (1 - f) mean(g) over each channel.
        mean = grad.mean(axis=self._image_axes(), keepdims=True)
        grad = factors * grad + (1 - factors) * mean
        return (grad if rank == 4 else grad[0]), {}

    def get_config(self):
        return {
            **super().get_config(),
            "data_format": self.data_format,
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


# --- geometric augmentation -------------------------------------------------------------
def _factor_range(label: str, argument: str, factor, low: float, low_open: bool = False):
    """``(lower, upper)`` of a Keras factor: a number ``f`` gives ``(-|f|, |f|)``,
    a pair is sorted; every number must lie in ``[low, 1]`` (``(low, 1]`` when
    ``low_open``), as Keras's RandomZoom and RandomTranslation check."""
    interval = f"{'(' if low_open else '['}{low:g}, 1]"

    def inside(value) -> bool:
        return (value > low if low_open else value >= low) and value <= 1

    if is_real(factor) and inside(factor):
        return -abs(float(factor)), abs(float(factor))
    if _is_pair(factor) and all(map(inside, factor)):
        lower, upper = sorted(float(v) for v in factor)
        return lower, upper
    raise ValueError(
        f"{label}: {argument} must be a number in {interval} or a pair (lower, upper) of "
        f"such numbers, received {argument}={factor!r}"
    )


def _rotation_range(label: str, factor):
    """Keras's RandomRotation factor (fractions of a full turn): a number in
    [-1, 1] gives ``(-|f|, |f|)``; a pair is sorted, and Keras refuses it only
    when its first number is above 1 or its second below -1."""
    factor = factor or 0.0
    if is_real(factor) and -1 <= factor <= 1:
        return -abs(float(factor)), abs(float(factor))
    if _is_pair(factor) and factor[0] <= 1 and factor[1] >= -1:
        lower, upper = sorted(float(v) for v in factor)
        return lower, upper
    raise ValueError(
        f"{label}: factor must be a number in [-1, 1] or a pair (lower, upper), as fractions "
        f"of a full turn, received factor={factor!r}"
    )


def _float_images(layer: Layer, x: np.ndarray) -> np.ndarray:
    """Images as floats (Keras casts them to the layer's compute dtype)."""
    if x.dtype.kind == "f":
        return x
    return x.astype(layer.dtype or config.floatx())


class _AffineImageLayer(_RandomImageLayer):
    """Shared by RandomRotation, RandomZoom and RandomTranslation: in training,
    draw one transform per image and resample the image with it
    (``image_sampling.affine_sample``); backward sends each output pixel's
    slope back to the input pixels it was interpolated from. Inference is the
    identity (the slope passes through unchanged)."""

    def _affine_options(self, fill_mode, interpolation, seed, fill_value, data_format) -> None:
        label = self._label()
        if fill_mode not in FILL_MODES:
            raise ValueError(
                f"{label}: fill_mode must be one of {', '.join(map(repr, FILL_MODES))}, "
                f"received {fill_mode!r}"
            )
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"{label}: interpolation must be one of "
                f"{', '.join(map(repr, INTERPOLATIONS))}, received {interpolation!r}"
            )
        if not is_real(fill_value):
            raise ValueError(f"{label}: fill_value must be a number, received {fill_value!r}")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value
        self.data_format = _data_format(label, data_format)
        self._seeded(seed)

    def _image_size(self, shape) -> tuple[int, int]:
        h_axis, w_axis = self._spatial_axes(len(shape))
        return shape[h_axis], shape[w_axis]

    def draw_transformation(self, shape, generator: np.random.Generator) -> dict:
        """One random transform per image of a batch of ``shape`` (Keras's
        ``get_random_transformation``; the keys are Keras's)."""
        raise NotImplementedError

    def transform_matrices(self, transformation: dict, height: int, width: int, dtype):
        """The ``(n, 8)`` transforms (see ``image_sampling``) of ``transformation``."""
        raise NotImplementedError

    def forward(self, x, training=False):
        images = _float_images(self, x)
        if not training:
            return images, None
        transformation = self.draw_transformation(images.shape, self._init_generator())
        return self._transform(images, transformation)

    def transform_images(self, images, transformation: dict) -> np.ndarray:
        """``images`` transformed by a given ``transformation`` (as
        ``draw_transformation`` returns): the deterministic half of a training call."""
        return self._transform(_float_images(self, np.asarray(images)), transformation)[0]

    def _transform(self, images, transformation):
        batched = images if images.ndim == 4 else images[None]
        if self.data_format == "channels_first":
            batched = batched.transpose(0, 2, 3, 1)
        height, width = batched.shape[1:3]
        matrices = self.transform_matrices(transformation, height, width, batched.dtype)
        output, plan = affine_sample(
            batched, matrices, self.interpolation, self.fill_mode, self.fill_value
        )
        return self._unbatch(output, images.ndim), (plan, images.ndim)

    def _unbatch(self, batched, rank):
        if self.data_format == "channels_first":
            batched = batched.transpose(0, 3, 1, 2)
        return batched if rank == 4 else batched[0]

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if saved is None:
            return grad_wrt_output, {}
        if not input_gradient:
            return None, {}
        plan, rank = saved
        grad = grad_wrt_output if rank == 4 else grad_wrt_output[None]
        if self.data_format == "channels_first":
            grad = grad.transpose(0, 2, 3, 1)
        return self._unbatch(affine_sample_backward(plan, grad), rank), {}

    def get_config(self):
        return {
            **super().get_config(),
            "data_format": self.data_format,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }


@LAYERS.register("RandomRotation")
class RandomRotation(_AffineImageLayer):
    """In training, rotate each image about its center by an angle drawn
    uniformly from ``[360 lower, 360 upper]`` degrees (positive is
    counter-clockwise), filling the corners by ``fill_mode``; identity in
    inference. With ``t`` the angle and ``(cx, cy) = ((w - 1) / 2, (h - 1) /
    2)``, the output at ``(x, y)`` is the input at

        x_in = cos t (x - cx) - sin t (y - cy) + cx,
        y_in = sin t (x - cx) + cos t (y - cy) + cy

    (Keras's matrix, resampled as ``image_sampling`` says; backward is that
    resampling's transpose, the identity in inference).

    Args:
        factor: a number ``f`` (the angles ``[-f, f]`` of a full turn) or a
            pair ``(lower, upper)``; ``0.1`` rotates by up to 36 degrees.
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: for the layer's own generator (else the model's).
        fill_value: the value outside the image with ``fill_mode='constant'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.factor = _rotation_range(self._label(), factor)
        self._affine_options(fill_mode, interpolation, seed, fill_value, data_format)

    def draw_transformation(self, shape, generator):
        count = shape[0] if len(shape) == 4 else 1
        lower, upper = self.factor
        return {"angle": generator.uniform(lower * 360.0, upper * 360.0, size=count)}

    def transform_matrices(self, transformation, height, width, dtype):
        kind = np.dtype(dtype).type
        angle = np.asarray(transformation["angle"], dtype=dtype) * kind(np.pi / 180.0)
        cx, cy = kind(0.5) * kind(width - 1), kind(0.5) * kind(height - 1)
        cos, sin = np.cos(angle), np.sin(angle)
        zero = np.zeros_like(angle)
        # Keras's _compute_affine_matrix with no translation, scale 1 and no shear.
        a2 = (cx - cx * cos) - cy * -sin
        b2 = (cy - cx * sin) - cy * cos
        return np.stack([cos, -sin, a2, sin, cos, b2, zero, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@LAYERS.register("RandomZoom")
class RandomZoom(_AffineImageLayer):
    """In training, zoom each image about its center: the output at ``(x,
    y)`` is the input at ``(zx (x - cx) + cx, zy (y - cy) + cy)``, ``(cx, cy)
    = ((w - 1) / 2, (h - 1) / 2)``, with ``zy = 1 + f`` for ``f`` drawn
    uniformly per image from the height factor's range (and ``zx`` from the
    width factor's, or ``zx = zy`` without one, keeping the aspect ratio). A
    positive factor zooms out (shows more, filled by ``fill_mode``), a
    negative one zooms in. Identity in inference; backward is the
    resampling's transpose (``image_sampling``).

    Args:
        height_factor: a number ``f`` (the range ``[-f, f]``) or a pair
            ``(lower, upper)``, each in (-1, 1]; ``(-0.3, -0.2)`` zooms in by 20-30%.
        width_factor: the same for the width; None (default) zooms both axes alike.
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: for the layer's own generator (else the model's).
        fill_value: the value outside the image with ``fill_mode='constant'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        label = self._label()
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _factor_range(
            label, "height_factor", height_factor, -1.0, low_open=True
        )
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _factor_range(
                label, "width_factor", width_factor, -1.0, low_open=True
            )
        self._affine_options(fill_mode, interpolation, seed, fill_value, data_format)

    def draw_transformation(self, shape, generator):
        size = (shape[0] if len(shape) == 4 else 1, 1)
        height_zoom = generator.uniform(1 + self.height_lower, 1 + self.height_upper, size)
        width_zoom = (
            height_zoom
            if self.width_factor is None
            else generator.uniform(1 + self.width_lower, 1 + self.width_upper, size)
        )
        return {"height_zoom": height_zoom, "width_zoom": width_zoom}

    def transform_matrices(self, transformation, height, width, dtype):
        kind = np.dtype(dtype).type
        zoom_x = np.asarray(transformation["width_zoom"], dtype=dtype).reshape(-1)
        zoom_y = np.asarray(transformation["height_zoom"], dtype=dtype).reshape(-1)
        x_offset = ((kind(width) - 1) / 2) * (1 - zoom_x)
        y_offset = ((kind(height) - 1) / 2) * (1 - zoom_y)
        zero = np.zeros_like(zoom_x)
        return np.stack([zoom_x, zero, x_offset, zero, zoom_y, y_offset, zero, zero], axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


@LAYERS.register("RandomTranslation")
class RandomTranslation(_AffineImageLayer):
    """In training, shift each image by ``dy = f h`` rows and ``dx = g w``
    columns, ``f`` and ``g`` drawn uniformly per image from the height and
    width factors' ranges (positive moves the picture down and right): the
    output at ``(x, y)`` is the input at ``(x - dx, y - dy)``, filled by
    ``fill_mode`` where that falls outside. Identity in inference; backward
    is the resampling's transpose (``image_sampling``).

    Args:
        height_factor: a number ``f`` (the range ``[-f, f]`` of the height)
            or a pair ``(lower, upper)``, each in [-1, 1].
        width_factor: the same for the width.
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: for the layer's own generator (else the model's).
        fill_value: the value outside the image with ``fill_mode='constant'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        label = self._label()
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _factor_range(
            label, "height_factor", height_factor, -1.0
        )
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _factor_range(
            label, "width_factor", width_factor, -1.0
        )
        self._affine_options(fill_mode, interpolation, seed, fill_value, data_format)

    def draw_transformation(self, shape, generator):
        size = (shape[0] if len(shape) == 4 else 1, 1)
        height, width = self._image_size(shape)
        down = generator.uniform(self.height_lower, self.height_upper, size) * height
        right = generator.uniform(self.width_lower, self.width_upper, size) * width
        return {"translations": np.concatenate([right, down], axis=1)}

    def transform_matrices(self, transformation, height, width, dtype):
        shifts = np.asarray(transformation["translations"], dtype=dtype).reshape(-1, 2)
        one, zero = np.ones(len(shifts), dtype), np.zeros(len(shifts), dtype)
        return np.stack([one, zero, -shifts[:, 0], zero, one, -shifts[:, 1], zero, zero], axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


@LAYERS.register("RandomCrop")
class RandomCrop(_RandomImageLayer):
    """In training, crop a ``(height, width)`` window at one random place for
    the whole batch: its top row drawn uniformly from ``0 .. h - height`` and
    its left column from ``0 .. w - width``. When the image is not larger
    than the target along both axes, Keras's fallback runs instead: the
    corner of the largest centered window of the target's aspect ratio,
    ``top = int((h - min(h, int(w height / width))) / 2)`` (``left`` alike),
    starts a ``(height, width)`` window (cut at the image's edges), which is
    resized (bilinear) to the target if it is smaller. Backward puts the
    slope back into the window (zeros elsewhere), through the resize's
    transpose when there was one.

    In inference the layer returns its input unchanged, not cropped: that is
    what Keras 3.15.1 does (its ``transform_images`` acts only in training,
    keras-team/keras#21868), although its ``compute_output_shape``, which
    this layer follows, gives ``(height, width)``; a model that predicts must
    then not depend on the crop's size (or crop again with CenterCrop).

    Args:
        height: the output's height.
        width: the output's width.
        seed: for the layer's own generator (else the model's).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        label = self._label()
        self.height = _positive_int(label, "height", height)
        self.width = _positive_int(label, "width", width)
        self.data_format = _data_format(label, data_format)
        self._seeded(seed)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h_axis, w_axis = self._spatial_axes(len(shape))
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def forward(self, x, training=False):
        if not training:
            return x, None
        images = _float_images(self, x)
        h_axis, w_axis = self._spatial_axes(images.ndim)
        height, width = images.shape[h_axis], images.shape[w_axis]
        if height > self.height and width > self.width:
            generator = self._init_generator()
            top = int(generator.uniform(0, height - self.height + 1))
            left = int(generator.uniform(0, width - self.width + 1))
            return self._crop(images, (top, left))
        return self._crop(images, self._fallback_corner(height, width))

    def _fallback_corner(self, height: int, width: int) -> tuple[int, int]:
        """Keras's corner for an image not larger than the target (see the class)."""
        crop_height = max(min(height, int(float(width * self.height) / self.width)), 1)
        crop_width = max(min(width, int(float(height * self.width) / self.height)), 1)
        return int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)

    def transform_images(self, images, transformation) -> np.ndarray:
        """``images`` cropped at a given ``(top, left)``, the window a training call draws."""
        return self._crop(_float_images(self, np.asarray(images)), transformation)[0]

    def _crop(self, images, corner):
        """The ``(height, width)`` window at ``corner``, resized to the target
        when the image's edge cuts it short (as Keras does)."""
        top, left = corner
        h_axis, w_axis = self._spatial_axes(images.ndim)
        index = [slice(None)] * images.ndim
        index[h_axis] = slice(top, top + self.height)
        index[w_axis] = slice(left, left + self.width)
        index = tuple(index)
        window = images[index]
        if window.shape[h_axis] == self.height and window.shape[w_axis] == self.width:
            return window, (images.shape, index, None)
        resizer = Resizing(
            self.height, self.width, data_format=self.data_format, name=f"{self.name}_resize"
        )
        output, resized = resizer.forward(window)
        return output, (images.shape, index, (resizer, resized))

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if saved is None:
            return grad_wrt_output, {}
        if not input_gradient:
            return None, {}
        shape, index, resize = saved
        grad = grad_wrt_output
        if resize is not None:
            resizer, resized = resize
            grad = resizer.backward(resized, grad_wrt_output)[0]
        full = np.zeros(shape, dtype=grad_wrt_output.dtype)
        full[index] = grad
        return full, {}

    def get_config(self):
        return {
            **super().get_config(),
            "data_format": self.data_format,
            "height": self.height,
            "width": self.width,
            "seed": self.seed,
        }
