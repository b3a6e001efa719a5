"""Keras parity for Keras's extension points: a layer written with ``build``,
``add_weight``, ``call`` (``ops``), a sublayer and ``add_loss``; a subclassed
``Model`` with ``ops`` in its ``call``; a ``Loss`` subclass written with
``ops``; a ``Metric`` subclass with ``add_variable``. The same code
(tests/subclassing_models.py) runs on Keras in
tools/make_keras_subclassing_fixtures.py; here it runs on gradstep from the
same initial weights and must end at Keras's weights, losses and predictions
to float32 round-off."""

import json
import pathlib

import numpy as np
import pytest

import gradstep as keras
import subclassing_models

FIXTURE = json.loads(
    (pathlib.Path(__file__).parent.parent / "fixtures" / "keras_subclassing.json").read_text()
)
CASES = {case["name"]: case for case in FIXTURE["cases"]}
# float32 round-off over a few steps of a small model (as the other training goldens).
TOLERANCE = {"rtol": 2e-5, "atol": 2e-6}


@pytest.mark.parametrize("name", sorted(CASES))
def test_trains_as_keras_from_the_same_weights(name):
    case = CASES[name]
    keras.utils.set_random_seed(0)
    x, y = np.asarray(case["x"], np.float32), np.asarray(case["y_true"], np.float32)
    model = getattr(subclassing_models, case["model"])(keras)
    inputs, targets = ([x, y], None) if case.get("targets_as_input") else (x, y)
    model(inputs[:1] if targets is not None else [x[:1], y[:1]])
    assert [list(w.shape) for w in model.get_weights()] == case["weight_shapes"]
    model.set_weights([np.asarray(w, np.float32) for w in case["initial_weights"]])
    loss = case["loss"]
    if loss == "quantile_loss":
        loss = subclassing_models.quantile_loss(keras)
    metrics = [getattr(subclassing_models, m)(keras) for m in case.get("metrics", [])]
    model.compile(optimizer=keras.optimizers.get(case["optimizer"]), loss=loss, metrics=metrics)
    history = model.fit(
        inputs,
        targets,
        epochs=case["epochs"],
        batch_size=case["batch_size"],
        shuffle=False,
        verbose=0,
        validation_data=None if targets is None else (x[:4], y[:4]),
    )
    for found, expected in zip(model.get_weights(), case["final_weights"], strict=True):
        np.testing.assert_allclose(found, np.asarray(expected), **TOLERANCE)
    for key, values in case["history"].items():
        if key != "learning_rate":
            np.testing.assert_allclose(history.history[key], values, **TOLERANCE, err_msg=key)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), case["predict"], **TOLERANCE)
