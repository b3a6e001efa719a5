"""``to_torch`` on recurrent and attention layers beyond the layer-case tables:
calls with several outputs (``return_state``, ``return_attention_scores``),
``initial_state`` in the graph, stateful layers, ``RNN(cell)`` with gradstep's
cells and stacks of them, and the cells' dropout. Outputs are compared with
gradstep's to 1e-5 of the largest (float32 round-off over a few steps of
products of a few dozen terms)."""

import numpy as np
import pytest

import functional_models
import gradstep
from gradstep import layers

pytestmark = pytest.mark.requires("torch", extra="interop")


def close(got, want, what=""):
    want = np.asarray(want, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(
        np.asarray(got, dtype=np.float64), want, rtol=0, atol=1e-5 * scale, err_msg=what
    )


def _as_list(value):
    return list(value) if isinstance(value, list | tuple) else [value]


def _run(module, arrays):
    import torch

    with torch.no_grad():
        return _as_list(module(*[torch.from_numpy(a) for a in arrays]))


def _compare(model, arrays, training=False):
    """The torch module's outputs are gradstep's (``predict``, or the
    training-mode call) for ``arrays``."""
    from gradstep.interop import to_torch

    module = to_torch(model)
    if training:
        module.train()
        want = _as_list(model(arrays if len(arrays) > 1 else arrays[0], training=True))
    else:
        want = _as_list(model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0))
    got = _run(module, arrays)
    assert len(got) == len(want) == len(model.outputs)
    for index, (g, w) in enumerate(zip(got, want, strict=True)):
        close(g.numpy(), w, f"output {index}")
    return module


