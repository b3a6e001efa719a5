import numpy as np
import pytest

from gradstep import optimizers


def test_worked_example_two_inputs():
    """SEED_FACTS 2: weights [1, 2], input [3, 4], target 6: prediction 11, error 5,
    gradient 2 * input * error = [30, 40], updated weights [0.7, 1.6], new error 2.5."""
    weights = np.array([1.0, 2.0])
    inputs, target = np.array([3.0, 4.0]), 6.0
    error = inputs @ weights - target
    assert error == 5
    gradient = 2 * inputs * error
    np.testing.assert_array_equal(gradient, [30, 40])
    optimizers.SGD(learning_rate=0.01).apply_gradients([(gradient, weights)])
    np.testing.assert_allclose(weights, [0.7, 1.6], rtol=1e-15)
    assert inputs @ weights - target == pytest.approx(2.5, abs=1e-12)


def test_iterations_count_steps_and_schedules_see_them():
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1 / (1 + step)

    optimizer = optimizers.SGD(learning_rate=schedule)
    weights = np.zeros(1)
    for _ in range(3):
        optimizer.apply_gradients([(np.ones(1), weights)])
    assert optimizer.iterations == 3
    assert seen[:3] == [0, 1, 2]
    np.testing.assert_allclose(weights, [-(0.1 + 0.05 + 0.1 / 3)])


def test_learning_rate_is_settable():
    optimizer = optimizers.Adam()
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == 0.5
    with pytest.raises(ValueError, match="learning_rate must be a non-negative float"):
        optimizer.learning_rate = -1


def test_clipnorm_clipvalue_global_clipnorm():
    gradient = np.array([3.0, 4.0])
    for kwargs, expected in [
        ({"clipnorm": 1.0}, [0.6, 0.8]),
        ({"clipvalue": 3.5}, [3.0, 3.5]),
        ({"global_clipnorm": 2.5}, [1.5, 2.0]),
    ]:
        weights = np.zeros(2)
        optimizers.SGD(learning_rate=1.0, **kwargs).apply_gradients([(gradient, weights)])
        np.testing.assert_allclose(-weights, expected)


def test_only_one_clipping_option():
    with pytest.raises(ValueError, match="Only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_weight_decay_is_decoupled():
    weights = np.array([10.0])
    optimizers.SGD(learning_rate=0.1, weight_decay=0.5).apply_gradients([(np.zeros(1), weights)])
    np.testing.assert_allclose(weights, [10.0 - 10.0 * 0.5 * 0.1])


def test_unknown_optimizer_suggests():
    with pytest.raises(ValueError, match="Unknown optimizer 'adma'.*'adam'"):
        optimizers.get("adma")


def test_slots_are_plain_named_arrays():
    optimizer = optimizers.Adam()
    weights = np.ones((2, 2))
    optimizer.apply_gradients([(np.ones((2, 2)), weights)])
    assert set(optimizer.variables) == {"momentum", "velocity"}
    assert optimizer.variables["momentum"][0].shape == (2, 2)


@pytest.mark.parametrize(
    "make", [optimizers.Adam, lambda: optimizers.SGD(momentum=0.9), optimizers.RMSprop]
)
def test_state_round_trip_resumes_to_the_bit(make):
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(10, 2, 3))
    straight, resumed = np.ones((2, 3)), np.ones((2, 3))
    first = make()
    for gradient in gradients:
        first.apply_gradients([(gradient, straight)])
    second = make()
    for gradient in gradients[:4]:
        second.apply_gradients([(gradient, resumed)])
    state = second.get_state()
    third = make()
    third.set_state(state, [resumed])
    for gradient in gradients[4:]:
        third.apply_gradients([(gradient, resumed)])
    np.testing.assert_array_equal(straight, resumed)
    assert third.iterations == 10


def test_bad_state_is_rejected_and_nothing_changes():
    optimizer = optimizers.Adam()
    weights = np.ones(3)
    optimizer.apply_gradients([(np.ones(3), weights)])
    state = optimizer.get_state()
    state["momentum/0"] = np.zeros(4)
    fresh = optimizers.Adam()
    with pytest.raises(ValueError, match=r"'momentum/0' must have shape \(3,\)"):
        fresh.set_state(state, [weights])
    assert fresh.iterations == 0 and not fresh.built
    del state["momentum/0"]
    with pytest.raises(ValueError, match=r"missing \['momentum/0'\]"):
        fresh.set_state(state, [weights])


