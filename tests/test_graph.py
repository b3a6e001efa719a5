"""The graph: symbolic tensors and nodes, the order the nodes run in, and the
chain rule's sums where a tensor or a layer is used more than once."""

import warnings

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers
from gradstep.graph import Graph, SymbolicTensor
from gradstep.testing import check_model_gradients


def test_calling_a_layer_on_a_symbolic_tensor_records_a_node():
    inputs = keras.Input(shape=(4,), name="features")
    dense = layers.Dense(3, name="hidden")
    hidden = dense(inputs)
    assert isinstance(hidden, SymbolicTensor) and hidden.shape == (None, 3)
    assert hidden.node.layer is dense and hidden.node.inputs is inputs
    assert hidden.history == (dense, 0, 0) and dense.built
    again = dense(inputs)
    assert again.node.index == 1 and len(dense.inbound_nodes) == 2


def test_nodes_run_after_their_inputs_in_keras_order():
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(2,), name="b")
    left = layers.Dense(2, name="left")(a)
    right = layers.Dense(2, name="right")(b)
    out = layers.Dense(1, name="out")(layers.Add(name="add")([left, right]))
    graph = Graph([a, b], [out])
    # Keras's order: by depth from the outputs, deepest first, then by first use.
    assert [layer.name for layer in graph.layers] == ["a", "b", "left", "right", "add", "out"]
    order = [node.layer.name for node in graph.nodes]
    assert order.index("add") > max(order.index("left"), order.index("right"))


def _float64_model(inputs, outputs, loss="mse"):
    model = keras.Model(inputs, outputs, seed=0)
    model.compile(optimizer="sgd", loss=loss)
    return model


def test_a_tensor_used_twice_gets_the_sum_of_both_slopes():
    """y = out(t + t) with t = dense(x): the slope at t is twice the slope at the sum."""
    x = keras.Input(shape=(3,), dtype="float64")
    t = layers.Dense(2, activation="tanh", dtype="float64")(x)
    out = layers.Dense(1, dtype="float64")(layers.Concatenate()([t, layers.Add()([t, t])]))
    model = _float64_model(x, out)
    rng = np.random.default_rng(0)
    check_model_gradients(model, rng.normal(size=(5, 3)), rng.normal(size=(5, 1)))


def test_a_layer_used_twice_gets_the_sum_of_its_slopes():
    a, b = keras.Input(shape=(3,), dtype="float64"), keras.Input(shape=(3,), dtype="float64")
    shared = layers.Dense(3, activation="tanh", dtype="float64")
    twice = shared(shared(a))  # at two depths
    merged = layers.Multiply()([twice, shared(b)])
    model = _float64_model([a, b], layers.Dense(2, dtype="float64")(merged))
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(6, 3)), rng.normal(size=(6, 3))]
    check_model_gradients(model, x, rng.normal(size=(6, 2)))


def test_two_outputs_with_weighted_losses_and_a_fused_softmax():
    x = keras.Input(shape=(4,), dtype="float64")
    trunk = layers.Dense(5, activation="relu", dtype="float64")(x)
    label = layers.Dense(3, activation="softmax", dtype="float64", name="label")(trunk)
    score = layers.Dense(1, dtype="float64", name="score")(layers.Concatenate()([trunk, x]))
    model = keras.Model(x, [label, score], seed=0)
    model.compile(
        optimizer="sgd",
        loss=["sparse_categorical_crossentropy", "huber"],
        loss_weights=[0.7, 2.0],
    )
    compiled_loss, _ = model._compiled_for_outputs()
    assert len(compiled_loss.fused_steps) == 1  # softmax + cross-entropy: p - y
    rng = np.random.default_rng(2)
    data = rng.normal(size=(8, 4))
    check_model_gradients(
        model, data, [rng.integers(0, 3, size=8), rng.normal(size=(8, 1))], rng.uniform(size=8)
    )


