r"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization.

Each standardizes its input over some axes and applies a learned affine map
per feature, as Keras 3 computes it:

    inv = rsqrt(variance + epsilon) * gamma
    y   = x * inv + (beta - mean * inv)          (= gamma * x_hat + beta)

with ``x_hat = (x - mean) / sqrt(variance + epsilon)``, the mean and the
population (biased) variance taken over the normalized axes. They differ in
those axes: BatchNormalization over every axis but its feature axis (the
batch included), LayerNormalization over the given feature axes of each
sample, GroupNormalization over each group of channels (and the spatial
axes) of each sample.

Backward, with ``g`` the slope at ``y``, ``m(.)`` the mean over the
normalized axes and ``s = rsqrt(variance + epsilon)``: the weights get
``d gamma = sum(g * x_hat)`` and ``d beta = sum(g)`` over the axes they are
shared across; when the statistics come from ``x`` itself the input gets

    dx = s * (g' - m(g') - x_hat * m(g' * x_hat)),    g' = g * gamma,

the slope through the mean and the variance included; when they are fixed
(BatchNormalization in inference) simply ``dx = g * gamma * s``.
BatchNormalization given a mask in training takes its moments over the
unmasked entries (``standardize_masked`` has the slope).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gradstep import config, constraints, initializers, regularizers
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_bool, check_real, is_int


def standardize(x_hat_slope, x_hat, inv, axes):
    """The slope at ``x`` of ``x_hat = (x - m(x)) * inv``, ``inv = rsqrt(var(x) + eps)``,
    given the slope ``x_hat_slope`` at ``x_hat``; means over ``axes``."""
    mean_slope = x_hat_slope.mean(axis=axes, keepdims=True)
    mean_product = (x_hat_slope * x_hat).mean(axis=axes, keepdims=True)
    return inv * (x_hat_slope - mean_slope - x_hat * mean_product)


def standardize_masked(x_hat_slope, x_hat, inv, axes, moments):
    """``standardize`` for BatchNormalization's masked moments (Keras 3's
    ``_moments`` with a mask): with ``w`` the mask (1 kept, 0 masked),
    ``W = sum(w)`` and ``n = W + e`` (Keras divides by ``W + epsilon()``,
    ``e = 1e-7``, so that a feature with no kept entry has moments 0),

        mean = sum(w x) / n,      var = sum(w (x - mean)^2) / n,

    and, ``G = sum(g')`` and ``P = sum(g' x_hat)`` over every entry (the
    masked ones are normalized too, with the same statistics),

        dx = inv * (g' - w / n * (G + x_hat P - inv P mean e / n)).

    The last term is there because ``sum(w (x - mean)) = mean e``, not 0:
    the variance's slope through the mean, ``-2 mean e / n``. It is of order
    ``e / n`` of the others, but it makes the slope exact."""
    total_slope = x_hat_slope.sum(axis=axes, keepdims=True)
    total_product = (x_hat_slope * x_hat).sum(axis=axes, keepdims=True)
    count, spare = moments.count, moments.spare
    through_mean = total_slope - inv * total_product * moments.mean * spare / count
    return inv * (x_hat_slope - moments.weights / count * (through_mean + x_hat * total_product))


def _rsqrt(variance, epsilon):
    return 1 / np.sqrt(variance + variance.dtype.type(epsilon))


class _AffineNormalization(Layer):
    """The parts the three layers share: ``center``/``scale`` and the
    initializers, regularizers and constraints of ``beta`` and ``gamma``."""

    def __init__(
        self,
        epsilon,
        center,
        scale,
        beta_initializer,
        gamma_initializer,
        beta_regularizer,
        gamma_regularizer,
        beta_constraint,
        gamma_constraint,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.epsilon = check_real(epsilon, f"{self._label} epsilon", low=0)
        self.center = check_bool(center, f"{self._label} center")
        self.scale = check_bool(scale, f"{self._label} scale")
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = None

    @property
    def _label(self) -> str:
        return f"{type(self).__name__} layer {self.name!r}"

    def _add_gamma(self, shape):
        return self.add_weight(
            shape,
            self.gamma_initializer,
            name="gamma",
            regularizer=self.gamma_regularizer,
            constraint=self.gamma_constraint,
        )

    def _add_beta(self, shape):
        return self.add_weight(
            shape,
            self.beta_initializer,
            name="beta",
            regularizer=self.beta_regularizer,
            constraint=self.beta_constraint,
        )

    def _cast(self, x):
        dtype = self.dtype or config.floatx()
        return x if x.dtype == dtype else x.astype(dtype)

    def _check_rank_and_axes(self, input_shape, axes):
        """Raise unless ``input_shape`` is one shape whose ``axes`` exist and have known sizes."""
        if isinstance(input_shape, list):
            raise ValueError(f"{self._label} takes one input, received {len(input_shape)}")
        rank = len(input_shape)
        for axis in axes:
            if not -rank <= axis < rank:
                raise ValueError(
                    f"{self._label}: axis {axis} is out of range for input of rank {rank} "
                    f"(shape {tuple(input_shape)}); expected an axis in [{-rank}, {rank})"
                )
            if input_shape[axis] is None:
                raise ValueError(
                    f"{self._label}: axis {axis} of the input must have a known size, "
                    f"received input with shape {tuple(input_shape)}"
                )
        if len({axis % rank for axis in axes}) != len(axes):
            raise ValueError(f"{self._label}: axis {self.axis} names an axis twice")

    def _check_built_shape(self, input_shape, axes):
        if not self.built:
            return
        expected = tuple(self.input_shape)
        if len(input_shape) != len(expected) or any(input_shape[a] != expected[a] for a in axes):
            raise ValueError(
                f"Input of {self._label} is incompatible with the layer: it was built for "
                f"inputs of shape {expected} (the rank and the size of axis "
                f"{axes[0] if len(axes) == 1 else axes} must match), received input with "
                f"shape {tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        self._check_rank_and_axes(input_shape, self._axes())
        return tuple(input_shape)

    def _axes(self) -> list[int]:
        """The feature axes the weights span, as given."""
        return list(self.axis) if isinstance(self.axis, list | tuple) else [self.axis]

    def _affine_config(self):
        return {
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class _SqrtOf(initializers.Initializer):
    """The square root of another initializer's values (Keras's start for
    batch renormalization's standard deviations: the root of the variances')."""

    name = "sqrt_of"

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, shape, dtype=np.float32, rng=None):
        return np.sqrt(self.inner(shape, dtype=dtype, rng=rng))


#: Keras's ``backend.epsilon()``: added to the kept entries' count of masked moments.
_FUZZ = 1e-7


class _MaskedMoments(NamedTuple):
    """What the backward pass needs of masked moments (see ``standardize_masked``)."""

    weights: np.ndarray  # the mask as 0 and 1, broadcastable against the input
    count: np.ndarray  # n = W + 1e-7 per feature, shaped like the input's rank
    spare: np.ndarray  # n - W (0 in float32 once W > 1: the sum rounds)
    mean: np.ndarray  # per feature, shaped like ``count``


@dataclass
class _BatchStatistics:
    """What a BatchNormalization forward pass keeps for backward and for the
    state updates: the (cast) input, the statistics it normalized with, and
    whether they came from the batch."""

    x: np.ndarray
    mean: np.ndarray
    inv: np.ndarray  # rsqrt(variance + epsilon), per feature
    from_batch: bool
    renorm: tuple | None = None  # (r, d): batch renormalization's corrections
    updates: list | None = None  # (weight, new value) for the moving statistics
    masked: _MaskedMoments | None = None  # the batch's moments came from a mask


@LAYERS.register("BatchNormalization")
class BatchNormalization(_AffineNormalization):
    r"""Normalizes each feature over the batch (and every other axis but ``axis``).

    In training (``fit``, or a call with ``training=True``) it uses the batch's
    mean and population variance, ``y = gamma * (x - mean) / sqrt(var + epsilon)
    + beta``, and computes new moving statistics,
    ``moving = moving * momentum + batch_statistic * (1 - momentum)``, which
    the model assigns after the optimizer step (``Model.gradients`` never
    does). In inference it uses ``moving_mean`` and ``moving_variance``. A
    frozen layer (``trainable=False``, its own or its model's) runs in
    inference mode even in training and keeps its statistics, as in Keras 3.

    Backward in training: the exact slope through the batch's mean and
    variance (see the module's docstring); in inference, ``dx = g * gamma * s``.
    With ``renorm``, ``y = gamma * (x_hat * r + d) + beta`` where
    ``r = stddev / renorm_stddev`` and ``d = (mean - renorm_mean) / renorm_stddev``
    (clipped by ``renorm_clipping``) are constants to the backward pass.

    With a mask (an ``Embedding(mask_zero=True)`` before it, or ``layer(x,
    mask=...)``: a boolean per position of the input without its last axis),
    the training pass takes the batch's moments over the unmasked entries
    only, as Keras 3 does: ``mean = sum(m x) / n`` and ``var = sum(m (x -
    mean)^2) / n`` with ``n = sum(m) + 1e-7`` (Keras's ``epsilon()``, which
    gives a batch with every entry masked the moments 0, as in Keras). Every
    entry, masked or not, is normalized with them; the moving statistics move
    toward them; the backward pass is ``standardize_masked``'s. In inference
    the mask changes nothing. The mask passes on to the next layer.

    Args:
        axis: the feature axis (an integer), e.g. ``1`` after a channels-first
            convolution. Defaults to ``-1``.
        momentum: of the moving averages, in [0, 1]. Defaults to 0.99.
        epsilon: added to the variance. Defaults to 0.001.
        center: whether to learn ``beta``, added after normalizing. Defaults to True.
        scale: whether to learn ``gamma``, multiplied after normalizing. Defaults to True.
        beta_initializer: Defaults to ``'zeros'``.
        gamma_initializer: Defaults to ``'ones'``.
        moving_mean_initializer: Defaults to ``'zeros'``.
        moving_variance_initializer: Defaults to ``'ones'``.
        beta_regularizer: a penalty on ``beta`` (as Dense's on its weights), or None.
        gamma_regularizer: a penalty on ``gamma``, or None.
        beta_constraint: applied to ``beta`` after each step, or None.
        gamma_constraint: applied to ``gamma`` after each step, or None.
        synchronized: must be False (there is one device).
        renorm: batch renormalization (Ioffe, 2017). Defaults to False.
        renorm_clipping: ``{"rmax": ..., "rmin": ..., "dmax": ...}`` (each optional).
        renorm_momentum: of the renormalization statistics. Defaults to 0.99.

    Weights, in ``get_weights`` order: ``gamma`` (if ``scale``), ``beta`` (if
    ``center``), ``moving_mean``, ``moving_variance``, and with ``renorm``
    ``moving_stddev``, ``renorm_mean``, ``renorm_stddev``.
    """

    updates_state = True
    supports_masking = True
    forward_takes_mask = True

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        if not is_int(axis):
            raise TypeError(f"{self._label}: axis must be an integer, received {axis!r}")
        self.axis = int(axis)
        self.momentum = float(check_real(momentum, f"{self._label} momentum", low=0, high=1))
        self.epsilon = float(self.epsilon)
        if check_bool(synchronized, f"{self._label} synchronized"):
            raise ValueError(
                f"{self._label}: synchronized=True synchronizes statistics across devices, "
                "which gradstep does not have; use synchronized=False"
            )
        self.synchronized = False
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm = check_bool(renorm, f"{self._label} renorm")
        if self.renorm:
            renorm_clipping = self._check_renorm_clipping(renorm_clipping)
        self.renorm_clipping = renorm_clipping  # kept as given without renorm, as Keras does
        self.renorm_momentum = float(
            check_real(renorm_momentum, f"{self._label} renorm_momentum", low=0, high=1)
        )

    def _check_renorm_clipping(self, clipping):
        clipping = dict(clipping or {})
        unknown = set(clipping) - {"rmax", "rmin", "dmax"}
        if unknown:
            raise ValueError(
                f"{self._label}: renorm_clipping takes the keys 'rmax', 'rmin' and 'dmax', "
                f"received {sorted(unknown)}"
            )
        for key, value in clipping.items():
            check_real(value, f"{self._label} renorm_clipping[{key!r}]", allow_none=True)
        rmax, rmin, dmax = (clipping.get(key) for key in ("rmax", "rmin", "dmax"))
        if rmax is not None and rmin is not None and rmax < rmin:
            raise ValueError(
                f"{self._label}: renorm_clipping's rmax must be at least its rmin, "
                f"received rmax={rmax}, rmin={rmin}"
            )
        if dmax is not None and dmax < 0:
            raise ValueError(
                f"{self._label}: renorm_clipping's dmax must be non-negative, received {dmax}"
            )
        return clipping

    # --- building ---------------------------------------------------------------------
    def build(self, input_shape):
        self.check_input_shape(input_shape)
        shape = (input_shape[self.axis],)
        if self.scale:
            self.gamma = self._add_gamma(shape)
        if self.center:
            self.beta = self._add_beta(shape)
        self.moving_mean = self.add_weight(
            shape, self.moving_mean_initializer, name="moving_mean", trainable=False
        )
        self.moving_variance = self.add_weight(
            shape, self.moving_variance_initializer, name="moving_variance", trainable=False
        )
        if self.renorm:
            stddev_initializer = _SqrtOf(self.moving_variance_initializer)
            self.moving_stddev = self.add_weight(
                shape, stddev_initializer, name="moving_stddev", trainable=False
            )
            self.renorm_mean = self.add_weight(
                shape, self.moving_mean_initializer, name="renorm_mean", trainable=False
            )
            self.renorm_stddev = self.add_weight(
                shape, stddev_initializer, name="renorm_stddev", trainable=False
            )
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        self._check_rank_and_axes(input_shape, [self.axis])
        self._check_built_shape(input_shape, [self.axis])

    def _reduction_axes(self, rank: int) -> tuple[int, ...]:
        return tuple(a for a in range(rank) if a != self.axis % rank)

    def _per_feature(self, values, rank: int):
        """A per-feature vector shaped to broadcast against the input."""
        shape = [1] * rank
        shape[self.axis] = -1
        return values.reshape(shape)

    # --- the two passes ---------------------------------------------------------------
    def forward(self, x, training=False, mask=None):
        x = self._cast(x)
        if mask is not None:
            mask = self._checked_mask(x, mask)
        from_batch = bool(training) and self.trainable
        renorm = updates = masked = None
        if from_batch:
            if mask is None:
                axes = self._reduction_axes(x.ndim)
                mean, variance = x.mean(axis=axes), x.var(axis=axes)
            else:
                mean, variance, masked = self._masked_moments(x, mask)
            if self.renorm:
                renorm, updates = self._renorm_corrections(mean, variance)
            else:
                updates = [
                    (self.moving_mean, self._moved(self.moving_mean, mean, self.momentum)),
                    (
                        self.moving_variance,
                        self._moved(self.moving_variance, variance, self.momentum),
                    ),
                ]
        else:
            mean, variance = self.moving_mean.copy(), self.moving_variance
        inv = _rsqrt(variance, self.epsilon)
        gamma, beta = self._effective_affine(renorm)
        scaled_inv = inv if gamma is None else inv * gamma
        shift = -mean * scaled_inv
        if beta is not None:
            shift = shift + beta
        output = x * self._per_feature(scaled_inv, x.ndim) + self._per_feature(shift, x.ndim)
        return output, _BatchStatistics(x, mean, inv, from_batch, renorm, updates, masked)

    def _checked_mask(self, x, mask) -> np.ndarray:
        """The mask as booleans, one per position of the input without its last
        axis (Keras's rule: the mask is broadcast over the last axis)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != x.shape[:-1]:
            raise ValueError(
                f"{self._label} needs a mask with one dimension less than its inputs, of "
                f"shape {x.shape[:-1]} for inputs of shape {x.shape}, received a mask of "
                f"shape {mask.shape}"
            )
        return mask

    def _masked_moments(self, x, mask):
        """The mean and variance over the unmasked entries, as Keras 3's
        ``_moments`` computes them (see ``standardize_masked``), and what the
        backward pass needs of them."""
        rank, kind = x.ndim, x.dtype.type
        axes = self._reduction_axes(rank)
        kept = np.expand_dims(mask, -1)
        weights = np.broadcast_to(kept, x.shape)
        kept_count = weights.sum(axis=axes, keepdims=True, dtype=x.dtype)
        count = kept_count + kind(_FUZZ)
        mean = np.where(kept, x, 0).sum(axis=axes, keepdims=True) / count
        deviation = np.where(kept, x - mean, 0)
        variance = (deviation * deviation).sum(axis=axes, keepdims=True) / count
        moments = _MaskedMoments(kept.astype(x.dtype), count, count - kept_count, mean)
        return mean.reshape(-1), variance.reshape(-1), moments

    @staticmethod
    def _moved(moving, statistic, momentum):
        """``moving * momentum + statistic * (1 - momentum)`` in the weight's dtype."""
        kind = moving.dtype.type
        return moving * kind(momentum) + statistic * kind(1.0 - momentum)

    def _effective_affine(self, renorm):
        """``(gamma, beta)`` as applied to ``x_hat``: with renorm's ``(r, d)``,
        ``x_hat * (r * gamma) + (d * gamma + beta)``; either may be None."""
        if renorm is None:
            return self.gamma, self.beta
        r, d = renorm
        gamma = r if self.gamma is None else r * self.gamma
        beta = d if self.gamma is None else d * self.gamma
        return gamma, beta if self.beta is None else beta + self.beta

    def _renorm_corrections(self, mean, variance):
        """Batch renormalization's ``(r, d)`` and the new values of the five
        statistics it moves (Keras 3's ``_renorm_correction_and_moments`` and
        ``_update_renorm_statistics``)."""
        kind = mean.dtype.type
        stddev = np.sqrt(variance + kind(self.epsilon))
        renorm_stddev = np.maximum(self.renorm_stddev, np.sqrt(kind(self.epsilon)))
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean) / renorm_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = np.maximum(r, kind(clipping["rmin"]))
        if clipping.get("rmax") is not None:
            r = np.minimum(r, kind(clipping["rmax"]))
        if clipping.get("dmax") is not None:
            d = np.clip(d, -kind(clipping["dmax"]), kind(clipping["dmax"]))
        moving_stddev = self._moved(self.moving_stddev, stddev, self.momentum)
        updates = [
            (self.renorm_mean, self._moved(self.renorm_mean, mean, self.renorm_momentum)),
            (self.renorm_stddev, self._moved(self.renorm_stddev, stddev, self.renorm_momentum)),
            (self.moving_mean, self._moved(self.moving_mean, mean, self.momentum)),
            (self.moving_stddev, moving_stddev),
            (
                self.moving_variance,
                np.maximum(moving_stddev * moving_stddev - kind(self.epsilon), 0),
            ),
        ]
        return (r, d), updates

    def state_updates(self, saved):
        return list(saved.updates or [])

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        x, rank = saved.x, saved.x.ndim
        axes = self._reduction_axes(rank)
        x_hat = (x - self._per_feature(saved.mean, rank)) * self._per_feature(saved.inv, rank)
        weight_grads = {}
        if self.scale:
            if saved.renorm is None:
                weight_grads["gamma"] = (grad_wrt_output * x_hat).sum(axis=axes)
            else:
                r, d = (self._per_feature(v, rank) for v in saved.renorm)
                weight_grads["gamma"] = (grad_wrt_output * (x_hat * r + d)).sum(axis=axes)
        if self.center:
            weight_grads["beta"] = grad_wrt_output.sum(axis=axes)
        if not input_gradient:
            return None, weight_grads
        gamma = self._effective_affine(saved.renorm)[0]
        x_hat_slope = (
            grad_wrt_output if gamma is None else grad_wrt_output * self._per_feature(gamma, rank)
        )
        inv = self._per_feature(saved.inv, rank)
        if saved.masked is not None:
            return standardize_masked(x_hat_slope, x_hat, inv, axes, saved.masked), weight_grads
        if saved.from_batch:
            return standardize(x_hat_slope, x_hat, inv, axes), weight_grads
        return x_hat_slope * inv, weight_grads

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            **self._affine_config(),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


@LAYERS.register("LayerNormalization")
class LayerNormalization(_AffineNormalization):
    r"""Normalizes each sample over its feature axes: ``y = gamma * (x - mean)
    / sqrt(var + epsilon) + beta``, the mean and population variance taken
    over ``axis`` for each sample (and each position along the other axes).

    With ``rms_scaling=True`` (deprecated in Keras 3, kept for its numbers):
    ``y = gamma * x / sqrt(var + epsilon)``, the variance still about the
    mean but the mean not subtracted; it has ``gamma`` and no ``beta``.
    Backward, ``s = rsqrt(var + epsilon)``, ``g' = g * gamma``:
    ``dx = s * g' - s^3 (x - mean) m(g' * x)``.

    Args:
        axis: an integer or a list of integers: the axes to normalize over,
            which ``gamma`` and ``beta`` span. Defaults to ``-1``.
        epsilon: added to the variance. Defaults to 0.001.
        center: whether to learn ``beta``, added after normalizing. Defaults to True.
        scale: whether to learn ``gamma``, multiplied after normalizing. Defaults to True.
        rms_scaling: see above. Defaults to False.
        beta_initializer: Defaults to ``'zeros'``.
        gamma_initializer: Defaults to ``'ones'``.
        beta_regularizer: a penalty on ``beta`` (as Dense's on its weights), or None.
        gamma_regularizer: a penalty on ``gamma``, or None.
        beta_constraint: applied to ``beta`` after each step, or None.
        gamma_constraint: applied to ``gamma`` after each step, or None.
    """

    supports_masking = True

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kwargs,
    ):
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        if isinstance(axis, list | tuple) and axis and all(is_int(a) for a in axis):
            self.axis = [int(a) for a in axis]
        elif is_int(axis):
            self.axis = int(axis)
        else:
            raise TypeError(
                f"{self._label}: axis must be an integer or a non-empty list of integers, "
                f"received {axis!r}"
            )
        self.rms_scaling = check_bool(rms_scaling, f"{self._label} rms_scaling")
        if self.rms_scaling:
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated. This argument "
                "incorrectly scales the input by the variance, not the root mean square. "
                "To correctly use RMS Normalization, please use "
                "`keras.layers.RMSNormalization` instead.",
                stacklevel=2,
            )

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        # Keras sorts the axes as given (negative ones first) and shapes the
        # weights in that order; the same order keeps weights transferable.
        self.axis = sorted(self._axes())
        shape = tuple(input_shape[a] for a in self.axis)
        if self.scale or self.rms_scaling:
            self.gamma = self._add_gamma(shape)
        if self.center and not self.rms_scaling:
            self.beta = self._add_beta(shape)
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        self._check_rank_and_axes(input_shape, self._axes())
        self._check_built_shape(input_shape, self._axes())

    def _broadcast(self, weight, input_shape):
        """A weight shaped to broadcast against the input: Keras reshapes it to
        the input's rank, the normalized axes keeping their sizes."""
        shape = [1] * len(input_shape)
        for a in self.axis:
            shape[a] = input_shape[a]
        return weight.reshape(shape)

    def forward(self, x, training=False):
        x = self._cast(x)
        axes = tuple(self.axis)
        variance = x.var(axis=axes, keepdims=True)
        inv = _rsqrt(variance, self.epsilon)
        if self.rms_scaling:
            output = x * inv
            if self.gamma is not None:
                output = output * self._broadcast(self.gamma, x.shape)
            return output, (x, inv)
        mean = x.mean(axis=axes, keepdims=True)
        scaled_inv = inv if self.gamma is None else inv * self._broadcast(self.gamma, x.shape)
        shift = -mean * scaled_inv
        if self.beta is not None:
            shift = shift + self._broadcast(self.beta, x.shape)
        return x * scaled_inv + shift, (x, inv)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        x, inv = saved
        axes = tuple(self.axis)
        shared = tuple(a for a in range(x.ndim) if a not in {b % x.ndim for b in axes})
        centered = x - x.mean(axis=axes, keepdims=True)
        normalized = x * inv if self.rms_scaling else centered * inv
        weight_grads = {}
        if self.gamma is not None:
            slope = (grad_wrt_output * normalized).sum(axis=shared, keepdims=True)
            weight_grads["gamma"] = slope.reshape(self.gamma.shape)
        if self.beta is not None:
            slope = grad_wrt_output.sum(axis=shared, keepdims=True)
            weight_grads["beta"] = slope.reshape(self.beta.shape)
        if not input_gradient:
            return None, weight_grads
        if self.gamma is not None:
            grad_wrt_output = grad_wrt_output * self._broadcast(self.gamma, x.shape)
        if self.rms_scaling:
            moment = (grad_wrt_output * x).mean(axis=axes, keepdims=True)
            through_variance = inv**3 * centered * moment
            return inv * grad_wrt_output - through_variance, weight_grads
        return standardize(grad_wrt_output, normalized, inv, axes), weight_grads

    def get_config(self):
        config_ = {**super().get_config(), "axis": self.axis, **self._affine_config()}
        config_["rms_scaling"] = self.rms_scaling
        return config_