# --- the catalogue ---------------------------------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from gradstep.optimizers import schedules  # noqa: E402

KERAS_FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "keras_optimizers.json").read_text("utf-8")
)
KERAS_DEFAULTS = {
    case["class"]: case["keras_config"]
    for case in KERAS_FIXTURE["keras"]
    if case["name"].endswith("_default")
}
CATALOGUE = [
    "SGD",
    "GD",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Lion",
    "Ftrl",
    "Adafactor",
    "Lamb",
    "Muon",
    "ScheduleFreeAdamW",
    "LBFGS",
]


@pytest.mark.parametrize("class_name", sorted(KERAS_DEFAULTS))
def test_defaults_and_config_keys_are_keras(class_name):
    """get_config() of a default optimizer equals Keras 3's, name aside."""
    ours = getattr(optimizers, class_name)().get_config()
    # gradstep's two extensions: where to put epsilon and what the momentum
    # buffer holds (PyTorch's conventions are options)
    assert ours.pop("epsilon_placement", "keras") == "keras"
    assert ours.pop("momentum_form", "keras") == "keras"
    keras = KERAS_DEFAULTS[class_name]
    assert set(ours) == set(keras)
    assert {k: v for k, v in ours.items() if k != "name"} == {
        k: v for k, v in keras.items() if k != "name"
    }


@pytest.mark.parametrize("class_name", sorted(KERAS_DEFAULTS))
def test_string_names_resolve_with_keras_defaults(class_name):
    """As keras.optimizers.get: the class name in lower case."""
    optimizer = optimizers.get(class_name.lower())
    assert type(optimizer).__name__ == class_name
    assert optimizer.get_config() == getattr(optimizers, class_name)().get_config()


@pytest.mark.parametrize("class_name", CATALOGUE)
def test_config_round_trips_with_a_schedule(class_name):
    cls = getattr(optimizers, class_name)
    schedule = schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5)
    optimizer = cls(learning_rate=schedule)
    config = optimizers.serialize(optimizer)
    again = optimizers.deserialize(json.loads(json.dumps(config)))
    assert type(again) is cls
    assert again.get_config() == optimizer.get_config()
    assert again.learning_rate == 0.1


@pytest.mark.parametrize("class_name", CATALOGUE)
def test_docstring_states_the_rule_and_cites_the_paper(class_name):
    doc = getattr(optimizers, class_name).__doc__
    assert "::" in doc and "<-" in doc, "an update-equation block"
    assert "Reference" in doc and "Args:" in doc
    assert "PyTorch" in doc


def test_deserialize_accepts_lower_case_class_names_as_keras():
    optimizer = optimizers.deserialize({"class_name": "adamw", "config": {"weight_decay": 0.1}})
    assert isinstance(optimizer, optimizers.AdamW) and optimizer.weight_decay == 0.1
    with pytest.raises(ValueError, match="Unknown optimizer class 'Adamm'"):
        optimizers.deserialize({"class_name": "Adamm", "config": {}})


# --- the options every optimizer takes -------------------------------------------------


def test_gradient_accumulation_moves_once_per_k_calls_by_the_mean():
    weights = np.zeros(2)
    optimizer = optimizers.SGD(1.0, gradient_accumulation_steps=3)
    for gradient in ([1.0, 0.0], [2.0, 3.0]):
        optimizer.apply_gradients([(np.array(gradient), weights)])
        np.testing.assert_array_equal(weights, 0.0)
    assert optimizer.iterations == 0
    optimizer.apply_gradients([(np.array([0.0, 3.0]), weights)])
    np.testing.assert_allclose(weights, [-1.0, -2.0])
    assert optimizer.iterations == 1 and optimizer.get_state()["iterations"] == 3


def test_schedules_see_every_call_with_accumulation_as_keras():
    seen = []
    optimizer = optimizers.SGD(lambda step: seen.append(step) or 0.1, gradient_accumulation_steps=2)
    weights = np.zeros(1)
    for _ in range(4):
        optimizer.apply_gradients([(np.ones(1), weights)])
    assert seen[-1] == 3  # the call count, not the update count