def _inputs(model, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = (batch, *tensor.shape[1:])
        if tensor.dtype.startswith("int"):
            tokens = rng.integers(1, 6, size=shape)
            tokens[:, -2:] = 0  # masked steps at the end of each sequence
            tokens[0, 1] = 0  # and one in the middle
            arrays.append(tokens.astype(tensor.dtype))
        else:
            arrays.append(rng.normal(size=shape).astype("float32"))
    return arrays


# --- several outputs per node -----------------------------------------------------------
GRAPHS = ["encoder_decoder", "recurrent_states_as_features", "attention_scores_as_features"]


@pytest.mark.parametrize("training", [False, True], ids=["predict", "training"])
@pytest.mark.parametrize("builder", GRAPHS)
def test_graphs_whose_nodes_give_several_outputs(builder, training):
    model = getattr(functional_models, builder)(gradstep)
    _compare(model, _inputs(model), training)


def _states_model(rnn, masked=False, features=3):
    """A model whose outputs are an RNN call's several outputs."""
    if masked:
        tokens = gradstep.Input((6,), dtype="int32")
        x = layers.Embedding(7, features, mask_zero=True)(tokens)
        inputs = tokens
    else:
        inputs = x = gradstep.Input((6, features))
    return gradstep.Model(inputs, rnn(x))


RETURN_STATE = {
    "lstm": lambda: layers.LSTM(4, return_state=True),
    "lstm_sequences_backwards": lambda: layers.LSTM(
        3, return_state=True, return_sequences=True, go_backwards=True
    ),
    "gru": lambda: layers.GRU(4, return_state=True, return_sequences=True),
    "gru_reset_before": lambda: layers.GRU(3, return_state=True, reset_after=False),
    "simple_rnn_relu": lambda: layers.SimpleRNN(3, activation="relu", return_state=True),
    "lstm_hard_sigmoid": lambda: layers.LSTM(
        3, recurrent_activation="hard_sigmoid", return_state=True
    ),
    "bidirectional_concat": lambda: layers.Bidirectional(layers.LSTM(3, return_state=True)),
    "bidirectional_none": lambda: layers.Bidirectional(
        layers.GRU(2, return_state=True, return_sequences=True), merge_mode=None
    ),
    "bidirectional_none_no_state": lambda: layers.Bidirectional(
        layers.SimpleRNN(2), merge_mode=None
    ),
    "rnn_stacked_cells": lambda: layers.RNN(
        [layers.LSTMCell(3), layers.GRUCell(2)], return_state=True, return_sequences=True
    ),
}


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("kind", list(RETURN_STATE))
def test_return_state_gives_every_state(kind, masked):
    model = _states_model(RETURN_STATE[kind](), masked)
    assert len(model.outputs) > 1
    _compare(model, _inputs(model))
    _compare(model, _inputs(model, seed=1), training=True)


def test_attention_scores_with_several_attention_axes_and_masks():
    query = gradstep.Input((2, 3, 4))
    value = gradstep.Input((2, 5, 4))
    attention = layers.MultiHeadAttention(2, 3, attention_axes=(2,))
    output, scores = attention(query, value, return_attention_scores=True)
    model = gradstep.Model([query, value], [output, scores])
    assert model.outputs[1].shape == (None, 2, 2, 3, 5)
    _compare(model, _inputs(model))
    tokens = gradstep.Input((6,), dtype="int32")
    embedded = layers.Embedding(7, 4, mask_zero=True)(tokens)
    output, scores = layers.MultiHeadAttention(2, 2)(
        embedded, embedded, return_attention_scores=True, use_causal_mask=True
    )
    model = gradstep.Model(tokens, [layers.GlobalAveragePooling1D()(output), scores])
    _compare(model, _inputs(model))


# --- initial_state ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_initial_state_from_another_branch(kind):
    """The states come from a Dense layer on a second input; PyTorch's slope
    at every parameter is gradstep's, so training flows through the states."""
    import torch

    from gradstep.interop import to_torch

    sequences = gradstep.Input((5, 3))
    context = gradstep.Input((2,))
    count = 2 if kind == "LSTM" else 1
    states = [layers.Dense(4, activation="tanh")(context) for _ in range(count)]
    rnn = getattr(layers, kind)(4, return_sequences=True, go_backwards=kind == "GRU")
    output = layers.Dense(1)(rnn(sequences, initial_state=states))
    model = gradstep.Model([sequences, context], output)
    arrays = _inputs(model)
    _compare(model, arrays)
    y = np.random.default_rng(5).normal(size=(3, 5, 1)).astype("float32")
    module = to_torch(model).train()
    prediction = module(*[torch.from_numpy(a) for a in arrays])
    torch.mean((prediction - torch.from_numpy(y)) ** 2).backward()
    model.compile(optimizer="sgd", loss="mse")
    _, gradients = model.gradients(arrays, y)
    by_weight = {id(weight): gradient for _, weight, gradient in gradients}
    for link in module.gradstep_links:
        close(link.parameter.grad.numpy(), link.to_torch(by_weight[id(link.array)]), link.path)


# --- stateful layers --------------------------------------------------------------------
STATEFUL = {
    "lstm": lambda: layers.LSTM(3, stateful=True),
    "gru": lambda: layers.GRU(3, stateful=True, return_sequences=True),
    "gru_reset_before": lambda: layers.GRU(2, stateful=True, reset_after=False),
    "simple_rnn": lambda: layers.SimpleRNN(3, stateful=True, go_backwards=True),
    "stacked_cells": lambda: layers.RNN(
        layers.StackedRNNCells([layers.SimpleRNNCell(2), layers.LSTMCell(3)]), stateful=True
    ),
    "bidirectional": lambda: layers.Bidirectional(layers.LSTM(2, stateful=True)),
}


def _reset_states(model):
    """Each recurrent layer's ``reset_states()`` (gradstep's Bidirectional has
    none: its two layers')."""
    for layer in model.layers:
        pair = (getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None))
        for rnn in (layer, *pair):
            if hasattr(rnn, "cell"):
                rnn.reset_states()


@pytest.mark.parametrize("kind", list(STATEFUL))
def test_a_stateful_layer_keeps_its_states_between_calls(kind):
    """Consecutive batches continue the same sequences in both libraries, and
    ``reset_states()`` starts them again from zeros."""
    from gradstep.interop import to_torch

    model = gradstep.Sequential([gradstep.Input(batch_shape=(2, 4, 3)), STATEFUL[kind]()])
    batches = [
        np.random.default_rng(seed).normal(size=(2, 4, 3)).astype("float32") for seed in range(3)
    ]
    module = to_torch(model)
    first = [model.predict(batch, verbose=0) for batch in batches]
    for index, batch in enumerate(batches):
        close(_run(module, [batch])[0].numpy(), first[index], f"batch {index}")
    assert not np.allclose(first[0], model.predict(batches[0], verbose=0), atol=1e-4)
    _reset_states(model)
    module.reset_states()
    for index, batch in enumerate(batches[:2]):
        close(_run(module, [batch])[0].numpy(), first[index], f"after reset, batch {index}")
        model.predict(batch, verbose=0)
    with pytest.raises(ValueError, match="stateful"):
        _run(module, [np.zeros((3, 4, 3), np.float32)])


