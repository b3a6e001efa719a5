"""Learning-rate schedules against Keras 3, PyTorch and scikit-learn
(tests/fixtures/schedules.json, made by tools/make_schedule_fixtures.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

from gradstep.optimizers import OPTIMIZERS, SGD, schedules

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "schedules.json").read_text())
CASES = FIXTURE["cases"]


def _build(case):
    return schedules.SCHEDULES.lookup_class(case["class_name"]).from_config(case["config"])


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_values_match_the_reference_at_every_step(case):
    schedule = _build(case)
    expected = np.array(case["values"])
    one_by_one = np.array([schedule(step) for step in case["steps"]])
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-7, atol=1e-15)
    all_at_once = schedule(np.array(case["steps"]))
    np.testing.assert_allclose(all_at_once, expected, rtol=1e-7, atol=1e-15)


def test_every_schedule_is_checked_against_a_reference():
    checked = {case["class_name"] for case in CASES}
    schedule_classes = {
        cls.__name__
        for cls in vars(schedules).values()
        if isinstance(cls, type)
        and issubclass(cls, schedules.LearningRateSchedule)
        and cls is not schedules.LearningRateSchedule
    }
    assert schedule_classes == checked


@pytest.mark.parametrize("class_name", sorted(FIXTURE["keras_configs"]))
def test_config_is_keras_config(class_name):
    keras_config = FIXTURE["keras_configs"][class_name]
    schedule = schedules.SCHEDULES.lookup_class(class_name).from_config(keras_config)
    assert schedule.get_config() == keras_config


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_config_round_trips_through_json(case):
    schedule = _build(case)
    saved = json.loads(json.dumps(schedules.serialize(schedule)))
    restored = schedules.deserialize(saved)
    assert restored == schedule and restored is not schedule
    steps = np.array(case["steps"])
    np.testing.assert_array_equal(restored(steps), schedule(steps))


def test_a_keras_serialized_schedule_loads():
    keras_form = {
        "module": "keras.optimizers.schedules",
        "class_name": "ExponentialDecay",
        "config": FIXTURE["keras_configs"]["ExponentialDecay"],
        "registered_name": None,
    }
    assert schedules.deserialize(keras_form).get_config() == keras_form["config"]


def test_names_from_other_libraries_resolve():
    for name, cls in [
        ("invscaling", schedules.InverseScaling),
        ("OneCycleLR", schedules.OneCycle),
        ("CyclicLR", schedules.Cyclic),
        ("LinearLR", schedules.LinearWarmup),
        ("cosine_decay", schedules.CosineDecay),
    ]:
        assert schedules.SCHEDULES.lookup(name) is cls


def test_a_scalar_step_gives_a_float_and_an_array_gives_an_array():
    schedule = schedules.CosineDecay(0.1, decay_steps=10)
    assert type(schedule(3)) is float and type(schedule(np.int64(3))) is float
    assert schedule(np.arange(4)).shape == (4,)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_takes_a_schedule_and_saves_it(name):
    schedule = schedules.PiecewiseConstantDecay(boundaries=[0, 1], values=[0.3, 0.2, 0.1])
    optimizer = OPTIMIZERS.lookup(name)(learning_rate=schedule)
    assert optimizer.learning_rate == 0.3
    config = json.loads(json.dumps(optimizer.get_config()))
    restored = type(optimizer).from_config(config)
    assert restored.get_config() == optimizer.get_config()
    assert restored.learning_rate == 0.3
    if getattr(optimizer, "requires_closure", False):
        return
    weights = [np.ones(3, dtype=np.float32)]
    optimizer.apply([np.full(3, 0.5, dtype=np.float32)], weights)
    assert optimizer.learning_rate == 0.2
    optimizer.apply([np.full(3, 0.5, dtype=np.float32)], weights)
    assert optimizer.learning_rate == 0.1


def test_sgd_steps_with_the_rate_of_each_step():
    """w_(t+1) = w_t - schedule(t) * g: step t uses the rate at iterations = t."""
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = SGD(learning_rate=schedule)
    weight = np.zeros(1, dtype=np.float64)
    for _ in range(4):
        optimizer.apply([np.ones(1)], [weight])
    np.testing.assert_allclose(weight, [-(0.1 + 0.05 + 0.025 + 0.0125)], rtol=1e-15)


def test_a_model_trains_with_a_schedule():
    from gradstep import layers, models

    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    schedule = schedules.OneCycle(max_lr=0.05, total_steps=20)
    model.compile(optimizer=SGD(learning_rate=schedule), loss="mse")
    x = np.random.default_rng(0).normal(size=(40, 2))
    history = model.fit(x, x @ [1.0, -2.0], batch_size=8, epochs=4, verbose=0)
    assert model.optimizer.iterations == 20
    assert model.optimizer.learning_rate == pytest.approx(schedule(20))
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9), "decay_steps"),
        (lambda: schedules.PolynomialDecay(0.1, decay_steps=-1), "decay_steps"),
        (lambda: schedules.CosineDecayRestarts(0.1, first_decay_steps=0), "first_decay_steps"),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "length of boundaries"),
        (lambda: schedules.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "increasing"),
        (lambda: schedules.InverseTimeDecay("0.1", 10, 0.5), "initial_learning_rate"),
        (lambda: schedules.CosineDecay(-0.1, 10), "initial_learning_rate"),
        (lambda: schedules.OneCycle(0.1), "total_steps, or epochs and steps_per_epoch"),
        (lambda: schedules.OneCycle(0.1, total_steps=10, anneal_strategy="cosine"), "'cos'"),
        (lambda: schedules.OneCycle(0.1, total_steps=10, pct_start=1.5), "pct_start"),
        (lambda: schedules.Cyclic(0.1, 0.2, mode="sawtooth"), "mode must be one of"),
        (lambda: schedules.LinearWarmup(0.1, start_factor=0), "start_factor"),
        (lambda: schedules.LinearWarmup(0.1, end_factor=2), "end_factor"),
    ],
)
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_one_cycle_refuses_steps_past_the_cycle_like_pytorch():
    schedule = schedules.OneCycle(max_lr=0.1, total_steps=10)
    schedule(10)
    with pytest.raises(ValueError, match="Tried to step 11 times.*total steps is 10"):
        schedule(11)


def test_negative_steps_are_refused():
    with pytest.raises(ValueError, match="non-negative steps"):
        schedules.CosineDecay(0.1, 10)(-1)


def test_deserialize_only_knows_registered_schedules():
    with pytest.raises(ValueError, match="Unknown learning rate schedule class 'os.system'"):
        schedules.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        schedules.get(0.1)


def test_linear_warmup_leads_into_another_schedule():
    decay = schedules.CosineDecay(0.1, decay_steps=100)
    warm = schedules.LinearWarmup(decay, warmup_steps=10, start_factor=0.1)
    steps = np.arange(0, 120, 7)
    factor = 0.1 + 0.9 * np.minimum(steps, 10) / 10
    np.testing.assert_allclose(warm(steps), decay(steps) * factor, rtol=1e-15)
    assert schedules.deserialize(schedules.serialize(warm)) == warm
