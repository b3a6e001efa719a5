"""explain_step: the new value it prints is the weight after the model's own
train_on_batch, bit for bit, for every optimizer, loss, clipping, weight decay
and schedule, after some steps; the gradient it follows backward agrees with
the backward pass; the model is left as it was."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import losses, optimizers
from gradstep.lab import StepExplanation, explain_step

FIRST_ORDER = sorted(set(optimizers.OPTIMIZERS.names()) - {"lbfgs", "schedulefreeadamw"})


def _data(loss_name="sparse_categorical_crossentropy", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(12, 6)).astype("float32")
    labels = np.arange(12) % 3
    one_hot = np.eye(3, dtype="float32")[labels]
    if loss_name in (
        "sparse_categorical_crossentropy",
        "circle",
        "categorical_generalized_cross_entropy",
    ):
        y = labels
    elif loss_name in (
        "categorical_crossentropy",
        "categorical_focal_crossentropy",
        "categorical_generalized_cross_entropy",
        "categorical_hinge",
        "kl_divergence",
        "kld",
        "kullback_leibler_divergence",
    ):
        y = one_hot
    elif loss_name in (
        "binary_crossentropy",
        "bce",
        "binary_focal_crossentropy",
        "hinge",
        "squared_hinge",
        "dice",
        "tversky",
    ):
        y = (rng.random((12, 3)) > 0.5).astype("float32")
    else:  # regression: positive targets suit mape, msle and poisson too
        y = rng.uniform(0.5, 2.0, size=(12, 3)).astype("float32")
    return x, y


_OUTPUT_ACTIVATION = {
    "sparse_categorical_crossentropy": "softmax",
    "categorical_crossentropy": "softmax",
    "categorical_focal_crossentropy": "softmax",
    "categorical_generalized_cross_entropy": "softmax",
    "kl_divergence": "softmax",
    "kld": "softmax",
    "kullback_leibler_divergence": "softmax",
    "binary_crossentropy": "sigmoid",
    "bce": "sigmoid",
    "binary_focal_crossentropy": "sigmoid",
    "dice": "sigmoid",
    "tversky": "sigmoid",
    "poisson": "softplus",
    "msle": "softplus",
    "mean_squared_logarithmic_error": "softplus",
}


def _model(optimizer, loss="sparse_categorical_crossentropy", seed=0):
    model = keras.Sequential(
        [
            keras.layers.Input((6,)),
            keras.layers.Dense(5, activation="tanh", name="hidden"),
            keras.layers.Dense(3, activation=_OUTPUT_ACTIVATION.get(loss, "linear"), name="out"),
        ],
        seed=seed,
    )
    model.compile(optimizer=optimizer, loss=loss)
    return model


def _check_bit_for_bit(model, x, y, weight, index, warmup=3):
    for _ in range(warmup):
        model.train_on_batch(x, y)
    before = [w.copy() for w in model.get_weights()]
    explained = explain_step(model, x, y, weight=weight, index=index)
    after_explain = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after_explain, strict=True))
    model.train_on_batch(x, y)
    real = dict(model.named_weights())[weight][index]
    assert explained.new_value.dtype == real.dtype
    assert np.array_equal(explained.new_value, real), (explained.new_value, real)
    return explained


OPTIONS = {
    "plain": {},
    "clipnorm": {"clipnorm": 0.05},
    "clipvalue": {"clipvalue": 0.01},
    "global_clipnorm": {"global_clipnorm": 0.05},
    "weight_decay": {"weight_decay": 0.05},
    "schedule": {
        "learning_rate": optimizers.schedules.CosineDecay(
            0.01, decay_steps=20, warmup_target=0.05, warmup_steps=3
        )
    },
    "one_cycle": {"learning_rate": optimizers.schedules.OneCycle(0.05, total_steps=20)},
}


def _optimizer(name, **options):
    cls = optimizers.OPTIMIZERS.lookup(name)
    if name == "adamw" and "weight_decay" not in options:
        options["weight_decay"] = 0.004
    return cls(**options)


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("name", FIRST_ORDER)
def test_new_value_is_train_on_batch_bit_for_bit(name, option):
    model = _model(_optimizer(name, **OPTIONS[option]))
    x, y = _data()
    for weight, index in (("hidden/kernel", (3, 2)), ("out/bias", (1,))):
        explained = _check_bit_for_bit(model, x, y, weight, index)
        assert explained.update_number == model.optimizer.iterations
        assert str(explained.new_value) in str(explained)


@pytest.mark.parametrize(
    "options",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.9, "momentum_form": "pytorch", "nesterov": True},
    ],
)
def test_sgd_momentum_forms(options):
    model = _model(optimizers.SGD(0.05, **options))
    x, y = _data()
    explained = _check_bit_for_bit(model, x, y, "hidden/kernel", (0, 4))
    assert any("velocity" in name or "buffer" in name for name, _ in explained.update)


@pytest.mark.parametrize(
    "options", [{"centered": True}, {"momentum": 0.5}, {"momentum": 0.5, "centered": True}]
)
def test_rmsprop_variants(options):
    model = _model(optimizers.RMSprop(0.01, **options))
    x, y = _data()
    _check_bit_for_bit(model, x, y, "out/kernel", (2, 0))


def test_adam_amsgrad_and_pytorch_epsilon():
    for adam in (optimizers.Adam(amsgrad=True), optimizers.Adam(epsilon_placement="pytorch")):
        model = _model(adam)
        x, y = _data()
        _check_bit_for_bit(model, x, y, "hidden/kernel", (1, 1))


def test_ema_and_gradient_accumulation():
    x, y = _data()
    for options in (
        {"use_ema": True, "ema_overwrite_frequency": 2},
        {"gradient_accumulation_steps": 2},
    ):
        model = _model(optimizers.Adam(**options))
        for warmup in (3, 1):  # an updating call and an accumulating one
            _check_bit_for_bit(model, x, y, "hidden/kernel", (2, 2), warmup=warmup)


LOSSES = sorted(set(losses.LOSSES.names()) - {"circle"})


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss(loss):
    model = _model(optimizers.Adam(0.01), loss=loss)
    x, y = _data(loss)
    for weight, index in (("hidden/kernel", (3, 2)), ("out/kernel", (4, 1)), ("out/bias", (0,))):
        explained = _check_bit_for_bit(model, x, y, weight, index, warmup=2)
        _check_gradient_path(explained)


def test_circle_loss():
    model = keras.Sequential(
        [keras.layers.Input((6,)), keras.layers.Dense(4, name="embedding")], seed=0
    )
    model.compile(optimizer="adam", loss=losses.Circle())
    x, y = _data("circle")
    explained = _check_bit_for_bit(model, x, y, "embedding/kernel", (2, 3), warmup=2)
    _check_gradient_path(explained)


def _check_gradient_path(explained: StepExplanation):
    """The sum of the per-sample products is the backward pass's gradient, to
    float32 round-off of a sum of 12 products (relative to their magnitudes)."""
    path = explained.path
    assert path is not None and path.per_sample
    scale = sum(abs(s.slope) for s in path.samples) * path.sample_count + 1e-30
    assert abs(path.product_sum - float(explained.gradient)) <= 1e-5 * scale


def test_the_text_follows_the_lesson_form():
    model = _model(optimizers.SGD(0.1), loss="mse")
    x, y = _data("mse")
    explained = explain_step(model, x, y, weight="hidden/kernel", index=(3, 2))
    text = str(explained)
    assert "per sample: slope = dL/dout_2 x act'(z_2) x x_3" in text
    assert "sum over the batch (12 samples)" in text
    sample = explained.path.samples[0]
    assert sample.slope == pytest.approx(
        sample.loss_slope * sample.activation_slope * sample.input_value
    )
    assert ("learning rate at this update", np.float64(0.1)) in explained.update
    step = dict(explained.update)["step = g * learning_rate, subtracted"]
    assert step == np.float32(explained.gradient) * np.float32(0.1)
    assert explained.new_value == explained.value_before - step
    assert explained._repr_markdown_().startswith("**Update 1 of SGD")
    assert "<table>" in explained._repr_html_()


def test_schedule_rate_is_the_one_used():
    schedule = optimizers.schedules.CosineDecay(0.01, 10, warmup_target=0.1, warmup_steps=4)
    model = _model(optimizers.SGD(schedule))
    x, y = _data()
    for _ in range(2):
        model.train_on_batch(x, y)
    explained = explain_step(model, x, y, weight="out/bias", index=(0,))
    assert dict(explained.update)["learning rate at this update"] == pytest.approx(schedule(2))


def test_clipnorm_shows_the_norm_and_factor():
    model = _model(optimizers.SGD(0.1, clipnorm=1e-4))
    x, y = _data()
    explained = explain_step(model, x, y, weight="hidden/kernel", index=(0, 0))
    values = dict(explained.update)
    kernel_gradient = model.gradients(x, y)[1][0].gradient
    norm = np.sqrt(np.sum(np.square(kernel_gradient, dtype=np.float64)))
    assert values["gradient norm ||g|| of this weight array"] == pytest.approx(norm)
    assert values["clip factor clipnorm / max(||g||, clipnorm)"] == pytest.approx(1e-4 / norm)


def test_other_layers_fall_back_to_the_backward_gradient():
    model = keras.Sequential(
        [
            keras.layers.Input((6, 6, 1)),
            keras.layers.Conv2D(2, 3, name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 6, 6, 1)).astype("float32"), np.arange(4) % 3
    explained = _check_bit_for_bit(model, x, y, "conv/kernel", (1, 2, 0, 1))
    assert "the product form per sample is shown for Dense kernels and biases only" in str(
        explained
    )
    assert explained.path.layer_slope == explained.gradient


def test_bad_arguments():
    model = _model(optimizers.Adam())
    x, y = _data()
    with pytest.raises(ValueError, match="no trainable weight 'nope/kernel'"):
        explain_step(model, x, y, weight="nope/kernel", index=(0, 0))
    with pytest.raises(ValueError, match=r"index must name one entry of 'hidden/kernel'"):
        explain_step(model, x, y, weight="hidden/kernel", index=(6, 0))
    lbfgs = _model(optimizers.LBFGS())
    with pytest.raises(ValueError, match="line search evaluates the loss"):
        explain_step(lbfgs, x, y, weight="hidden/kernel", index=(0, 0))


def test_a_cycled_momentum_is_the_one_used():
    schedule = optimizers.schedules.OneCycle(0.05, total_steps=20)
    model = _model(optimizers.SGD(schedule, momentum=0.9))
    x, y = _data()
    explained = _check_bit_for_bit(model, x, y, "out/kernel", (1, 1), warmup=4)
    values = dict(explained.update)
    assert values["learning rate at this update"] == pytest.approx(schedule(4))
    assert values["momentum (or beta_1) at this update"] == pytest.approx(schedule.momentum(4))


def test_a_regularized_weight_shows_the_penalty_slope():
    model = keras.Sequential(
        [
            keras.layers.Input((6,)),
            keras.layers.Dense(4, activation="relu", kernel_regularizer="l2", name="hidden"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data()
    explained = _check_bit_for_bit(model, x, y, "hidden/kernel", (2, 1))
    weight = explained.value_before
    penalty = float(explained.gradient) - float(explained.path.layer_slope)
    assert penalty == pytest.approx(2 * 0.01 * float(weight), rel=1e-4)
    assert "is the slope of the weight's regularizer" in str(explained)


def test_a_constrained_weight_ends_at_the_constraint():
    model = keras.Sequential(
        [
            keras.layers.Input((6,)),
            keras.layers.Dense(
                4, activation="tanh", kernel_constraint=keras.constraints.MaxNorm(0.1), name="h"
            ),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        seed=0,
    )
    model.compile(optimizer=optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    x, y = _data()
    explained = _check_bit_for_bit(model, x, y, "h/kernel", (0, 3))
    assert explained.constraint == "MaxNorm"
    assert "then the weight's constraint MaxNorm applies" in str(explained)


def test_embedding_and_batch_normalization_weights():
    model = keras.Sequential(
        [
            keras.layers.Input((5,), dtype="int32"),
            keras.layers.Embedding(10, 4, name="embedding"),
            keras.layers.Flatten(),
            keras.layers.BatchNormalization(name="norm"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        seed=0,
    )
    model.compile(optimizer=optimizers.Nadam(0.01), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 10, size=(8, 5)), np.arange(8) % 3
    for weight, index in (("embedding/embeddings", (3, 2)), ("norm/gamma", (5,))):
        explained = _check_bit_for_bit(model, x, y, weight, index)
        assert explained.path.layer_slope == explained.gradient