def test_a_stateful_layer_converted_mid_sequence_continues_from_its_states():
    from gradstep.interop import to_torch

    gru = layers.GRU(3, stateful=True)
    model = gradstep.Sequential([gradstep.Input(batch_shape=(2, 4, 3)), gru])
    batches = [
        np.random.default_rng(seed).normal(size=(2, 4, 3)).astype("float32") for seed in range(2)
    ]
    model.predict(batches[0], verbose=0)
    module = to_torch(model)
    close(_run(module, [batches[1]])[0].numpy(), model.predict(batches[1], verbose=0), "next")


# --- RNN(cell) --------------------------------------------------------------------------
CELLS = {
    "simple": lambda: layers.SimpleRNNCell(3),
    "lstm": lambda: layers.LSTMCell(3, activation="relu"),
    "gru": lambda: layers.GRUCell(3),
    "gru_reset_before": lambda: layers.GRUCell(2, reset_after=False),
    "list": lambda: [layers.GRUCell(2), layers.LSTMCell(3), layers.SimpleRNNCell(2)],
    "stacked": lambda: layers.StackedRNNCells([layers.LSTMCell(2), layers.GRUCell(3)]),
}


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("kind", list(CELLS))
def test_rnn_of_gradsteps_cells(kind, masked):
    rnn = layers.RNN(CELLS[kind](), return_sequences=True, go_backwards=kind == "stacked")
    model = _states_model(rnn, masked)
    _compare(model, _inputs(model))
    model = _states_model(layers.Bidirectional(layers.RNN(CELLS[kind]())), masked)
    _compare(model, _inputs(model), training=True)


def test_a_cell_written_outside_gradstep_is_refused_by_name():
    from gradstep.interop import to_torch

    class MyCell(layers.SimpleRNNCell):
        def step(self, run, t, states):
            output, new_states = super().step(run, t, states)
            return 2 * output, new_states

    model = _states_model(layers.RNN(MyCell(3), name="custom"))
    with pytest.raises(ValueError, match="layer 'custom' \\(RNN\\).*MyCell.*outside gradstep"):
        to_torch(model)
    stacked = layers.RNN([layers.LSTMCell(2), MyCell(2)], name="custom_stack")
    with pytest.raises(ValueError, match="'custom_stack'.*MyCell"):
        to_torch(_states_model(stacked))


# --- dropout ----------------------------------------------------------------------------
DROPOUT = {
    "lstm": lambda: layers.LSTM(4, dropout=0.3, recurrent_dropout=0.4, return_sequences=True),
    "lstm_input_only": lambda: layers.LSTM(4, dropout=0.5, return_state=True),
    "gru": lambda: layers.GRU(4, dropout=0.2, recurrent_dropout=0.5, return_sequences=True),
    "gru_reset_before": lambda: layers.GRU(
        3, dropout=0.4, recurrent_dropout=0.3, reset_after=False, return_sequences=True
    ),
    "simple_rnn": lambda: layers.SimpleRNN(3, recurrent_dropout=0.5, return_sequences=True),
    "stacked": lambda: layers.RNN(
        [layers.LSTMCell(3, dropout=0.5), layers.GRUCell(2, recurrent_dropout=0.5)],
        return_sequences=True,
    ),
    "bidirectional": lambda: layers.Bidirectional(
        layers.LSTM(2, dropout=0.3, recurrent_dropout=0.3, return_sequences=True)
    ),
}


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("kind", list(DROPOUT))
def test_dropout_in_eval_is_the_identity(kind, masked):
    model = _states_model(DROPOUT[kind](), masked)
    _compare(model, _inputs(model))


