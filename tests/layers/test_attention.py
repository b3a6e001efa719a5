"""Attention and AdditiveAttention: slopes against central differences in
float64 (every score mode, with and without a key, value and query masks,
the causal mask, dropout), eager calls, bad input. Keras parity is in
tests/layer_cases/attention.py."""

import numpy as np
import pytest

from gradstep import layers
from gradstep.testing import check_layer_gradients

rng = np.random.default_rng(0)
QUERY = rng.normal(size=(2, 5, 4))
VALUE = rng.normal(size=(2, 3, 4))
KEY = rng.normal(size=(2, 3, 4))
MASKS = [rng.random((2, 5)) > 0.3, np.array([[True, True, False], [True, False, True]])]

SETTINGS = [
    ("Attention", {}),
    ("Attention", {"use_scale": True}),
    ("Attention", {"score_mode": "concat"}),
    ("Attention", {"score_mode": "concat", "use_scale": True}),
    ("AdditiveAttention", {}),
    ("AdditiveAttention", {"use_scale": False}),
]


def make(class_name, config, **extra):
    return getattr(layers, class_name)(dtype="float64", **config, **extra)


@pytest.mark.parametrize(("class_name", "config"), SETTINGS)
@pytest.mark.parametrize("with_key", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_gradients(class_name, config, with_key, masked):
    layer = make(class_name, config)
    if config.get("use_scale") or class_name == "AdditiveAttention":
        layer.build([QUERY.shape, VALUE.shape])
        for weight in layer.trainable_weights:
            weight[...] = rng.normal(size=weight.shape)  # away from ones
    inputs = [QUERY, VALUE, KEY] if with_key else [QUERY, VALUE]
    assert check_layer_gradients(layer, inputs, mask=MASKS if masked else None) < 1e-6


@pytest.mark.parametrize(("class_name", "config"), SETTINGS[:2] + SETTINGS[4:5])
def test_gradients_causal_and_dropout(class_name, config):
    layer = make(class_name, config, dropout=0.4)
    layer._fix_causal(True)
    assert check_layer_gradients(layer, [QUERY, QUERY]) < 1e-6


def test_masks_as_keras():
    layer = layers.Attention()
    output, scores = layer([QUERY, VALUE], mask=MASKS, return_attention_scores=True)
    assert np.all(output[~MASKS[0]] == 0)
    assert np.allclose(scores[..., ~MASKS[1][0]][0], 0, atol=1e-6)
    assert np.allclose(scores.sum(-1), 1, atol=1e-6)
    causal, causal_scores = layers.Attention()(
        [QUERY, QUERY], use_causal_mask=True, return_attention_scores=True
    )
    assert np.allclose(np.triu(causal_scores[0], 1), 0)
    assert layer.compute_mask([QUERY, VALUE], MASKS) is MASKS[0]


def test_bad_input_names_the_layer():
    layer = layers.Attention(name="att")
    with pytest.raises(ValueError, match="att.*list of inputs"):
        layer(QUERY)
    with pytest.raises(ValueError, match="att.*length 2 or 3"):
        layer([QUERY])
    with pytest.raises(ValueError, match="att.*same number of steps"):
        layer([QUERY, VALUE, QUERY])
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="cosine")
    with pytest.raises(ValueError, match="dropout"):
        layers.Attention(dropout=1.5)


def test_config_round_trip():
    layer = layers.AdditiveAttention(use_scale=False, dropout=0.2, name="add")
    config = layer.get_config()
    assert "score_mode" not in config
    assert layers.AdditiveAttention.from_config(config).get_config() == config
