"""Learning-rate schedules against Keras 3, PyTorch and scikit-learn
(tests/fixtures/schedules.json, made by tools/make_schedule_fixtures.py)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradstep.optimizers import OPTIMIZERS, SGD, Adagrad, Adam, schedules

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "schedules.json").read_text())
CASES = FIXTURE["cases"]
MOMENTUM_CASES = [case for case in CASES if "momentum_values" in case]
# The custom CyclicLR scale functions of tools/make_schedule_fixtures.py, by name.
SCALE_FUNCTIONS = {
    "half_sine": lambda x: 0.5 * (1 + math.sin(x * math.pi / 2.0)),
    "inverse_root": lambda x: 1 / math.sqrt(x + 1),
}


def _build(case):
    config = dict(case["config"])
    if isinstance(config.get("scale_fn"), str):
        config["scale_fn"] = SCALE_FUNCTIONS[config["scale_fn"]]
    return schedules.SCHEDULES.lookup_class(case["class_name"]).from_config(config)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_values_match_the_reference_at_every_step(case):
    schedule = _build(case)
    expected = np.array(case["values"])
    one_by_one = np.array([schedule(step) for step in case["steps"]])
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-7, atol=1e-15)
    all_at_once = schedule(np.array(case["steps"]))
    np.testing.assert_allclose(all_at_once, expected, rtol=1e-7, atol=1e-15)


@pytest.mark.parametrize("case", MOMENTUM_CASES, ids=[case["name"] for case in MOMENTUM_CASES])
def test_cycled_momentum_matches_pytorch_at_every_step(case):
    """OneCycleLR and CyclicLR set the optimizer's momentum each step
    (cycle_momentum=True); schedule.momentum(step) gives the same values."""
    schedule = _build(case)
    expected = np.array(case["momentum_values"])
    one_by_one = np.array([schedule.momentum(step) for step in case["steps"]])
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-7, atol=1e-15)
    np.testing.assert_allclose(schedule.momentum(np.array(case["steps"])), expected, 1e-7)


def test_momentum_is_cycled_in_every_case_that_asks_for_it():
    for case in CASES:
        if case["class_name"] in ("OneCycle", "Cyclic"):
            cycles = case["config"].get("cycle_momentum", True)
            assert ("momentum_values" in case) == cycles, case["name"]


@pytest.mark.parametrize("case", FIXTURE["training"], ids=lambda case: case["name"])
def test_adam_under_a_momentum_cycling_schedule_matches_pytorch(case):
    """50 Adam steps under OneCycleLR / CyclicLR, whose beta_1 follows the
    schedule's momentum: PyTorch's parameters, in float64."""
    schedule = _build(case)
    torch_arguments = case["optimizer"]["torch_arguments"]
    optimizer = Adam(
        learning_rate=schedule,
        beta_1=torch_arguments["betas"][0],
        beta_2=torch_arguments["betas"][1],
        epsilon=torch_arguments["eps"],
        epsilon_placement="pytorch",
    )
    weight = np.array(case["start"])
    for gradient in case["gradients"]:
        optimizer.apply([np.array(gradient)], [weight])
    np.testing.assert_allclose(weight, case["final"], rtol=1e-6, atol=1e-12)
    assert optimizer.beta_1 == torch_arguments["betas"][0]  # its own value, after the steps


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


JSON_CASES = [case for case in CASES if not isinstance(case["config"].get("scale_fn"), str)]


@pytest.mark.parametrize("case", JSON_CASES, ids=[case["name"] for case in JSON_CASES])
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
    weights = [np.ones(3, dtype=np.float32)]
    gradient = np.full(3, 0.5, dtype=np.float32)
    optimizer.step(lambda: (1.0, [gradient]), weights)
    assert optimizer.learning_rate == 0.2
    optimizer.step(lambda: (1.0, [gradient]), weights)
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


def test_a_custom_scale_fn_round_trips_in_memory_but_not_to_a_file(tmp_path):
    from gradstep import layers, models

    schedule = schedules.Cyclic(0.01, 0.1, step_size_up=4, scale_fn=SCALE_FUNCTIONS["half_sine"])
    copy = schedules.deserialize(schedules.serialize(schedule))
    assert copy == schedule and copy(np.arange(20)).tolist() == schedule(np.arange(20)).tolist()
    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer=SGD(schedule), loss="mse")
    with pytest.raises(ValueError, match="cannot be saved.*not plain data"):
        model.save(tmp_path / "model.safetensors")


def test_scale_mode_decides_what_scale_fn_receives():
    seen = {"cycle": [], "iterations": []}
    for mode, calls in seen.items():
        schedule = schedules.Cyclic(
            0.0,
            1.0,
            step_size_up=2,
            scale_fn=lambda x, calls=calls: calls.append(x) or 1.0,
            scale_mode=mode,
        )
        schedule(np.arange(6))
    assert seen == {"cycle": [1, 1, 1, 1, 2, 2], "iterations": [0, 1, 2, 3, 4, 5]}


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_takes_a_momentum_cycling_schedule(name):
    """Those with a momentum or beta_1 cycle it; the others (Adagrad, Adadelta,
    Ftrl, Adafactor) follow the rate alone, where PyTorch would refuse."""
    optimizer = OPTIMIZERS.lookup(name)(learning_rate=schedules.OneCycle(0.1, total_steps=10))
    own = optimizer.get_config()
    weight = np.ones((4, 3))
    for _ in range(3):
        optimizer.step(lambda: (1.0, [np.full((4, 3), 0.5) + weight]), [weight])
    assert np.all(np.isfinite(weight)) and not np.all(weight == 1)
    assert optimizer.get_config() == own


def test_an_optimizer_without_momentum_follows_the_rate_alone():
    gradients = [np.full(3, g) for g in (1.0, -0.5, 2.0, 0.25)]
    cycling = schedules.OneCycle(max_lr=0.1, total_steps=10)
    plain = schedules.OneCycle(max_lr=0.1, total_steps=10, cycle_momentum=False)
    weights = []
    for schedule in (cycling, plain):
        weight, optimizer = np.zeros(3), Adagrad(schedule)
        for gradient in gradients:
            optimizer.apply([gradient], [weight])
        weights.append(weight)
    np.testing.assert_array_equal(*weights)


def test_sgd_without_momentum_gets_the_cycled_momentum_as_in_pytorch():
    """torch.optim.SGD(momentum=0) under OneCycleLR steps with the cycled
    momentum; so does gradstep's SGD, and keeps its own momentum=0 setting."""
    schedule = schedules.Cyclic(0.1, 0.1, step_size_up=2, base_momentum=0.5, max_momentum=0.5)
    optimizer = SGD(schedule)
    weight = np.zeros(1)
    for _ in range(3):
        optimizer.apply([np.ones(1)], [weight])
    # v = 0.5 v - 0.1 g: -0.1, -0.15, -0.175; w = sum of v
    np.testing.assert_allclose(weight, [-(0.1 + 0.15 + 0.175)], rtol=1e-15)
    assert optimizer.momentum == 0.0 and optimizer.get_config()["momentum"] == 0.0