@LAYERS.register("GroupNormalization")
class GroupNormalization(_AffineNormalization):
    r"""Normalizes each group of channels of each sample: the ``C`` channels
    on ``axis`` split into ``groups`` groups of ``C / groups`` neighbours,
    and each group standardized over its channels and every other non-batch
    axis; then ``gamma`` and ``beta`` per channel. ``groups=-1`` makes one
    group per channel (instance normalization); ``groups=1`` is layer
    normalization over all the axes with per-channel weights.

    Backward as the module's docstring says, in the grouped shape
    ``(..., groups, C / groups, ...)``.

    Args:
        groups: a positive integer dividing the channels, or -1. Defaults to 32.
        axis: the channel axis (an integer). Defaults to ``-1``.
        epsilon: added to the variance. Defaults to 0.001.
        center: whether to learn ``beta``, added after normalizing. Defaults to True.
        scale: whether to learn ``gamma``, multiplied after normalizing. Defaults to True.
        beta_initializer: Defaults to ``'zeros'``.
        gamma_initializer: Defaults to ``'ones'``.
        beta_regularizer: a penalty on ``beta`` (as Dense's on its weights), or None.
        gamma_regularizer: a penalty on ``gamma``, or None.
        beta_constraint: applied to ``beta`` after each step, or None.
        gamma_constraint: applied to ``gamma`` after each step, or None.
    """

    supports_masking = True

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        if not is_int(groups) or (groups <= 0 and groups != -1):
            raise ValueError(
                f"{self._label}: groups must be a positive integer (or -1 for instance "
                f"normalization), received {groups!r}"
            )
        if not is_int(axis):
            raise TypeError(f"{self._label}: axis must be an integer, received {axis!r}")
        self.groups = int(groups)
        self.axis = int(axis)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        channels = input_shape[self.axis]
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(
                f"{self._label}: groups must divide the number of channels: {self.groups} "
                f"groups cannot split the {channels} channels of axis {self.axis} evenly "
                f"(input shape {tuple(input_shape)})"
            )
        if self.scale:
            self.gamma = self._add_gamma((channels,))
        if self.center:
            self.beta = self._add_beta((channels,))
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        self._check_rank_and_axes(input_shape, [self.axis])
        self._check_built_shape(input_shape, [self.axis])

    def _grouped_shape(self, shape):
        """``shape`` with the channel axis split into ``(groups, channels / groups)``."""
        axis = self.axis % len(shape)
        return (*shape[:axis], self.groups, shape[axis] // self.groups, *shape[axis + 1 :])

    def _statistic_axes(self, rank: int) -> tuple[int, ...]:
        """The axes of the grouped input each statistic is taken over: all
        but the batch and the group axis."""
        group_axis = self.axis % rank
        return tuple(a for a in range(1, rank + 1) if a != group_axis)

    def _per_channel(self, weight, rank: int):
        """A per-channel weight shaped to broadcast against the grouped input."""
        shape = [1] * (rank + 1)
        axis = self.axis % rank
        shape[axis], shape[axis + 1] = self.groups, -1
        return weight.reshape(shape)

    def forward(self, x, training=False):
        x = self._cast(x)
        grouped = x.reshape(self._grouped_shape(x.shape))
        axes = self._statistic_axes(x.ndim)
        mean = grouped.mean(axis=axes, keepdims=True)
        inv = _rsqrt(grouped.var(axis=axes, keepdims=True), self.epsilon)
        scaled_inv = inv if self.gamma is None else inv * self._per_channel(self.gamma, x.ndim)
        shift = -mean * scaled_inv
        if self.beta is not None:
            shift = shift + self._per_channel(self.beta, x.ndim)
        output = grouped * scaled_inv + shift
        return output.reshape(x.shape), (grouped, mean, inv)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        grouped, mean, inv = saved
        rank = grouped.ndim - 1
        axis = self.axis % rank
        slope = grad_wrt_output.reshape(grouped.shape)
        x_hat = (grouped - mean) * inv
        shared = tuple(a for a in range(grouped.ndim) if a not in (axis, axis + 1))
        weight_grads = {}
        if self.gamma is not None:
            weight_grads["gamma"] = (slope * x_hat).sum(axis=shared).reshape(-1)
        if self.beta is not None:
            weight_grads["beta"] = slope.sum(axis=shared).reshape(-1)
        if not input_gradient:
            return None, weight_grads
        if self.gamma is not None:
            slope = slope * self._per_channel(self.gamma, rank)
        grad = standardize(slope, x_hat, inv, self._statistic_axes(rank))
        return grad.reshape(grad_wrt_output.shape), weight_grads

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            **self._affine_config(),
        }
