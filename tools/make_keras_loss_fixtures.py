"""Float64 golden values for every loss, from Keras 3 (JAX) and PyTorch.

Produces tests/fixtures/keras_losses.json:
  {"generated_by", "keras_version", "keras_backend", "jax_version", "torch_version",
   "numpy_version", "floatx": "float64", "epsilon",
   "keras_signatures": {class: {argument: default}},  (``dtype`` left out)
   "keras": [{"name", "class", "config", "y_true", "y_pred", "sample_weight",
              "value", "values_none", "grad", "keras_config",
              "function": {"name", "kwargs", "values"} (optional)}],
   "torch": [{"name", "torch_class", "torch_config", "input_transform",
              "gradstep_class", "gradstep_config", "scale", "offset", "grad_relation",
              "y_true", "y_pred", "value", "grad"}]}

keras: "value" is ``loss(y_true, y_pred, sample_weight)`` with the case's
reduction; "grad" is jax.grad of that value (of its sum for reduction 'none')
with respect to y_pred; "values_none" is the same loss with reduction='none'
and no weights. A gradient entry that JAX finds non-finite is stored as null.
"function" is the functional form (``keras.losses.huber`` ...) on the same
inputs.

torch: the PyTorch loss applied to ``input_transform(y_pred)`` ('identity' or
'log': NLLLoss and KLDivLoss take log-probabilities) and y_true; "grad" is
its gradient with respect to y_pred. The matching gradstep loss satisfies
``torch value = scale * gradstep value + offset`` and, when "grad_relation" is
'equal', ``torch grad = scale * gradstep grad``. For NLLLoss it is
'equal_within_rows_up_to_a_constant': Keras's cross-entropy from probabilities
divides them by their sum first, which adds ``1 / (n sum(p))`` to every entry of
the slope; the two slopes agree on every change that keeps ``sum(p)``.

Keras 3 on JAX demotes float64 to float32 in some ops (ops.power among them);
as in tools/make_keras_numerics_fixtures.py the demotion map is switched off so
that the goldens are real float64.

Run with the reference virtualenv (Keras 3 + JAX + PyTorch):
    KERAS_BACKEND=jax python tools/make_keras_loss_fixtures.py
"""

import inspect
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras_losses.json")
GENERATED_BY = "tools/make_keras_loss_fixtures.py"

# Classes whose y_true holds integer labels.
INTEGER_TARGETS = {
    "SparseCategoricalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "Circle",
}


