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