def test_an_output_that_also_feeds_a_layer_is_not_fused():
    x = keras.Input(shape=(4,), dtype="float64")
    probabilities = layers.Dense(3, activation="softmax", dtype="float64")(x)
    echo = layers.Dense(1, dtype="float64")(probabilities)
    model = keras.Model(x, [probabilities, echo], seed=0)
    model.compile(optimizer="sgd", loss=["categorical_crossentropy", "mse"])
    assert not model._compiled_for_outputs()[0].fused_steps
    rng = np.random.default_rng(3)
    y = [np.eye(3)[rng.integers(0, 3, size=6)], rng.normal(size=(6, 1))]
    check_model_gradients(model, rng.normal(size=(6, 4)), y)


def test_nested_model_slopes_flow_through_it():
    inner = keras.Sequential(
        [layers.Dense(3, activation="tanh", dtype="float64", input_shape=(3,))], name="inner"
    )
    x = keras.Input(shape=(3,), dtype="float64")
    out = layers.Dense(1, dtype="float64")(layers.Add()([inner(x), x]))
    model = _float64_model(x, out)
    inner_dense = inner.layers[0].name
    assert [path for path, _ in model.named_weights()][:2] == [
        f"inner/{inner_dense}/kernel",
        f"inner/{inner_dense}/bias",
    ]
    rng = np.random.default_rng(4)
    check_model_gradients(model, rng.normal(size=(5, 3)), rng.normal(size=(5, 1)))


@pytest.mark.parametrize(
    "build, message",
    [
        (
            lambda a, b: keras.Model(a, layers.Dense(1)(b)),
            r"Graph disconnected: the model's outputs need the Input 'b', which is not among "
            r"the model's inputs \['a'\]",
        ),
        (
            lambda a, b: keras.Model([a, a], layers.Dense(1)(a)),
            r"Model inputs must be distinct: 'a' is given twice, at positions \[0, 1\]",
        ),
        (
            lambda a, b: keras.Model(layers.Dense(2)(a), layers.Dense(1)(a)),
            r"Model inputs must come from Input\(\); input 0 .* is the output of layer",
        ),
        (
            lambda a, b: keras.Model(a, np.ones(2)),
            r"Model outputs must be symbolic tensors .*received array",
        ),
    ],
)
def test_a_graph_that_cannot_be_a_model_is_refused(build, message):
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(2,), name="b")
    with pytest.raises((ValueError, TypeError), match=message):
        build(a, b)


def test_two_layers_with_one_name_are_refused():
    x = keras.Input(shape=(2,))
    out = layers.Dense(1, name="twin")(layers.Dense(2, name="twin")(x))
    with pytest.raises(ValueError, match="unique names; 'twin' is used by 2 different layers"):
        keras.Model(x, out)


def test_a_layer_called_on_the_wrong_width_or_rank_names_the_layer_and_the_shapes():
    dense = layers.Dense(2, name="narrow")
    dense(keras.Input(shape=(3,)))
    with pytest.raises(
        ValueError, match=r"layer 'narrow' .*value 3, received input with shape \(None, 4\)"
    ):
        dense(keras.Input(shape=(4,)))
    with pytest.raises(ValueError, match=r"layer 'flat' needs inputs of rank 2 .* shape \(None,\)"):
        layers.Dense(2, name="flat")(SymbolicTensor((None,), "float32"))


# --- masks (Keras's) ---------------------------------------------------------------------
def _tokens():
    return keras.Input(shape=(5,), dtype="int32")


def test_symbolic_masks_start_at_embedding_and_pass_through_the_layers_that_support_them():
    tokens = _tokens()
    embedded = layers.Embedding(6, 3, mask_zero=True)(tokens)
    assert tokens.mask_shape is None and embedded.mask_shape == (1, 5)
    tensor = embedded
    for layer in [
        layers.Dense(4),
        layers.Activation("relu"),
        layers.Dropout(0.5),
        layers.ActivityRegularization(l2=0.1),
    ]:
        tensor = layer(tensor)
        assert layer.supports_masking and tensor.mask_shape == (1, 5)
    assert layers.Embedding(6, 3)(tokens).mask_shape is None