def tolist(a):
    """Nested lists of floats; non-finite entries become None (JSON has no inf)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return float(a) if np.isfinite(a) else None
    return [tolist(row) for row in a]


# ---------------------------------------------------------------- inputs


def rng(seed):
    return np.random.default_rng(seed)


def regression(seed, shape=(4, 3), scale=1.0):
    r = rng(seed)
    return r.normal(size=shape).tolist(), (r.normal(size=shape) * scale).tolist()


def huge_errors():
    y_true = [[0.0, 1.0, -2.0], [3.0, 0.5, 0.0]]
    y_pred = [[1e6, -1e6, 2.0], [3.5, 1e6, -1e6]]
    return y_true, y_pred


def positive(seed, shape=(4, 3), low=0.1, high=5.0):
    r = rng(seed)
    return r.uniform(low, high, size=shape).tolist(), r.uniform(low, high, size=shape).tolist()


def binary(seed, shape=(4, 3)):
    r = rng(seed)
    y_true = r.integers(0, 2, size=shape).astype(float)
    return y_true.tolist(), r.uniform(0.05, 0.95, size=shape).tolist()


def one_hot(seed, rows=4, classes=3):
    return np.eye(classes)[rng(seed).integers(0, classes, size=rows)].tolist()


def distributions(seed, rows=4, classes=3):
    return rng(seed).dirichlet(np.ones(classes), size=rows).tolist()


def logits(seed, rows=4, classes=3):
    return rng(seed).normal(scale=2.0, size=(rows, classes)).tolist()


def unit_embeddings(seed, rows=6, size=4):
    e = rng(seed).normal(size=(rows, size))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).tolist()


def weights(seed, count):
    return rng(seed).uniform(0.2, 2.0, size=count).tolist()


BCE_TRUE_EDGE = [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.3, 0.0]]
BCE_PROBS_EDGE = [[0.0, 1.0], [1.0, 0.0], [0.3, 0.9], [0.5, 1e-9], [0.7, 0.2]]
LOGITS_1000 = [[-1000.0, 1000.0], [1000.0, -1000.0], [0.5, -2.0], [3.0, 0.0], [-0.7, 1.5]]
CCE_TRUE = [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
CCE_PROBS_EDGE = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]
CCE_LOGITS_1000 = [[5.0, -1.0, 0.0], [-1000.0, 1000.0, 0.0], [0.2, 0.3, 0.5], [1.0, -2.0, 3.0]]
LABELS = [0, 0, 2, 1]


def keras_specs():
    """(case name, class, config, y_true, y_pred, sample_weight, function)."""
    mse_true, mse_pred = regression(1)
    huge_true, huge_pred = huge_errors()
    pos_true, pos_pred = positive(2)
    bin_true, bin_pred = binary(3)
    cce_true, cce_probs = one_hot(4), distributions(5)
    seq_probs = rng(6).dirichlet(np.ones(4), size=(2, 3)).tolist()
    seq_labels = rng(7).integers(0, 4, size=(2, 3)).tolist()
    cce_axis_true = np.moveaxis(np.eye(4)[seq_labels], -1, 1).tolist()
    cce_axis_probs = np.moveaxis(np.asarray(seq_probs), -1, 1).tolist()
    masks_true = rng(8).integers(0, 2, size=(2, 3, 3)).astype(float).tolist()
    masks_pred = rng(9).uniform(0.05, 0.95, size=(2, 3, 3)).tolist()
    hinge_pred = [[0.3, -1.7, 2.2], [-0.4, 0.8, -2.5], [1.6, 0.2, -0.9], [-1.2, 1.4, 0.6]]
    mape_true = [[0.0, 2.0, -3.0], [1.5, 0.0, 4.0]]
    msle_pred = [[-0.5, 0.0, 2.0], [1e6, 0.3, 4.0]]
    return [
        # ---- regression
        ("mse", "MeanSquaredError", {}, mse_true, mse_pred, None, ("mean_squared_error", {})),
        ("mse_huge_errors", "MeanSquaredError", {}, huge_true, huge_pred, None, None),
        (
            "mse_weighted_sum",
            "MeanSquaredError",
            {"reduction": "sum"},
            mse_true,
            mse_pred,
            weights(10, 4),
            None,
        ),
        (
            "mse_column_targets",
            "MeanSquaredError",
            {},
            [1.0, -2.0, 0.5],
            [[0.5], [-1.0], [3.0]],
            None,
            None,
        ),
        ("mae", "MeanAbsoluteError", {}, mse_true, mse_pred, None, ("mean_absolute_error", {})),
        ("mae_huge_errors", "MeanAbsoluteError", {}, huge_true, huge_pred, None, None),
        (
            "mae_weighted_mean_with_sample_weight",
            "MeanAbsoluteError",
            {"reduction": "mean_with_sample_weight"},
            mse_true,
            mse_pred,
            weights(11, 4),
            None,
        ),
        (
            "mape",
            "MeanAbsolutePercentageError",
            {},
            pos_true,
            pos_pred,
            None,
            ("mean_absolute_percentage_error", {}),
        ),
        (
            "mape_zero_targets",
            "MeanAbsolutePercentageError",
            {},
            mape_true,
            [[0.5, 1.0, -2.0], [1e6, -0.25, 3.0]],
            None,
            None,
        ),
        (
            "msle",
            "MeanSquaredLogarithmicError",
            {},
            pos_true,
            pos_pred,
            None,
            ("mean_squared_logarithmic_error", {}),
        ),
        (
            "msle_negative_and_huge",
            "MeanSquaredLogarithmicError",
            {},
            [[1.0, 0.0, 3.0], [2.0, 1e6, 0.5]],
            msle_pred,
            None,
            None,
        ),
        ("huber", "Huber", {}, mse_true, regression(12, scale=2.0)[1], None, ("huber", {})),
        (
            "huber_delta_2_5_weighted",
            "Huber",
            {"delta": 2.5},
            mse_true,
            regression(13, scale=3.0)[1],
            weights(14, 4),
            ("huber", {"delta": 2.5}),
        ),
        ("huber_huge_errors", "Huber", {"delta": 1.5}, huge_true, huge_pred, None, None),
        ("log_cosh", "LogCosh", {}, mse_true, mse_pred, None, ("log_cosh", {})),
        ("log_cosh_huge_errors", "LogCosh", {}, huge_true, huge_pred, None, None),
        (
            "cosine_similarity",
            "CosineSimilarity",
            {},
            mse_true,
            mse_pred,
            None,
            ("cosine_similarity", {}),
        ),
        (
            "cosine_similarity_axis_0",
            "CosineSimilarity",
            {"axis": 0},
            mse_true,
            mse_pred,
            None,
            ("cosine_similarity", {"axis": 0}),
        ),
        (
            "cosine_similarity_zero_prediction",
            "CosineSimilarity",
            {},
            [[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]],
            [[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0]],
            None,
            None,
        ),
        # ---- binary cross-entropy
        (
            "bce",
            "BinaryCrossentropy",
            {},
            bin_true,
            bin_pred,
            None,
            ("binary_crossentropy", {}),
        ),
        ("bce_exact_0_1", "BinaryCrossentropy", {}, BCE_TRUE_EDGE, BCE_PROBS_EDGE, None, None),
        (
            "bce_logits_1000",
            "BinaryCrossentropy",
            {"from_logits": True},
            BCE_TRUE_EDGE,
            LOGITS_1000,
            weights(15, 5),
            None,
        ),
        (
            "bce_smoothing",
            "BinaryCrossentropy",
            {"label_smoothing": 0.2},
            bin_true,
            bin_pred,
            None,
            ("binary_crossentropy", {"label_smoothing": 0.2}),
        ),
        ("bce_axis_0", "BinaryCrossentropy", {"axis": 0}, bin_true, bin_pred, None, None),
        (
            "binary_focal",
            "BinaryFocalCrossentropy",
            {},
            bin_true,
            bin_pred,
            None,
            ("binary_focal_crossentropy", {}),
        ),
        (
            "binary_focal_balanced_logits_1000",
            "BinaryFocalCrossentropy",
            {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "from_logits": True},
            BCE_TRUE_EDGE,
            LOGITS_1000,
            None,
            None,
        ),
        (
            "binary_focal_exact_0_1_smoothing",
            "BinaryFocalCrossentropy",
            {"label_smoothing": 0.1},
            BCE_TRUE_EDGE,
            BCE_PROBS_EDGE,
            weights(16, 5),
            None,
        ),
        # ---- categorical cross-entropy
        (
            "cce",
            "CategoricalCrossentropy",
            {},
            cce_true,
            cce_probs,
            None,
            ("categorical_crossentropy", {}),
        ),
        ("cce_exact_0_1", "CategoricalCrossentropy", {}, CCE_TRUE, CCE_PROBS_EDGE, None, None),
        (
            "cce_logits_1000_smoothing",
            "CategoricalCrossentropy",
            {"from_logits": True, "label_smoothing": 0.1},
            CCE_TRUE,
            CCE_LOGITS_1000,
            weights(17, 4),
            None,
        ),
        (
            "cce_axis_1",
            "CategoricalCrossentropy",
            {"axis": 1},
            cce_axis_true,
            cce_axis_probs,
            None,
            None,
        ),
        (
            "categorical_focal",
            "CategoricalFocalCrossentropy",
            {},
            cce_true,
            cce_probs,
            None,
            ("categorical_focal_crossentropy", {}),
        ),
        (
            "categorical_focal_logits_1000",
            "CategoricalFocalCrossentropy",
            {"alpha": 0.5, "gamma": 3.0, "from_logits": True, "label_smoothing": 0.1},
            CCE_TRUE,
            CCE_LOGITS_1000,
            None,
            None,
        ),
        (
            "categorical_focal_exact_0_1",
            "CategoricalFocalCrossentropy",
            {},
            CCE_TRUE,
            CCE_PROBS_EDGE,
            None,
            None,
        ),
        # ---- sparse categorical cross-entropy
        (
            "scce",
            "SparseCategoricalCrossentropy",
            {},
            LABELS,
            cce_probs,
            None,
            ("sparse_categorical_crossentropy", {}),
        ),
        (
            "scce_exact_0_1",
            "SparseCategoricalCrossentropy",
            {},
            LABELS,
            CCE_PROBS_EDGE,
            None,
            None,
        ),
        (
            "scce_logits_1000",
            "SparseCategoricalCrossentropy",
            {"from_logits": True},
            LABELS,
            CCE_LOGITS_1000,
            weights(18, 4),
            None,
        ),
        (
            "scce_ignore_class",
            "SparseCategoricalCrossentropy",
            {"ignore_class": 2},
            LABELS,
            cce_probs,
            None,
            ("sparse_categorical_crossentropy", {"ignore_class": 2}),
        ),
        (
            "scce_ignore_class_logits_weighted",
            "SparseCategoricalCrossentropy",
            {"from_logits": True, "ignore_class": -1},
            [0, -1, 2, -1],
            logits(19),
            weights(20, 4),
            None,
        ),
        (
            "scce_ignore_class_sum",
            "SparseCategoricalCrossentropy",
            {"ignore_class": 0, "reduction": "sum"},
            LABELS,
            cce_probs,
            None,
            None,
        ),
        ("scce_sequence", "SparseCategoricalCrossentropy", {}, seq_labels, seq_probs, None, None),
        (
            "generalized_ce",
            "CategoricalGeneralizedCrossEntropy",
            {},
            LABELS,
            cce_probs,
            None,
            ("categorical_generalized_cross_entropy", {"q": 0.5}),
        ),
        (
            "generalized_ce_q_0_2_exact_0_1",
            "CategoricalGeneralizedCrossEntropy",
            {"q": 0.2},
            [0, 1, 2, 2],
            CCE_PROBS_EDGE,
            None,
            None,
        ),
        # ---- divergences
        (
            "kl_divergence",
            "KLDivergence",
            {},
            distributions(21),
            cce_probs,
            None,
            ("kl_divergence", {}),
        ),
        ("kl_divergence_exact_0_1", "KLDivergence", {}, CCE_TRUE, CCE_PROBS_EDGE, None, None),
        ("poisson", "Poisson", {}, pos_true, pos_pred, None, ("poisson", {})),
        (
            "poisson_zero_and_huge_rates",
            "Poisson",
            {},
            [[0.0, 3.0, 1.0], [2.0, 0.0, 5.0]],
            [[0.0, 1e6, 2.0], [0.0, 0.5, 1e-9]],
            weights(22, 2),
            None,
        ),
        # ---- hinge
        ("hinge_01_labels", "Hinge", {}, bin_true, hinge_pred, None, ("hinge", {})),
        (
            "hinge_pm1_labels",
            "Hinge",
            {},
            (2 * np.asarray(bin_true) - 1).tolist(),
            hinge_pred,
            None,
            None,
        ),
        ("squared_hinge", "SquaredHinge", {}, bin_true, hinge_pred, None, ("squared_hinge", {})),
        (
            "categorical_hinge",
            "CategoricalHinge",
            {},
            cce_true,
            hinge_pred,
            None,
            ("categorical_hinge", {}),
        ),
        # ---- segmentation
        ("dice", "Dice", {}, masks_true, masks_pred, None, ("dice", {})),
        (
            "dice_per_image_weighted",
            "Dice",
            {"axis": [1, 2]},
            masks_true,
            masks_pred,
            [0.5, 2.0],
            ("dice", {"axis": [1, 2]}),
        ),
        ("tversky", "Tversky", {}, masks_true, masks_pred, None, ("tversky", {})),
        (
            "tversky_per_row",
            "Tversky",
            {"alpha": 0.7, "beta": 0.3, "axis": 2},
            masks_true,
            masks_pred,
            None,
            ("tversky", {"alpha": 0.7, "beta": 0.3, "axis": 2}),
        ),
        # ---- similarity
        (
            "circle",
            "Circle",
            {},
            [0, 0, 1, 1, 2, 2],
            unit_embeddings(23),
            None,
            ("circle", {}),
        ),
        (
            "circle_lonely_sample_small_gamma",
            "Circle",
            {"gamma": 10.0, "margin": 0.25},
            [0, 0, 1, 1, 1, 2],
            unit_embeddings(24),
            weights(25, 6),
            None,
        ),
        (
            "circle_keep_diagonal",
            "Circle",
            {"gamma": 4.0, "remove_diagonal": False},
            [0, 1, 0, 1, 2, 2],
            unit_embeddings(26),
            None,
            None,
        ),
    ]


def keras_case(name, cls_name, config, y_true, y_pred, sample_weight, function):
    cls = getattr(keras.losses, cls_name)
    keras_config = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    loss = cls(**keras_config)
    unreduced = cls(**{**keras_config, "reduction": "none"})
    t = np.asarray(y_true, dtype=np.int64 if cls_name in INTEGER_TARGETS else np.float64)
    p = jnp.asarray(np.asarray(y_pred, dtype=np.float64))
    w = None if sample_weight is None else jnp.asarray(np.asarray(sample_weight, np.float64))
    value = loss(t, p, w)
    grad = jax.grad(lambda q: jnp.sum(loss(t, q, w)))(p)
    case = {
        "name": name,
        "class": cls_name,
        "config": config,
        "y_true": t.tolist(),
        "y_pred": tolist(p),
        "sample_weight": sample_weight,
        "value": tolist(value),
        "values_none": tolist(unreduced(t, p)),
        "grad": tolist(grad),
        "keras_config": jsonable(loss.get_config()),
    }
    if function is not None:
        fn_name, kwargs = function
        fn_kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        values = getattr(keras.losses, fn_name)(t, p, **fn_kwargs)
        case["function"] = {"name": fn_name, "kwargs": kwargs, "values": tolist(values)}
    return case


def jsonable(config):
    return {
        k: (
            list(v)
            if isinstance(v, tuple)
            else v
            if isinstance(v, (str, int, float, bool, type(None)))
            else repr(v)
        )
        for k, v in config.items()
    }


KERAS_CLASSES = [
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Huber",
    "LogCosh",
    "CosineSimilarity",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "SparseCategoricalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "KLDivergence",
    "Poisson",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "Dice",
    "Tversky",
    "Circle",
]


def keras_signatures():
    """Each class's constructor arguments and defaults (name defaults included)."""
    out = {}
    for cls_name in KERAS_CLASSES:
        parameters = inspect.signature(getattr(keras.losses, cls_name).__init__).parameters
        out[cls_name] = {
            k: p.default
            for k, p in parameters.items()
            if k not in ("self", "dtype") and p.default is not inspect.Parameter.empty
        }
    return out


