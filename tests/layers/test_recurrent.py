"""Recurrent layers: backpropagation through time against float64 central
differences (every cell, several lengths, return_sequences on and off, masks,
go_backwards, return_state, initial_state, dropout), shapes, errors, saving."""

import numpy as np
import pytest

import gradstep
from gradstep import layers
from gradstep.testing import check_layer_gradients

CELLS = {
    "simple_rnn": lambda **kw: layers.SimpleRNN(3, dtype="float64", **kw),
    "lstm": lambda **kw: layers.LSTM(3, dtype="float64", bias_initializer="random_normal", **kw),
    "gru": lambda **kw: layers.GRU(3, dtype="float64", bias_initializer="random_normal", **kw),
    "gru_reset_before": lambda **kw: layers.GRU(
        3, reset_after=False, dtype="float64", bias_initializer="random_normal", **kw
    ),
}


def sequences(steps, batch=2, features=4, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features))


def step_mask(batch, steps, seed=1):
    mask = np.random.default_rng(seed).random((batch, steps)) > 0.4
    mask[:, 0] = True
    return mask


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("steps", [1, 2, 5])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bptt_matches_central_differences(kind, steps, return_sequences):
    layer = CELLS[kind](return_sequences=return_sequences)
    assert check_layer_gradients(layer, sequences(steps)) < 1e-6


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_bptt_with_masks(kind, return_sequences, go_backwards):
    layer = CELLS[kind](return_sequences=return_sequences, go_backwards=go_backwards)
    x = sequences(6, batch=3)
    mask = step_mask(3, 6)
    assert check_layer_gradients(layer, x, mask=mask) < 1e-6


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_bptt_with_return_state(kind):
    layer = CELLS[kind](return_sequences=True, return_state=True)
    assert check_layer_gradients(layer, sequences(4), mask=step_mask(2, 4)) < 1e-6


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.3, 0.4), (0.0, 0.4)])
def test_bptt_with_dropout(kind, rates):
    layer = CELLS[kind](dropout=rates[0], recurrent_dropout=rates[1])
    assert check_layer_gradients(layer, sequences(4)) < 1e-6


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bptt_with_initial_state(kind):
    layer = CELLS[kind](return_sequences=True)
    x = sequences(4)
    states = [
        np.random.default_rng(s).normal(size=(2, 3)) for s in range(2 if kind == "lstm" else 1)
    ]
    assert check_layer_gradients(layer, [x, *states]) < 1e-6
    output = layer(x, initial_state=states)
    assert output.shape == (2, 4, 3)
    assert not np.allclose(output, layer(x))


def test_stacked_cells_and_rnn():
    cells = [
        layers.LSTMCell(3, dtype="float64", dropout=0.2, recurrent_dropout=0.3),
        layers.GRUCell(2, dtype="float64"),
        layers.SimpleRNNCell(3, dtype="float64"),
    ]
    layer = layers.RNN(cells, return_sequences=True, return_state=True, dtype="float64")
    assert check_layer_gradients(layer, sequences(4), mask=step_mask(2, 4)) < 1e-6
    assert [w.shape for w in layer.get_weights()] == [
        (4, 12),
        (3, 12),
        (12,),
        (3, 6),
        (2, 6),
        (2, 6),
        (2, 3),
        (3, 3),
        (3,),
    ]


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional(merge_mode, return_sequences):
    layer = layers.Bidirectional(
        CELLS["lstm"](return_sequences=return_sequences), merge_mode=merge_mode
    )
    x = sequences(5)
    if merge_mode is None:
        output = layer(x)
        assert len(output) == 2
        return
    assert check_layer_gradients(layer, x, mask=step_mask(2, 5)) < 1e-6


def test_bidirectional_backward_layer_and_state():
    layer = layers.Bidirectional(
        layers.GRU(3, return_state=True, dtype="float64"),
        backward_layer=layers.GRU(3, return_state=True, go_backwards=True, dtype="float64"),
    )
    outputs = layer(sequences(4))
    assert [o.shape for o in outputs] == [(2, 6), (2, 3), (2, 3)]
    assert check_layer_gradients(layer, sequences(4)) < 1e-6