def test_a_layer_without_masking_stops_the_mask_with_keras_warning():
    embedded = layers.Embedding(6, 3, mask_zero=True)(_tokens())
    with pytest.warns(UserWarning, match="Layer 'flat' \\(of type Flatten\\) was passed an input"):
        flat = layers.Flatten(name="flat")(embedded)
    assert flat.mask_shape is None


def test_merges_pass_a_mask_when_every_input_has_one_and_concatenate_when_any_has():
    tokens = _tokens()
    masked = [layers.Embedding(6, 3, mask_zero=True)(tokens) for _ in range(2)]
    plain = layers.Embedding(6, 3)(tokens)
    for merge in (layers.Add, layers.Multiply, layers.Maximum, layers.Average):
        assert merge()(masked).mask_shape == (1, 5)
        assert merge()([masked[0], plain]).mask_shape is None
    assert layers.Concatenate()([masked[0], plain]).mask_shape == (1, 5)
    assert layers.Concatenate(axis=1)(masked).mask_shape == (1, 10)
    assert layers.Concatenate()([plain, plain]).mask_shape is None


def test_a_graph_without_masks_tracks_none():
    inputs = keras.Input(shape=(3,))
    graph = Graph([inputs], [layers.Dense(2)(layers.Dense(4)(inputs))])
    assert not graph.carries_masks
    _, saved = graph.forward([np.ones((2, 3), dtype=np.float32)], training=True)
    assert saved.output_masks is None


def test_forward_carries_each_output_mask():
    tokens = _tokens()
    embedded = layers.Embedding(6, 3, mask_zero=True)(tokens)
    graph = Graph(
        [tokens], [layers.Dense(2)(embedded), layers.Dense(1)(layers.Embedding(6, 2)(tokens))]
    )
    assert graph.carries_masks
    x = np.array([[1, 0, 2, 0, 5], [0, 0, 0, 0, 3]])
    _, saved = graph.forward([x], training=False)
    np.testing.assert_array_equal(saved.output_masks[0], x != 0)
    assert saved.output_masks[1] is None


def test_a_model_used_as_a_layer_passes_its_mask_out_when_it_runs():
    """As Keras's functional model: no symbolic mask, but a mask on its output at run time."""
    inner_tokens = _tokens()
    inner = keras.Model(inner_tokens, layers.Embedding(6, 3, mask_zero=True)(inner_tokens))
    tokens = _tokens()
    outer_tensor = inner(tokens)
    assert outer_tensor.mask_shape is None
    graph = Graph([tokens], [layers.Dense(2)(outer_tensor)])
    assert graph.carries_masks
    x = np.array([[1, 0, 2, 0, 5]])
    _, saved = graph.forward([x], training=True)
    np.testing.assert_array_equal(saved.output_masks[0], x != 0)


def test_masks_reach_a_model_used_as_a_layer():
    """A masked tensor into a model used as a layer: its graph runs with the mask."""
    inner_inputs = keras.Input(shape=(5, 3))
    inner = keras.Model(inner_inputs, layers.Dense(2)(inner_inputs))
    tokens = _tokens()
    with pytest.warns(UserWarning, match="does not support masking"):  # Keras warns too
        outputs = inner(layers.Embedding(6, 3, mask_zero=True)(tokens))
    graph = Graph([tokens], [outputs])
    x = np.array([[1, 0, 2, 0, 5]])
    _, saved = graph.forward([x], training=False)
    np.testing.assert_array_equal(saved.output_masks[0], x != 0)


