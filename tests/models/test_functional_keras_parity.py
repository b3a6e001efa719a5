"""Functional models train to Keras 3's numbers from the same initial weights
(shuffle=False): two inputs with a shared layer and a residual Add, two
outputs with weighted losses and per-output metrics, every merge layer, and a
layer used at two depths. Weights, history, evaluate and predict agree to
float32 round-off: each step of gradstep and of Keras (XLA on the CPU) rounds
differently in the last bit, and three epochs of a few steps compound that to
a few units in 1e-6, as in the Sequential parity tests.

The goldens come from tools/make_keras_functional_fixtures.py (Keras 3 on JAX).
"""

import numpy as np
import pytest

import functional_models
import gradstep as keras
from gradstep import optimizers

BUILDERS = {
    "two_inputs_shared_residual_sgd": functional_models.two_inputs_shared_residual,
    "two_inputs_shared_residual_adam": functional_models.two_inputs_shared_residual,
    "two_outputs_weighted_with_metrics": functional_models.two_outputs,
    "every_merge_layer": functional_models.every_merge,
    "shared_at_two_depths": functional_models.shared_at_two_depths,
    "encoder_decoder_states": functional_models.encoder_decoder,
    "recurrent_states_as_features": functional_models.recurrent_states_as_features,
    "attention_scores_as_features": functional_models.attention_scores_as_features,
}


def _arrays(values: dict) -> dict:
    return {
        key: np.asarray(value, dtype=np.int64 if key == "label" else np.float32)
        for key, value in values.items()
    }


def _train(case):
    model = BUILDERS[case["name"]](keras)
    for layer in model.layers:
        if layer.name in case["initial_weights"]:
            layer.set_weights(
                [np.asarray(w, np.float32) for w in case["initial_weights"][layer.name]]
            )
    settings = dict(case["compile"])
    name, config = settings.pop("optimizer")
    model.compile(optimizer=getattr(optimizers, name)(**config), **settings)
    inputs, targets = _arrays(case["inputs"]), _arrays(case["targets"])
    x = [inputs[name] for name in model.input_names] if len(inputs) > 1 else inputs.popitem()[1]
    y = targets if len(targets) > 1 else targets["y"]
    history = model.fit(
        x, y, epochs=case["epochs"], batch_size=case["batch_size"], shuffle=False, verbose=0
    )
    return model, history, x, y


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_training_matches_keras(keras_functional, name):
    case = next(c for c in keras_functional["cases"] if c["name"] == name)
    model, history, x, y = _train(case)
    assert [layer.name for layer in model.layers] == case["layer_order"]
    for layer in model.layers:
        for ours, theirs in zip(
            layer.get_weights(), case["final_weights"].get(layer.name, []), strict=True
        ):
            np.testing.assert_allclose(ours, theirs, atol=2e-6, err_msg=layer.name)
    assert sorted(history.history) == sorted([*case["history"], "learning_rate"])
    for key, values in case["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, atol=1e-7, err_msg=key)
    evaluated = model.evaluate(x, y, batch_size=case["batch_size"], verbose=0, return_dict=True)
    assert sorted(evaluated) == sorted(case["evaluate"])
    for key, value in case["evaluate"].items():
        assert evaluated[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    predicted = model.predict(x, batch_size=case["batch_size"], verbose=0)
    expected = case["predict"]
    for ours, theirs in zip(
        predicted if isinstance(predicted, list) else [predicted],
        expected if len(model.outputs) > 1 else [expected],
        strict=True,
    ):
        # A prediction sums up to 14 weights (each within 2e-6 of Keras's, Adam's
        # steps moving them most) times inputs of size up to 3: up to ~3e-5.
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=3e-5)
