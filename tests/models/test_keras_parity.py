"""Training from the same initial weights with shuffle=False gives Keras 3's
weights, history, evaluate and predict, to float32 round-off.

The goldens come from tools/make_keras_training_fixtures.py (Keras 3 on JAX).

The tolerances are float32 round-off, not one CPU's: gradstep's round-off depends on
the BLAS kernel OpenBLAS picks for the CPU, Keras's on XLA's, and it grows over the
training steps. Nudging the initial weights by one ulp (tools/measure_roundoff.py)
moves the final weights by at most 2.4e-7 (9e-7 for the digits model), histories and
evaluate by 1.6e-7 and predict by 1.7e-6 (relative): the tolerances are at least twice
that. Under OpenBLAS's Haswell, Sandybridge, Nehalem and Katmai kernels the largest
difference from Keras is 0.56 of its tolerance (the digits model's predict: 2.7e-6).
"""

import numpy as np
import pytest

from gradstep import layers, models, optimizers

SMALL_CASES = [
    "adam_sparse_cce",
    "sgd_momentum_mse",
    "sgd_plain_mse_partial_batch",
    "sgd_nesterov_bce",
    "rmsprop_cce",
    "adam_validation",
]


def _case(keras_training, name):
    return next(case for case in keras_training["cases"] if case["name"] == name)


def _model(case):
    model = models.Sequential(seed=0)
    first, *rest = case["layers"]
    model.add(
        layers.Dense(
            first["units"], activation=first["activation"], input_shape=(first["input_dim"],)
        )
    )
    for spec in rest:
        model.add(layers.Dense(spec["units"], activation=spec["activation"]))
    optimizer = getattr(optimizers, case["optimizer"]["name"])(**case["optimizer"]["config"])
    model.compile(optimizer=optimizer, loss=case["loss"], metrics=case["metrics"])
    return model


def _train(case, x, y, initial_weights):
    model = _model(case)
    model.set_weights([np.asarray(w, dtype=np.float32) for w in initial_weights])
    history = model.fit(
        x,
        y,
        batch_size=case["batch_size"],
        epochs=case["epochs"],
        shuffle=False,
        validation_split=case["validation_split"],
        verbose=0,
    )
    return model, history


def _assert_history(history, case, rtol):
    """Keras's keys and values, and the learning rate, which gradstep records in
    every fit (Keras only with a learning-rate callback): constant here."""
    assert list(history.history) == [*case["history_keys"], "learning_rate"]
    for key, values in case["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=rtol, atol=1e-7, err_msg=key)
    rate = case["optimizer"]["config"].get("learning_rate", _default_rate(case))
    assert history.history["learning_rate"] == [rate] * case["epochs"]


def _default_rate(case):
    return getattr(optimizers, case["optimizer"]["name"])().learning_rate


@pytest.mark.parametrize("name", SMALL_CASES)
def test_training_matches_keras(keras_training, name):
    case = _case(keras_training, name)
    x = np.asarray(case["x"], dtype=np.float32)
    y = np.asarray(case["y"], dtype=case["y_dtype"])
    model, history = _train(case, x, y, case["initial_weights"])
    for ours, theirs in zip(model.get_weights(), case["final_weights"], strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs, dtype=np.float32), atol=1e-6)
    _assert_history(history, case, rtol=1e-5)
    np.testing.assert_allclose(
        model.evaluate(x, y, batch_size=case["batch_size"], verbose=0), case["evaluate"], rtol=1e-5
    )
    np.testing.assert_allclose(
        model.predict(x[:5], verbose=0), case["predict"], rtol=1e-5, atol=1e-7
    )


def test_reference_model_on_digits_matches_keras(keras_training, keras_reference_arrays):
    case = _case(keras_training, "reference_digits_subset")
    arrays = keras_reference_arrays
    initial = [arrays[f"w{i}"] for i in range(4)]
    model, history = _train(case, arrays["x"], arrays["y"], initial)
    for i, ours in enumerate(model.get_weights()):
        np.testing.assert_allclose(ours, arrays[f"f{i}"], atol=2e-6, err_msg=f"weight {i}")
    _assert_history(history, case, rtol=1e-5)
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["predict"], atol=5e-6)