def test_masks_in_eager_calls_only_for_layers_that_take_them():
    with pytest.raises(TypeError, match="Dense 'd' takes no mask"):
        layers.Dense(2, name="d")(np.ones((1, 3)), mask=np.ones((1,), dtype=bool))
    with pytest.raises(TypeError, match="in a graph, masks come from the layer that makes them"):
        layers.Multiply()([_tokens(), _tokens()], mask=[None, None])
    x = np.array([[2.0, 3.0], [4.0, 5.0]])
    out = layers.Multiply()([x, x], mask=[np.array([True, False]), None])
    np.testing.assert_array_equal(out, [[4.0, 9.0], [4.0, 5.0]])


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.LayerNormalization(),
        lambda: layers.GroupNormalization(groups=1),
        lambda: layers.BatchNormalization(),
        lambda: layers.GaussianNoise(0.1),
        lambda: layers.GaussianDropout(0.1),
        lambda: layers.SpatialDropout1D(0.1),
    ],
)
def test_the_normalization_and_noise_layers_pass_masks_as_in_keras(make):
    layer = make()
    tensor = layer(layers.Embedding(6, 4, mask_zero=True)(_tokens()))
    assert layer.supports_masking and tensor.mask_shape == (1, 5)


def test_batch_normalization_in_training_takes_the_moments_of_the_unmasked_steps():
    """Keras 3's masked moments; in inference, the moving statistics whatever the mask."""
    tokens = _tokens()
    embedding = layers.Embedding(6, 4, mask_zero=True)
    normalized = layers.BatchNormalization(name="bn", epsilon=0.01)(embedding(tokens))
    model = keras.Model(tokens, normalized)
    x = np.array([[1, 0, 2, 0, 5], [3, 3, 0, 0, 0]])
    assert model.predict(x, verbose=0).shape == (2, 5, 4)  # inference: moving statistics
    vectors = embedding.embeddings[x].astype(np.float64)
    kept = vectors[x != 0]
    mean, variance = kept.mean(axis=0), kept.var(axis=0)
    expected = (vectors - mean) / np.sqrt(variance + 0.01)
    np.testing.assert_allclose(model(x, training=True), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("make", "input_shape"),
    [
        (lambda: layers.GlobalMaxPooling1D(), (5,)),
        (lambda: layers.MaxPooling1D(2), (5,)),
        (lambda: layers.AveragePooling1D(2), (5,)),
        (lambda: layers.GlobalAveragePooling2D(), (4, 4)),
        (lambda: layers.GlobalMaxPooling2D(), (4, 4)),
        (lambda: layers.MaxPooling2D(), (4, 4)),
        (lambda: layers.AveragePooling2D(2), (4, 4)),
        (lambda: layers.Reshape((3, 5)), (5,)),
        (lambda: layers.Permute((2, 1)), (5,)),
        (lambda: layers.ZeroPadding1D(1), (5,)),
        (lambda: layers.Cropping1D(1), (5,)),
        (lambda: layers.UpSampling1D(2), (5,)),
        (lambda: layers.RepeatVector(2), ()),
    ],
)
def test_pooling_and_reshaping_layers_drop_the_mask_with_keras_warning(make, input_shape):
    """Keras 3.15 gives each of these supports_masking=False (checked on JAX)."""
    layer = make()
    embedded = layers.Embedding(6, 3, mask_zero=True)(keras.Input(input_shape, dtype="int32"))
    assert embedded.mask_shape is not None
    with pytest.warns(UserWarning, match="does not support masking and will therefore destroy"):
        tensor = layer(embedded)
    assert not layer.supports_masking and tensor.mask_shape is None


def test_global_average_pooling_1d_takes_the_mask_and_stops_it_without_warning():
    layer = layers.GlobalAveragePooling1D()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tensor = layer(layers.Embedding(6, 3, mask_zero=True)(_tokens()))
    assert layer.supports_masking and layer.forward_takes_mask and tensor.mask_shape is None


def test_backward_lets_go_of_each_step_saved_values_once_used():
    """As autograd frees what a node saved, so that a step's memory peaks at the
    first layers' backward pass rather than at everything the forward pass kept."""
    inputs = keras.Input(shape=(3,))
    hidden = layers.Dense(4, activation="relu")(inputs)
    outputs = layers.Dense(2)(layers.Dropout(0.5)(hidden))
    graph = Graph([inputs], [outputs])
    output, saved = graph.forward([np.ones((2, 3), dtype=np.float32)], training=True)
    assert all(step is not None for step in saved.steps)
    _, weight_grads = graph.backward(saved, [np.ones_like(output[0])])
    assert all(step is None for step in saved.steps)
    assert len(weight_grads) == 4