# ---------------------------------------------------------------- torch


def torch_specs():
    """(name, torch class, torch config, input transform, gradstep class,
    gradstep config, scale, offset, y_true, y_pred)."""
    reg_true, reg_pred = regression(31, scale=2.0)
    bin_true, bin_pred = binary(32)
    labels = [0, 2, 1, 2]
    probs = distributions(33)
    target_probs = distributions(34)
    pos_true, pos_pred = positive(35)
    return [
        ("mse", "MSELoss", {}, "identity", "MeanSquaredError", {}, 1.0, 0.0, reg_true, reg_pred),
        ("l1", "L1Loss", {}, "identity", "MeanAbsoluteError", {}, 1.0, 0.0, reg_true, reg_pred),
        (
            "huber",
            "HuberLoss",
            {"delta": 1.5},
            "identity",
            "Huber",
            {"delta": 1.5},
            1.0,
            0.0,
            reg_true,
            reg_pred,
        ),
        (
            "smooth_l1",
            "SmoothL1Loss",
            {"beta": 1.5},
            "identity",
            "Huber",
            {"delta": 1.5},
            1 / 1.5,
            0.0,
            reg_true,
            reg_pred,
        ),
        (
            "bce",
            "BCELoss",
            {},
            "identity",
            "BinaryCrossentropy",
            {},
            1.0,
            0.0,
            bin_true,
            bin_pred,
        ),
        (
            "bce_with_logits_1000",
            "BCEWithLogitsLoss",
            {},
            "identity",
            "BinaryCrossentropy",
            {"from_logits": True},
            1.0,
            0.0,
            BCE_TRUE_EDGE,
            LOGITS_1000,
        ),
        (
            "cross_entropy_probabilities_smoothing",
            "CrossEntropyLoss",
            {"label_smoothing": 0.1},
            "identity",
            "CategoricalCrossentropy",
            {"from_logits": True, "label_smoothing": 0.1},
            1.0,
            0.0,
            CCE_TRUE,
            CCE_LOGITS_1000,
        ),
        (
            "cross_entropy_indices",
            "CrossEntropyLoss",
            {},
            "identity",
            "SparseCategoricalCrossentropy",
            {"from_logits": True},
            1.0,
            0.0,
            labels,
            logits(36),
        ),
        (
            "cross_entropy_ignore_index",
            "CrossEntropyLoss",
            {"ignore_index": 2},
            "identity",
            "SparseCategoricalCrossentropy",
            {"from_logits": True, "ignore_class": 2},
            1.0,
            0.0,
            labels,
            logits(37),
        ),
        (
            "nll",
            "NLLLoss",
            {},
            "log",
            "SparseCategoricalCrossentropy",
            {},
            1.0,
            0.0,
            labels,
            probs,
        ),
        (
            "kl_div_batchmean",
            "KLDivLoss",
            {"reduction": "batchmean"},
            "log",
            "KLDivergence",
            {},
            1.0,
            0.0,
            target_probs,
            probs,
        ),
        (
            "poisson_nll",
            "PoissonNLLLoss",
            {"log_input": False, "eps": 1e-7},
            "identity",
            "Poisson",
            {},
            1.0,
            0.0,
            pos_true,
            pos_pred,
        ),
        (
            "cosine_embedding",
            "CosineEmbeddingLoss",
            {},
            "identity",
            "CosineSimilarity",
            {},
            1.0,
            1.0,
            reg_true,
            reg_pred,
        ),
    ]


