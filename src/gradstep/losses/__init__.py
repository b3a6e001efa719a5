"""Loss functions: how wrong the model is, as one number, and its slope.

A loss first computes one value per sample (``call``), then reduces them to one
number (``reduction``, Keras's ``'sum_over_batch_size'`` by default: the mean).
Its ``gradient`` is the slope of that number with respect to every entry of
``y_pred``: the first arrow of the backward pass.

    >>> import numpy as np
    >>> mse = MeanSquaredError()
    >>> float(mse(np.array([[20.], [3.], [1.]]), np.array([[10.], [8.], [6.]])))
    50.0

When the model's last activation pairs with the loss (softmax with categorical
cross-entropy, sigmoid with binary cross-entropy), ``fused_gradient`` gives
the slope with respect to the pre-activation directly: ``p - y``, without the
round trip through ``1 / p`` that loses precision.

Every loss of Keras 3 but CTC is here, one module per family: ``regression``
(MSE, MAE, MAPE, MSLE, Huber, LogCosh, CosineSimilarity), ``crossentropy``
(binary, categorical, sparse, generalized), ``focal`` (binary, categorical),
``probabilistic`` (KLDivergence, Poisson), ``hinge``, ``segmentation`` (Dice,
Tversky) and ``similarity`` (Circle); ``custom`` turns any NumPy function into
a loss, and ``base`` holds the ``Loss`` class they share.
"""

from __future__ import annotations

from typing import Any

from gradstep.losses._ops import EPSILON
from gradstep.losses.base import LOSSES, REDUCTIONS, Loss, match_rank
from gradstep.losses.crossentropy import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_generalized_cross_entropy,
    sparse_categorical_crossentropy,
)
from gradstep.losses.custom import LossFunctionWrapper
from gradstep.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from gradstep.losses.hinge import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from gradstep.losses.probabilistic import KLDivergence, Poisson, kl_divergence, poisson
from gradstep.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from gradstep.losses.segmentation import Dice, Tversky, dice, tversky
from gradstep.losses.similarity import Circle, circle

# Keras's short aliases of the functional forms.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

_FUNCTIONS = {
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    huber: Huber,
    log_cosh: LogCosh,
    cosine_similarity: CosineSimilarity,
    binary_crossentropy: BinaryCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    dice: Dice,
    tversky: Tversky,
    circle: Circle,
}

__all__ = [
    "match_rank",
    "EPSILON",
    "LOSSES",
    "REDUCTIONS",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "deserialize",
    "dice",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "tversky",
]


def get(identifier: Any) -> Loss | None:
    """Resolve a loss identifier to a ``Loss`` object, as Keras's ``losses.get``.

    Accepts a name (``'mse'``, ``'huber'``, ``'sparse_categorical_crossentropy'``)
    or class name (``'MeanSquaredError'``), a ``Loss`` (returned as is) or
    ``Loss`` subclass, a config dict from ``serialize``, one of this module's
    functions, or any function ``fn(y_true, y_pred)`` returning the loss of
    each sample (wrapped in a ``LossFunctionWrapper``). ``None`` gives ``None``.

        >>> get("mse")
        MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size')
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        try:
            return LOSSES.lookup_class(identifier)()
        except ValueError:
            return LOSSES.lookup(identifier, "loss")()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        loss_class = _FUNCTIONS.get(identifier)
        return loss_class() if loss_class is not None else LossFunctionWrapper(identifier)
    raise TypeError(
        "loss must be a name such as 'mse', a gradstep.losses.Loss, or a function "
        f"fn(y_true, y_pred) returning the loss of each sample; received {identifier!r}"
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """The loss as ``{"class_name": ..., "config": ...}`` (plain data)."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Loss:
    """Rebuild a loss from ``serialize``'s output. Class names resolve through the
    ``LOSSES`` registry, or through ``custom_objects`` (name -> your ``Loss``
    subclass or loss function), which is how a loss of your own comes back."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"a loss config must be a dict with 'class_name' and 'config', received {config!r}"
        )
    class_name, settings = config["class_name"], config.get("config", {})
    if class_name == "LossFunctionWrapper":
        return LossFunctionWrapper.from_config(settings, custom_objects)
    custom = (custom_objects or {}).get(class_name)
    if isinstance(custom, type) and issubclass(custom, Loss):
        return custom.from_config(settings)
    try:
        loss_class = LOSSES.lookup_class(class_name)
    except ValueError as error:
        raise ValueError(
            f"{error} A loss class of your own comes back when you pass it, as "
            f"load_model(..., custom_objects={{{class_name!r}: {class_name}}})."
        ) from None
    return loss_class.from_config(settings)