@pytest.mark.parametrize("kind", list(DROPOUT))
def test_dropout_in_training_uses_gradsteps_masks_as_gradstep_does(kind, monkeypatch):
    """The masks PyTorch draws, handed to gradstep's cells in the same order,
    give gradstep's training-mode outputs: each mask multiplies the same
    inputs (the same gate) at every step as in gradstep."""
    import torch

    from gradstep.interop import to_torch, torch_sequence
    from gradstep.layers.recurrent import cell as gradstep_cell

    model = _states_model(DROPOUT[kind]())
    (x,) = _inputs(model, batch=5)
    module = to_torch(model).train()
    drawn = []
    draw = torch_sequence.draw_masks

    def recording(rate, count, shape, like):
        masks = draw(rate, count, shape, like)
        if masks is not None:
            drawn.append(masks.numpy())
        return masks

    monkeypatch.setattr(torch_sequence, "draw_masks", recording)
    torch.manual_seed(0)
    got = _run(module, [x])
    assert drawn and any((masks == 0).any() for masks in drawn)
    queue = list(drawn)

    def replay(rng, rate, count, shape, dtype):
        if rate <= 0:
            return None
        masks = queue.pop(0)
        assert masks.shape == (count, *shape)
        return masks.astype(dtype)

    monkeypatch.setattr(gradstep_cell, "draw_masks", replay)
    want = _as_list(model(x, training=True))
    assert not queue
    for g, w in zip(got, want, strict=True):
        close(g.numpy(), w, kind)


def _identity_rnn(dropout, recurrent_dropout, units=400):
    """A linear SimpleRNN whose kernel and recurrent kernel are the identity:
    ``h_t = m x_t + m' h_{t-1}`` with the input mask ``m`` and recurrent mask ``m'``."""
    rnn = layers.SimpleRNN(
        units,
        activation="linear",
        use_bias=False,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        return_sequences=True,
    )
    model = gradstep.Sequential([gradstep.Input((5, units)), rnn])
    rnn.set_weights([np.eye(units, dtype=np.float32), np.zeros((units, units), np.float32)])
    return model, rnn


def test_an_input_dropout_mask_is_drawn_once_per_sequence_at_the_rate():
    """With a zero recurrent kernel, output t is ``x_t * m``: the same mask at
    every step (not one per step), zeros at the rate, kept values scaled by
    ``1 / (1 - rate)``."""
    import torch

    from gradstep.interop import to_torch

    model, _ = _identity_rnn(0.3, 0.0)
    module = to_torch(model).train()
    torch.manual_seed(1)
    x = np.ones((8, 5, 400), np.float32)
    outputs = _run(module, [x])[0].numpy()
    np.testing.assert_array_equal(outputs, np.broadcast_to(outputs[:, :1], outputs.shape))
    kept = outputs[outputs != 0]
    np.testing.assert_allclose(kept, 1 / 0.7, rtol=1e-6)
    dropped = float(np.mean(outputs[:, 0] == 0))  # 3200 draws: standard error 0.008
    assert abs(dropped - 0.3) < 0.04
    second = _run(module, [x])[0].numpy()
    assert not np.array_equal(second, outputs)  # each sequence draws its own
    module.eval()
    np.testing.assert_array_equal(_run(module, [x])[0].numpy(), x)


def test_a_recurrent_dropout_mask_is_drawn_once_per_sequence_at_the_rate():
    """With identity kernels and ``x_t = 1``, ``h_t = 1 + m' h_{t-1}``: a unit
    whose recurrent mask keeps it (m' = 2 at rate 0.5) runs 1, 3, 7, 15, 31,
    one that drops it stays at 1; a mask drawn per step would mix the two."""
    import torch

    from gradstep.interop import to_torch

    model, rnn = _identity_rnn(0.0, 0.5)
    rnn.set_weights([np.eye(400, dtype=np.float32), np.eye(400, dtype=np.float32)])
    module = to_torch(model).train()
    torch.manual_seed(2)
    outputs = _run(module, [np.ones((8, 5, 400), np.float32)])[0].numpy()
    kept = np.broadcast_to(np.array([1, 3, 7, 15, 31], np.float32)[None, :, None], outputs.shape)
    kept_units = np.all(outputs == kept, axis=1)
    dropped_units = np.all(outputs == 1, axis=1)
    assert np.all(kept_units | dropped_units)
    assert abs(float(dropped_units.mean()) - 0.5) < 0.04