def test_time_distributed():
    layer = layers.TimeDistributed(layers.Dense(3, activation="tanh", dtype="float64"))
    assert check_layer_gradients(layer, sequences(5)) < 1e-7
    assert layer.compute_output_shape((None, 5, 4)) == (None, 5, 3)


def test_masking_layer_gradients_and_mask():
    x = sequences(5)
    x[0, 2] = 0.0
    x[1, 4] = 0.0
    layer = layers.Masking(dtype="float64")
    # Central differences would unmask a masked step: check away from them,
    # and that a masked step passes no slope.
    assert check_layer_gradients(layer, sequences(5)) < 1e-8
    output, keep = layer.forward(x)
    assert np.all(output[0, 2] == 0)
    slope, _ = layer.backward(keep, np.ones_like(x))
    assert np.all(slope[0, 2] == 0) and np.all(slope[0, 1] == 1)
    mask = layer.compute_mask(x)
    assert mask.tolist() == [[True, True, False, True, True], [True, True, True, True, False]]


def test_masked_steps_keep_state_and_output():
    layer = layers.LSTM(3, return_sequences=True, return_state=True)
    x = sequences(4).astype("float32")
    mask = np.array([[True, False, True, False], [True, True, True, True]])
    output, h, c = layer(x, mask=mask)
    np.testing.assert_array_equal(output[0, 1], output[0, 0])
    np.testing.assert_array_equal(output[0, 3], output[0, 2])
    np.testing.assert_array_equal(h[0], output[0, 2])
    # The same as running the unmasked steps only.
    short = layer(x[:1, [0, 2]])
    np.testing.assert_allclose(short[0][0, -1], output[0, -1], rtol=1e-6)


def test_go_backwards_returns_outputs_in_reverse_order():
    forward = layers.GRU(3, return_sequences=True)
    x = sequences(5).astype("float32")
    y = forward(x)
    backward = layers.GRU(3, return_sequences=True, go_backwards=True)
    backward.build((None, 5, 4))
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(backward(x[:, ::-1]), y, rtol=1e-6)


def test_stateful_layer_continues_and_resets():
    layer = layers.SimpleRNN(3, stateful=True)
    x = sequences(6).astype("float32")
    whole = layers.SimpleRNN(3)
    whole.build((None, 6, 4))
    layer.build((None, 3, 4))
    whole.set_weights(layer.get_weights())
    layer(x[:, :3])
    np.testing.assert_allclose(layer(x[:, 3:]), whole(x), rtol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(layer(x[:, :3]), whole(x[:, :3]), rtol=1e-6)


def test_unit_forget_bias_and_weight_layout():
    layer = layers.LSTM(2)
    layer.build((None, 3, 5))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (5, 8) and recurrent.shape == (2, 8)
    assert bias.tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    assert [name for name, _ in layer.named_weights()] == [
        "lstm_cell/kernel",
        "lstm_cell/recurrent_kernel",
        "lstm_cell/bias",
    ]


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (lambda: layers.LSTM(3, name="seq"), (2, 4), "'seq' expects inputs of rank 3"),
        (lambda: layers.GRU(3, name="g"), (2, 3, 4, 5), "'g' expects inputs of rank 3"),
    ],
)
def test_rank_errors_name_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer()(np.zeros(shape, "float32"))


def test_mask_shape_error_names_the_layer():
    layer = layers.LSTM(3, name="encoder")
    with pytest.raises(ValueError, match="'encoder': the mask must have shape"):
        layer(np.zeros((2, 5, 4), "float32"), mask=np.ones((2, 4), bool))


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(2))


def test_get_config_round_trip():
    layer = layers.GRU(4, reset_after=False, return_sequences=True, dropout=0.1, name="g")
    clone = layers.GRU.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    bi = layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="sum")
    again = layers.Bidirectional.from_config(bi.get_config())
    assert again.merge_mode == "sum" and again.return_sequences


def test_model_with_embedding_mask_trains_and_saves(tmp_path):
    gradstep.utils.set_random_seed(0)
    inputs = layers.Input(shape=(6,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(inputs)
    h = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(h)
    h = layers.GRU(3)(h)
    outputs = layers.Dense(1, activation="sigmoid")(h)
    model = gradstep.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, size=(16, 6))
    x[:, 4:] = 0
    y = (x[:, 0] > 4).astype("float32")
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "rnn.keras"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