# --- layers with several outputs ---------------------------------------------------------
def test_a_layer_with_several_outputs_gives_one_tensor_per_output():
    x = keras.Input(shape=(5, 3))
    lstm = layers.LSTM(4, return_state=True, name="encoder")
    outputs = lstm(x)
    assert isinstance(outputs, list) and len(outputs) == 3
    assert [t.shape for t in outputs] == [(None, 4)] * 3
    assert [t.history for t in outputs] == [(lstm, 0, 0), (lstm, 0, 1), (lstm, 0, 2)]
    assert lstm.output == outputs
    model = keras.Model(x, outputs)
    data = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    for ours, eager in zip(model.predict(data, verbose=0), lstm(data), strict=True):
        np.testing.assert_array_equal(ours, eager)


def test_states_carry_slopes_from_a_decoder_and_from_losses_on_them():
    """An encoder's final states start a decoder and are also model outputs with
    losses of their own; every weight's slope passes the central-difference check."""
    source = keras.Input(shape=(4, 3), dtype="float64")
    target = keras.Input(shape=(3, 2), dtype="float64")
    _, state_h, state_c = layers.LSTM(3, return_state=True, dtype="float64")(source)
    decoded = layers.GRU(3, return_sequences=True, dtype="float64")(target, initial_state=state_h)
    out = layers.Dense(2, dtype="float64")(decoded)
    cell = layers.Dense(1, dtype="float64")(state_c)
    model = keras.Model([source, target], [out, cell])
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 3, 2))]
    y = [rng.normal(size=(3, 3, 2)), rng.normal(size=(3, 1))]
    check_model_gradients(model, x, y)


def test_an_unused_output_of_a_node_gets_no_slope_and_the_rest_flow():
    x = keras.Input(shape=(4, 2), dtype="float64")
    _, state_h, _ = layers.LSTM(3, return_state=True, dtype="float64")(x)  # c unused
    model = _float64_model(x, layers.Dense(1, dtype="float64")(state_h))
    rng = np.random.default_rng(2)
    check_model_gradients(model, rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 1)))


def test_several_outputs_round_trip_through_config_file_and_summary(tmp_path):
    x = keras.Input(shape=(5, 3), name="x")
    sequence, state = layers.GRU(3, return_sequences=True, return_state=True, name="gru")(x)
    joined = layers.Concatenate(name="join")([layers.GlobalAveragePooling1D()(sequence), state])
    model = keras.Model(x, layers.Dense(2, name="out")(joined))
    config = model.get_config()
    join = next(entry for entry in config["layers"] if entry["name"] == "join")
    histories = [arg["config"]["keras_history"] for arg in join["inbound_nodes"][0]["args"][0]]
    assert histories[1] == ["gru", 0, 1]
    data = np.random.default_rng(3).normal(size=(4, 5, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "[(None, 5, 3)," in text and "'gru[0][1]'" in text


def test_a_model_with_two_outputs_used_as_a_layer(tmp_path):
    """keras.io's VAE encoder pattern: ``z_mean, z_log_var = encoder(x)``."""
    inner_input = keras.Input(shape=(4,), dtype="float64")
    hidden = layers.Dense(3, activation="tanh", dtype="float64")(inner_input)
    encoder = keras.Model(
        inner_input,
        [layers.Dense(2, dtype="float64")(hidden), layers.Dense(2, dtype="float64")(hidden)],
        name="encoder",
    )
    x = keras.Input(shape=(4,), dtype="float64")
    z_mean, z_log_var = encoder(x)
    squared = layers.Multiply()([z_log_var, z_log_var])
    model = _float64_model(
        x, layers.Dense(1, dtype="float64")(layers.Concatenate()([z_mean, squared]))
    )
    rng = np.random.default_rng(4)
    data, targets = rng.normal(size=(5, 4)), rng.normal(size=(5, 1))
    check_model_gradients(model, data, targets)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