def test_ema_is_written_into_the_weights_at_the_end_of_fit():
    from gradstep import layers, models

    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    model.fit(x, x[:, :1], epochs=2, batch_size=4, verbose=0)
    for weight in model.trainable_weights:
        np.testing.assert_array_equal(weight, model.optimizer.slot("average", weight))


def test_ema_overwrite_frequency():
    weights = np.zeros(1)
    optimizer = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    optimizer.apply_gradients([(np.ones(1), weights)])  # w = -1, average = -1 (first: m = 0)
    np.testing.assert_array_equal(weights, -1.0)
    optimizer.apply_gradients([(np.ones(1), weights)])  # w = -2, average = -1.5, overwritten
    np.testing.assert_array_equal(weights, -1.5)


def test_exclude_from_weight_decay_by_name_and_by_variable():
    kernel, bias = np.ones(2), np.ones(2)
    optimizer = optimizers.SGD(0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.apply(
        [np.zeros(2), np.zeros(2)], [kernel, bias], variable_names=["dense/kernel", "dense/bias"]
    )
    np.testing.assert_allclose(kernel, 0.95)
    np.testing.assert_array_equal(bias, 1.0)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])
    other = optimizers.AdamW(0.1)
    other.exclude_from_weight_decay(var_list=[kernel])
    before = kernel.copy()
    other.apply([np.zeros(2)], [kernel])
    np.testing.assert_array_equal(kernel, before)


def test_clipping_of_zero_is_off_as_in_keras():
    weights = np.zeros(2)
    optimizers.SGD(1.0, clipnorm=0.0).apply_gradients([(np.array([3.0, 4.0]), weights)])
    np.testing.assert_array_equal(weights, [-3.0, -4.0])


def test_global_clipnorm_of_a_non_finite_norm_gives_nan_as_keras():
    weights = np.zeros(2)
    optimizers.SGD(1.0, global_clipnorm=1.0).apply_gradients([(np.array([np.inf, 1.0]), weights)])
    assert np.isnan(weights).all()


def test_learning_rate_of_a_schedule_is_not_settable_to_a_float():
    optimizer = optimizers.Adam(schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="created with a learning-rate schedule"):
        optimizer.learning_rate = 0.01
    optimizer.learning_rate = schedules.ExponentialDecay(0.2, 10, 0.5)
    assert optimizer.learning_rate == 0.2


def test_iterations_is_settable():
    optimizer = optimizers.Adam(gradient_accumulation_steps=2)
    optimizer.iterations = 5
    assert optimizer.iterations == 5 and optimizer.get_state()["iterations"] == 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"gradient_accumulation_steps": 1}, "gradient_accumulation_steps must be an integer >= 2"),
        ({"use_ema": True, "ema_momentum": 1.5}, r"ema_momentum must be a float in \[0, 1\]"),
        ({"use_ema": True, "ema_overwrite_frequency": 0}, "ema_overwrite_frequency must be"),
        ({"loss_scale_factor": 128.0}, "loss_scale_factor applies to mixed-precision"),
        ({"weight_decay": -1.0}, "weight_decay must be a non-negative float or None"),
    ],
)
def test_bad_options_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimizers.Adam(**kwargs)


def test_gradients_are_checked_and_none_is_skipped():
    a, b = np.ones(2), np.ones(3)
    optimizer = optimizers.SGD(0.5)
    with pytest.raises(ValueError, match=r"must have its variable's shape \(2,\)"):
        optimizer.apply([np.ones(3), np.ones(3)], [a, b])
    optimizer.apply([None, np.ones(3)], [a, b])
    np.testing.assert_array_equal(a, 1.0)
    np.testing.assert_array_equal(b, 0.5)
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizer.apply([None, None], [a, b])
    optimizer.apply([np.ones(2), np.ones(3)])  # built: the variables it was built with
    np.testing.assert_array_equal(a, 0.5)


def test_adamw_needs_a_weight_decay():
    with pytest.raises(ValueError, match="AdamW needs a float weight_decay"):
        optimizers.AdamW(weight_decay=None)
    assert optimizers.AdamW().weight_decay == 0.004


def test_a_learning_rate_callable_without_arguments_is_called_as_keras_does():
    rates = iter([0.5, 0.25])
    weights = np.zeros(1)
    optimizer = optimizers.SGD(lambda: next(rates))
    for _ in range(2):
        optimizer.apply_gradients([(np.ones(1), weights)])
    np.testing.assert_allclose(weights, [-0.75])
