"""MultiHeadAttention: slopes against central differences in float64 (with
and without key, attention_mask, causal mask, Embedding's masks, dropout,
attention_axes, output_shape), calls as the Keras examples write them
(functional ``mha(x, x)``, inside a layer's ``call``), saving, and bad
input. Keras parity is in tests/layer_cases/attention.py."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, ops
from gradstep.layers.multi_head_attention import _CallLayout
from gradstep.testing import check_layer_gradients

rng = np.random.default_rng(0)
QUERY = rng.normal(size=(2, 5, 4))
VALUE = rng.normal(size=(2, 3, 6))
KEY = rng.normal(size=(2, 3, 2))


def make(layout=(False, False, False), **config):
    layer = layers.MultiHeadAttention(dtype="float64", **{"num_heads": 2, "key_dim": 3, **config})
    layer._fix_layout(_CallLayout(*layout))
    return layer


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"value_dim": 2, "output_shape": (3, 2)},
        {"use_bias": False, "num_heads": 1},
        {"dropout": 0.3},
        {"sliding_window": 2},
    ],
)
def test_gradients(config):
    assert check_layer_gradients(make(**config), [QUERY, VALUE]) < 1e-6


def test_gradients_with_key_attention_mask_and_causal_mask():
    attention_mask = (rng.random((2, 5, 5)) > 0.3).astype("float64")
    layer = make((True, True, True))
    assert check_layer_gradients(layer, [QUERY, QUERY, QUERY[..., :2], attention_mask]) < 1e-6
    assert check_layer_gradients(make((True, False, False)), [QUERY, VALUE, KEY]) < 1e-6


def test_gradients_with_query_and_value_masks():
    masks = [rng.random((2, 5)) > 0.3, np.array([[True, False, True], [False, True, True]])]
    assert check_layer_gradients(make(), [QUERY, VALUE], mask=masks) < 1e-6
    assert (
        check_layer_gradients(make((False, False, True)), [QUERY, QUERY], mask=masks[:1] * 2) < 1e-6
    )


@pytest.mark.parametrize("axes", [(2,), (1, 2)])
def test_gradients_over_attention_axes(axes):
    grid = rng.normal(size=(2, 3, 4, 5))
    assert check_layer_gradients(make(attention_axes=axes), [grid, grid]) < 1e-6


def test_scores_and_masks_as_keras():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    output, scores = mha(QUERY, QUERY, use_causal_mask=True, return_attention_scores=True)
    assert output.shape == QUERY.shape and scores.shape == (2, 2, 5, 5)
    assert np.allclose(np.triu(scores, 1), 0) and np.allclose(scores.sum(-1), 1, atol=1e-6)
    assert [w.shape for w in mha.get_weights()] == [
        (4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (2, 3, 4), (4,),
    ]  # fmt: skip
    assert [name for name, _ in mha.named_weights()][::2] == [
        "query/kernel", "key/kernel", "value/kernel", "attention_output/kernel",
    ]  # fmt: skip


def test_functional_self_attention_with_embedding_mask_trains_and_saves(tmp_path):
    tokens = keras.Input((6,), dtype="int32")
    embedded = layers.Embedding(10, 8, mask_zero=True)(tokens)
    attended = layers.MultiHeadAttention(2, 4)(embedded, embedded, use_causal_mask=True)
    pooled = layers.GlobalAveragePooling1D()(attended)
    model = keras.Model(tokens, layers.Dense(2, activation="softmax")(pooled))
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.integers(1, 10, (32, 6))
    x[:, 4:] = 0
    y = (x[:, 0] > 5).astype(int)
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    node = model.get_config()["layers"][2]["inbound_nodes"][0]
    assert node["kwargs"] == {"use_causal_mask": True} and len(node["args"]) == 2
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


class TransformerBlock(layers.Layer):
    """keras.io's "Text classification with Transformer"."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def test_keras_io_text_transformer_trains():
    """The tutorial's model, trimmed: 8 tokens of a vocabulary of 20; the
    label is whether the first token is above 10."""
    maxlen, vocab_size, embed_dim = 8, 20, 16
    keras.utils.set_random_seed(0)
    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, 2, 16)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_train = np.random.default_rng(0).integers(1, vocab_size, (64, maxlen))
    y_train = (x_train[:, 0] > 10).astype(int)
    history = model.fit(x_train, y_train, batch_size=16, epochs=40, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.8


def test_bad_input_names_the_layer():
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="key_dim"):
        layers.MultiHeadAttention(2, 2.5)
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes="time")
    mha = layers.MultiHeadAttention(2, 3, name="mha")
    with pytest.raises(TypeError, match="'mha' needs a value"):
        mha(QUERY)
    with pytest.raises(ValueError, match="'mha'.*value and key"):
        mha(QUERY, VALUE, key=QUERY)
    mha = layers.MultiHeadAttention(2, 3, name="mha2")
    mha(QUERY, QUERY)
    with pytest.raises(ValueError, match="'mha2'.*one call layout"):
        mha(QUERY, QUERY, use_causal_mask=True)
    symbolic = keras.Input((5, 4))
    mha = layers.MultiHeadAttention(2, 3, name="mha3")
    mha(symbolic, symbolic, return_attention_scores=True)
    with pytest.raises(ValueError, match="'mha3'.*one call layout"):
        mha(symbolic, symbolic)


def test_attention_scores_as_a_graph_output_carry_slopes():
    """``return_attention_scores=True`` on symbolic tensors: a node with two
    outputs; a loss on the scores and one on the output both reach every
    weight (float64 central differences), and the model round-trips a file."""
    import gradstep as keras
    from gradstep.testing import check_model_gradients

    query = keras.Input((4, 6), dtype="float64")
    mha = layers.MultiHeadAttention(2, 3, dtype="float64", name="mha")
    output, scores = mha(query, query, return_attention_scores=True, use_causal_mask=True)
    assert (output.shape, scores.shape) == ((None, 4, 6), (None, 2, 4, 4))
    from_scores = layers.Dense(1, dtype="float64")(layers.Flatten()(scores))
    model = keras.Model(query, [output, from_scores])
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 6))
    check_model_gradients(model, x, [rng.normal(size=(3, 4, 6)), rng.normal(size=(3, 1))])
    only_scores = keras.Model(query, from_scores)
    only_scores.compile(optimizer="sgd", loss="mse")
    check_model_gradients(only_scores, x, rng.normal(size=(3, 1)))
    eager_output, eager_scores = mha(x, x, return_attention_scores=True, use_causal_mask=True)
    np.testing.assert_array_equal(mha(x, x, use_causal_mask=True), eager_output)
    np.testing.assert_array_equal(model.predict(x, verbose=0)[0], eager_output)
    np.testing.assert_allclose(eager_scores.sum(axis=-1), 1.0)
