"""L-BFGS is PyTorch's torch.optim.LBFGS step for step: the same arguments give
PyTorch's parameters and losses in float64, with the fixed step and with the
strong-Wolfe line search, directly and through model.fit (full batch)."""

import json
from pathlib import Path

import numpy as np
import pytest

from gradstep import callbacks, layers, models, optimizers

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "keras_optimizers.json").read_text("utf-8")
)
CASES = {case["name"]: case for case in FIXTURE["lbfgs"]}


def rosenbrock_closure(weights):
    def closure():
        x, y = weights[0]
        valley = y - x * x
        loss = (1 - x) ** 2 + 100 * valley**2
        return loss, [np.array([-2 * (1 - x) - 400 * x * valley, 200 * valley])]

    return closure


def lbfgs(kwargs):
    arguments = dict(kwargs)
    if "lr" in arguments:
        arguments["learning_rate"] = arguments.pop("lr")
    return optimizers.LBFGS(**arguments)


@pytest.mark.parametrize("name", sorted(n for n in CASES if n.startswith("rosenbrock")))
def test_matches_pytorch_on_the_rosenbrock_function(name):
    case = CASES[name]
    weights = [np.array(case["problem"]["initial"][0], dtype=np.float64)]
    optimizer = lbfgs(case["kwargs"])
    for call in range(case["calls"]):
        loss = optimizer.step(rosenbrock_closure(weights), weights)
        # the same path, but round-off grows over the calls; near the minimum
        # a loss of 1e-3 moves in its 6th digit when the weights move in their 8th
        assert loss == pytest.approx(case["losses"][call], rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(weights[0], case["snapshots"][call][0], rtol=1e-6, atol=1e-9)
    state = optimizer.get_state()
    assert int(state["func_evals"]) == case["func_evals"]
    assert int(state["n_iter"]) == case["n_iter"]


class _Snapshots(callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


@pytest.mark.parametrize("name", sorted(n for n in CASES if n.startswith("mlp")))
def test_model_fit_with_lbfgs_matches_pytorch(name):
    case = CASES[name]
    problem = case["problem"]
    x, y = np.array(problem["x"]), np.array(problem["y"])
    model = models.Sequential(
        [
            layers.Dense(4, activation="tanh", input_shape=(3,), dtype="float64"),
            layers.Dense(2, dtype="float64"),
        ],
        seed=0,
    )
    model.compile(optimizer=lbfgs(case["kwargs"]), loss="mse")
    model.set_weights([np.array(w) for w in problem["weights"]])
    snapshots = _Snapshots()
    history = model.fit(x, y, epochs=case["calls"], verbose=0, callbacks=[snapshots])
    np.testing.assert_allclose(history.history["loss"], case["losses"], rtol=1e-6)
    for ours, theirs in zip(snapshots.weights, case["snapshots"], strict=True):
        for mine, torch in zip(ours, theirs, strict=True):
            assert mine.dtype == np.float64
            np.testing.assert_allclose(mine, np.array(torch), rtol=1e-6, atol=1e-9)


def test_stops_at_once_when_the_gradient_is_already_flat():
    weights = [np.array([1.0, 1.0])]
    optimizer = optimizers.LBFGS()
    assert optimizer.step(rosenbrock_closure(weights), weights) == 0.0
    np.testing.assert_array_equal(weights[0], [1.0, 1.0])
    assert int(optimizer.get_state()["func_evals"]) == 1


def test_apply_without_a_closure_is_refused():
    with pytest.raises(TypeError, match=r"call step\(closure\)"):
        optimizers.LBFGS().apply([np.ones(2)], [np.ones(2)])


def test_fit_refuses_mini_batches():
    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer="lbfgs", loss="mse")
    with pytest.raises(ValueError, match="uses the whole data set .10 samples. as one batch"):
        model.fit(np.ones((10, 2)), np.ones(10), batch_size=4, verbose=0)


def test_arguments_are_checked_and_round_trip():
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe'"):
        optimizers.LBFGS(line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size must be a positive integer"):
        optimizers.LBFGS(history_size=0)
    optimizer = optimizers.LBFGS(learning_rate=0.5, history_size=7, line_search_fn="strong_wolfe")
    config = optimizer.get_config()
    assert config == optimizers.LBFGS.from_config(config).get_config()
    assert config["max_eval"] is None and config["learning_rate"] == 0.5


def test_bad_state_is_rejected():
    weights = [np.array([-1.5, 2.0])]
    optimizer = optimizers.LBFGS(max_iter=3)
    optimizer.step(rosenbrock_closure(weights), weights)
    state = optimizer.get_state()
    state["direction"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"'direction' must have shape \(2,\)"):
        optimizers.LBFGS(max_iter=3).set_state(state, weights)