def torch_case(name, torch_class, config, transform, gs_class, gs_config, scale, offset, t, p):
    grad_relation = "equal_within_rows_up_to_a_constant" if torch_class == "NLLLoss" else "equal"
    loss = getattr(torch.nn, torch_class)(**config)
    integer = gs_class == "SparseCategoricalCrossentropy"
    target = torch.tensor(t, dtype=torch.int64 if integer else torch.float64)
    prediction = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    model_input = torch.log(prediction) if transform == "log" else prediction
    if torch_class == "CosineEmbeddingLoss":
        value = loss(target, model_input, torch.ones(len(t), dtype=torch.float64))
    else:
        value = loss(model_input, target)
    value.backward()
    return {
        "name": name,
        "torch_class": torch_class,
        "torch_config": config,
        "input_transform": transform,
        "gradstep_class": gs_class,
        "gradstep_config": gs_config,
        "scale": scale,
        "offset": offset,
        "grad_relation": grad_relation,
        "y_true": target.tolist(),
        "y_pred": tolist(p),
        "value": value.item(),
        "grad": tolist(prediction.grad.numpy()),
    }


# ---------------------------------------------------------------- main


def set_float64_demotion(enabled):
    """Keras's JAX promotion rule (float64 -> float32) on or off."""
    from keras.src.backend.common import dtypes

    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float32" if enabled else "float64"


def main():
    keras.config.set_floatx("float64")
    set_float64_demotion(False)
    out = {
        "generated_by": GENERATED_BY,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "floatx": keras.config.floatx(),
        "epsilon": keras.config.epsilon(),
        "keras_signatures": keras_signatures(),
        "keras": [keras_case(*spec) for spec in keras_specs()],
        "torch": [torch_case(*spec) for spec in torch_specs()],
    }
    os.makedirs(os.path.dirname(JSON_PATH), exist_ok=True)
    with open(JSON_PATH, "w") as fh:
        json.dump(out, fh, indent=1, allow_nan=False)
        fh.write("\n")
    print(f"wrote {os.path.normpath(JSON_PATH)}", file=sys.stderr)


if __name__ == "__main__":
    main()