def test_resuming_under_a_momentum_cycling_schedule_gives_the_same_weights():
    schedule = schedules.OneCycle(max_lr=0.05, total_steps=20)
    rng = np.random.default_rng(0)
    gradients = [rng.normal(size=4) for _ in range(20)]
    straight, weight = Adam(schedule), np.zeros(4)
    for gradient in gradients:
        straight.apply([gradient], [weight])
    first, resumed_weight = Adam(schedule), np.zeros(4)
    for gradient in gradients[:7]:
        first.apply([gradient], [resumed_weight])
    second = Adam.from_config(first.get_config())
    second.set_state(first.get_state(), [resumed_weight])
    for gradient in gradients[7:]:
        second.apply([gradient], [resumed_weight])
    np.testing.assert_array_equal(resumed_weight, weight)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: schedules.OneCycle(0.1, 10, cycle_momentum=1), TypeError, "cycle_momentum"),
        (lambda: schedules.OneCycle(0.1, 10, base_momentum=1.5), ValueError, "base_momentum"),
        (lambda: schedules.Cyclic(0.1, 0.2, max_momentum=-0.1), ValueError, "max_momentum"),
        (lambda: schedules.Cyclic(0.1, 0.2, scale_fn=0.5), TypeError, "scale_fn"),
        (lambda: schedules.Cyclic(0.1, 0.2, scale_mode="epochs"), ValueError, "scale_mode"),
    ],
)
def test_bad_momentum_arguments_name_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()
