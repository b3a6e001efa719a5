"""Custom losses: a NumPy function (or a Loss with only call) trains, its slope
found by autograd; without autograd the error says what to do."""

import sys

import numpy as np
import pytest

from gradstep import Sequential, layers, losses, optimizers
from gradstep.testing import check_loss_gradients


def pseudo_huber(y_true, y_pred):
    """Written with plain NumPy: np.sqrt, np.square, np.mean."""
    error = y_pred - y_true
    return np.mean(np.sqrt(1 + np.square(error)) - 1, axis=-1)


def clipped_quantile(y_true, y_pred, tau=0.8):
    """np.where, np.clip, np.maximum and a keyword argument."""
    error = np.clip(y_true - y_pred, -5, 5)
    return np.mean(np.where(error >= 0, tau * error, (tau - 1) * error) + np.maximum(error, 0), -1)


class QuarticError(losses.Loss):
    """A Loss subclass that writes call only."""

    name = "quartic"

    def call(self, y_true, y_pred):
        return np.mean((y_pred - y_true) ** 4, axis=-1)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 3))
    return x, x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


@pytest.mark.requires("autograd", extra="autodiff")
def test_a_numpy_function_loss_trains_a_model():
    x, y = _data()
    model = Sequential([layers.Dense(1, input_shape=(3,))], seed=0)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss=pseudo_huber)
    history = model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    assert isinstance(model.loss, losses.LossFunctionWrapper)
    assert model.loss.name == "pseudo_huber"
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


@pytest.mark.parametrize(
    "loss",
    [
        losses.LossFunctionWrapper(pseudo_huber),
        losses.LossFunctionWrapper(clipped_quantile, tau=0.3, reduction="sum"),
        QuarticError(),
    ],
    ids=lambda loss: loss.name,
)
@pytest.mark.requires("autograd", extra="autodiff")
def test_autodiff_slope_passes_central_differences(loss):
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(scale=2, size=(5, 3))
    check_loss_gradients(loss, y_true, y_pred, sample_weight=rng.uniform(0.5, 2.0, size=5))


@pytest.mark.requires("autograd", extra="autodiff")
def test_autodiff_of_mean_squared_error_equals_the_analytic_slope():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    wrapped = losses.get(lambda t, p: np.mean((p - t) ** 2, axis=-1))
    np.testing.assert_allclose(
        wrapped.gradient(y_true, y_pred), losses.MeanSquaredError().gradient(y_true, y_pred)
    )


@pytest.mark.requires("autograd", extra="autodiff")
def test_tracing_leaves_autograd_unchanged_afterwards():
    from autograd.numpy.numpy_boxes import ArrayBox

    losses.get(pseudo_huber).gradient(np.zeros((2, 1)), np.ones((2, 1)))
    assert "__array_function__" not in vars(ArrayBox)


@pytest.mark.requires("autograd", extra="autodiff")
def test_threads_computing_slopes_at_once_all_get_them():
    """One thread's tracing must not undo another's while it runs (a grid
    search with the threading backend trains models side by side)."""
    from concurrent.futures import ThreadPoolExecutor

    from autograd.numpy.numpy_boxes import ArrayBox

    rng = np.random.default_rng(3)
    y_true, y_pred = rng.normal(size=(64, 3)), rng.normal(size=(64, 3))
    loss = losses.get(clipped_quantile)
    expected = loss.gradient(y_true, y_pred)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a long trace would
    try:
        with ThreadPoolExecutor(8) as pool:
            slopes = list(pool.map(lambda _: loss.gradient(y_true, y_pred), range(600)))
    finally:
        sys.setswitchinterval(interval)
    wrong = sum(not np.array_equal(slope, expected) for slope in slopes)
    assert wrong == 0, f"{wrong} of 600 slopes computed while another thread undid the tracing"
    assert "__array_function__" not in vars(ArrayBox)


def test_without_autograd_gradsteps_tape_gives_the_slope(monkeypatch):
    """NumPy functions on traced values run gradstep.ops: no autograd needed."""
    monkeypatch.setitem(sys.modules, "autograd", None)  # import autograd now fails
    loss = losses.get(pseudo_huber)
    assert loss([[0.0]], [[1.0]]) == pytest.approx(np.sqrt(2) - 1)
    assert loss.gradient([[0.0]], [[1.0]])[0, 0] == pytest.approx(1 / np.sqrt(2))
    assert QuarticError().gradient([[0.0]], [[1.0]])[0, 0] == pytest.approx(4.0)


def test_a_numpy_function_the_ops_lack_needs_autograd_and_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "autograd", None)

    def with_median(y_true, y_pred):
        return np.median(y_pred - y_true, axis=-1)

    with pytest.raises(TypeError, match="np.median has no differentiable op"):
        losses.get(with_median).gradient(np.zeros((2, 1)), np.ones((2, 1)))


@pytest.mark.requires("autograd", extra="autodiff")
def test_a_function_autograd_cannot_follow_gets_a_hint():
    def in_place(y_true, y_pred):
        out = np.zeros(len(y_pred))
        out[:] = np.mean(y_pred - y_true, axis=-1)
        return out

    with pytest.raises(RuntimeError, match="no in-place assignment.*call_gradient"):
        losses.get(in_place).gradient(np.zeros((2, 1)), np.ones((2, 1)))


def test_a_loss_from_a_function_comes_back_from_its_config_given_the_function():
    loss = losses.LossFunctionWrapper(clipped_quantile, tau=0.3)
    assert loss.get_config() == {
        "name": "clipped_quantile",
        "reduction": "sum_over_batch_size",
        "fn": "clipped_quantile",
        "tau": 0.3,
    }
    with pytest.raises(ValueError, match="custom_objects=\\{'clipped_quantile'"):
        losses.LossFunctionWrapper.from_config(loss.get_config())
    saved = losses.serialize(loss)
    again = losses.deserialize(saved, {"clipped_quantile": clipped_quantile})
    assert again.fn is clipped_quantile and again.get_config() == loss.get_config()


def test_a_non_callable_is_refused():
    with pytest.raises(TypeError, match="fn must be a function"):
        losses.LossFunctionWrapper(3)
