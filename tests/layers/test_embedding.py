import warnings

import numpy as np
import pytest

import gradstep
from gradstep import layers, models
from gradstep.testing import check_layer_gradients, check_model_gradients

# Keras 3.15.1's Embedding(...).get_config() keys, but "quantization_config"
# (gradstep has no quantized layers) and LoRA's two.
KERAS_CONFIG_KEYS = {
    "name",
    "trainable",
    "dtype",
    "input_dim",
    "output_dim",
    "embeddings_initializer",
    "embeddings_regularizer",
    "activity_regularizer",
    "embeddings_constraint",
    "mask_zero",
}


def _text_model(mask_zero=False, vocabulary=7, length=5, dtype="int32", **layer_arguments):
    inputs = gradstep.Input(shape=(length,), dtype=dtype)
    embedded = layers.Embedding(vocabulary, 3, mask_zero=mask_zero, **layer_arguments)(inputs)
    outputs = layers.Dense(2)(layers.Flatten()(embedded)) if not mask_zero else embedded
    return models.Model(inputs, outputs)


def test_lookup_gives_the_rows_of_the_table():
    layer = layers.Embedding(5, 3)
    tokens = np.array([[0, 4, 4], [2, 1, 0]])
    output = layer(tokens)
    assert output.shape == (2, 3, 3) and output.dtype == np.float32
    np.testing.assert_array_equal(output, layer.embeddings[tokens])
    assert layer.get_weights()[0].shape == (5, 3)
    assert [name for name, _ in layer.named_weights()] == ["embeddings"]


def test_default_initializer_is_uniform_within_five_hundredths():
    layer = layers.Embedding(200, 50)
    layer(np.zeros((1, 1), dtype=int))
    assert 0.045 < np.abs(layer.embeddings).max() <= 0.05
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_output_shape_adds_the_vector_axis():
    layer = layers.Embedding(10, 4)
    for shape in [(None,), (None, 7), (None, 2, 3)]:
        assert layer.compute_output_shape(shape) == shape + (4,)
    assert layers.Embedding(10, 4)(gradstep.Input(shape=(6,), dtype="int32")).shape == (None, 6, 4)


def test_backward_sums_the_slopes_of_repeated_tokens():
    layer = layers.Embedding(4, 2, dtype="float64")
    tokens = np.array([[1, 3, 1], [1, 0, 3]])
    layer.build_once((None, 3))
    output, saved = layer.forward(tokens)
    grad = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    input_slope, slopes = layer.backward(saved, grad)
    expected = np.zeros((4, 2))
    for index in np.ndindex(tokens.shape):
        expected[tokens[index]] += grad[index]
    assert input_slope is None
    np.testing.assert_array_equal(slopes["embeddings"], expected)
    assert expected[2].tolist() == [0, 0] and expected[1].tolist() == [0 + 4 + 6, 1 + 5 + 7]


@pytest.mark.parametrize(
    ("vocabulary", "width", "shape"),
    [(5, 3, (2, 4)), (3, 2, (4, 6)), (6, 1, (3,)), (4, 3, (2, 2, 3))],
)
def test_table_slope_passes_central_differences(vocabulary, width, shape):
    layer = layers.Embedding(vocabulary, width, dtype="float64")
    tokens = np.random.default_rng(vocabulary).integers(0, vocabulary, size=shape)
    assert check_layer_gradients(layer, tokens) < 1e-7


def test_gradient_check_of_an_integer_layer_does_not_perturb_the_tokens():
    layer = layers.Embedding(5, 2, dtype="float64", mask_zero=True)
    tokens = np.array([[0, 1, 2], [4, 4, 0]], dtype=np.int32)
    check_layer_gradients(layer, tokens)
    check_layer_gradients(layers.Embedding(5, 2, dtype="float64"), tokens.astype(np.float64))


def test_model_gradients_through_embedding_dense_and_a_masked_loss():
    for mask_zero in (False, True):
        gradstep.utils.set_random_seed(1)
        inputs = gradstep.Input(shape=(4,), dtype="int32")
        hidden = layers.Embedding(6, 3, mask_zero=mask_zero, dtype="float64")(inputs)
        outputs = layers.Dense(2, activation="tanh", dtype="float64")(hidden)
        model = models.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss="mse")
        tokens = np.array([[0, 1, 1, 5], [2, 0, 0, 3], [4, 4, 4, 0]])
        y = np.random.default_rng(2).normal(size=(3, 4, 2))
        assert check_model_gradients(model, tokens, y) < 1e-7


def test_compute_mask_marks_the_nonzero_tokens():
    tokens = np.array([[0, 3, 0], [1, 2, 0]])
    np.testing.assert_array_equal(
        layers.Embedding(4, 2, mask_zero=True).compute_mask(tokens), tokens != 0
    )
    assert layers.Embedding(4, 2).compute_mask(tokens) is None
    assert layers.Embedding(4, 2, mask_zero=True).supports_masking
    assert not layers.Embedding(4, 2).supports_masking


def test_config_has_keras_keys_and_round_trips():
    layer = layers.Embedding(
        9,
        4,
        mask_zero=True,
        embeddings_regularizer="l2",
        embeddings_constraint="non_neg",
        name="words",
    )
    config = layer.get_config()
    assert set(config) == KERAS_CONFIG_KEYS
    assert config["input_dim"] == 9 and config["output_dim"] == 4 and config["mask_zero"] is True
    again = layers.Embedding.from_config(config)
    assert again.get_config() == config


def test_weights_argument_builds_the_layer_with_that_table():
    table = np.arange(6, dtype=np.float32).reshape(3, 2)
    for given in (table, [table]):
        layer = layers.Embedding(3, 2, weights=given)
        assert layer.built
        np.testing.assert_array_equal(layer(np.array([[2, 0]])), table[[[2, 0]]])
    with pytest.raises(ValueError, match=r"Weight 'embeddings' .* has shape \(3, 2\)"):
        layers.Embedding(3, 2, weights=np.zeros((2, 3)))


def test_input_length_is_ignored_with_keras_warning():
    with pytest.warns(UserWarning, match="`input_length` is deprecated"):
        layer = layers.Embedding(3, 2, input_length=5)
    assert layer(np.array([[1, 2]])).shape == (1, 2, 2)


@pytest.mark.parametrize("argument", ["input_dim", "output_dim"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True, "3", None])
def test_sizes_must_be_positive_integers(argument, value):
    arguments = {"input_dim": 4, "output_dim": 2, argument: value}
    with pytest.raises(ValueError, match=rf"Embedding {argument}.* must be a positive integer"):
        layers.Embedding(**arguments)


@pytest.mark.parametrize("argument", ["lora_rank", "lora_alpha", "quantization_config"])
def test_lora_and_quantization_are_refused(argument):
    with pytest.raises(ValueError, match=rf"Embedding {argument}: gradstep has no LoRA"):
        layers.Embedding(4, 2, **{argument: 2})


def test_mask_zero_must_be_a_bool():
    with pytest.raises(TypeError, match="mask_zero must be True or False"):
        layers.Embedding(4, 2, mask_zero="yes")


@pytest.mark.parametrize(
    ("tokens", "bad", "where"),
    [
        (np.array([[1, 2], [3, 4]]), "4", r"\(1, 1\)"),
        (np.array([[1, -1], [0, 2]]), "-1", r"\(0, 1\)"),
        (np.array([[1.0, 2.5]]), "2.5", r"\(0, 1\)"),
        (np.array([[np.nan, 1.0]]), "nan", r"\(0, 0\)"),
    ],
)
def test_bad_tokens_in_an_eager_call_name_the_layer_token_and_range(tokens, bad, where):
    layer = layers.Embedding(4, 2, name="words")
    with pytest.raises(ValueError, match=rf"'words' received token {bad} at index {where}.*"):
        layer(tokens)
    with pytest.raises(ValueError, match=r"in \[0, 4\), the range of input_dim=4"):
        layer(tokens)


def test_whole_floats_are_tokens_as_in_keras():
    layer = layers.Embedding(4, 2)
    np.testing.assert_array_equal(layer(np.array([[1.0, 3.0]])), layer(np.array([[1, 3]])))


def test_strings_are_refused():
    with pytest.raises(TypeError, match="needs token indices"):
        layers.Embedding(4, 2).forward(np.array([["a", "b"]]))


@pytest.mark.parametrize("method", ["fit", "predict", "evaluate", "train_on_batch"])
def test_tokens_past_the_vocabulary_are_refused_in_training_and_inference(method):
    model = _text_model(vocabulary=7)
    model.compile(optimizer="sgd", loss="mse")
    tokens = np.array([[1, 2, 3, 4, 5], [6, 7, 1, 1, 1]])
    target = np.zeros((2, 2))
    call = {
        "fit": lambda: model.fit(tokens, target, shuffle=False, verbose=0),
        "predict": lambda: model.predict(tokens, verbose=0),
        "evaluate": lambda: model.evaluate(tokens, target, verbose=0),
        "train_on_batch": lambda: model.train_on_batch(tokens, target),
    }[method]
    with pytest.raises(ValueError, match=r"received token 7 at index \(1, 1\).*\[0, 7\)"):
        call()


def test_negative_tokens_are_refused_in_fit():
    model = _text_model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"received token -2 at index \(0, 4\)"):
        model.fit(np.array([[1, 2, 3, 4, -2]]), np.zeros((1, 2)), verbose=0)


def test_a_float_input_of_fractions_is_refused():
    model = _text_model(dtype="float32")
    with pytest.raises(ValueError, match=r"received token 1.5 at index \(0, 1\).*whole numbers"):
        model.predict(np.array([[1.0, 1.5, 2.0, 0.0, 0.0]]), verbose=0)
    whole = model.predict(np.array([[1.0, 2.0, 2.0, 0.0, 0.0]]), verbose=0)
    np.testing.assert_array_equal(whole, model.predict(np.array([[1, 2, 2, 0, 0]]), verbose=0))


def test_an_int_input_of_fractions_is_refused_before_the_layer():
    model = _text_model()
    with pytest.raises(ValueError, match="x must hold whole numbers for an input of dtype int32"):
        model.predict(np.array([[1.0, 1.5, 2.0, 0.0, 0.0]]), verbose=0)


def test_sequential_starting_with_embedding_takes_integer_tokens():
    model = models.Sequential(
        [layers.Embedding(10, 4), layers.Flatten(), layers.Dense(1, activation="sigmoid")],
        seed=0,
    )
    tokens = np.random.default_rng(0).integers(0, 10, size=(16, 6))
    labels = (tokens == 3).any(axis=1).astype("float32")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(tokens, labels, epochs=2, verbose=0)
    assert model.inputs[0].dtype == "int64"
    assert model.predict(tokens, verbose=0).shape == (16, 1)


def test_the_graph_asks_no_slope_of_the_tokens():
    """An Embedding fed by the Input is not asked for an input slope, and one
    asked (inside a model used as a layer) answers None without breaking."""
    inner = _text_model()
    inputs = gradstep.Input(shape=(5,), dtype="int32")
    outer = models.Model(inputs, layers.Dense(1)(inner(inputs)))
    outer.compile(optimizer="sgd", loss="mse")
    tokens = np.array([[1, 2, 3, 4, 5], [6, 0, 1, 1, 1]])
    loss, gradients = outer.gradients(tokens, np.ones((2, 1)))
    table = dict((path, slope) for path, _, slope in gradients)
    assert any(path.endswith("/embeddings") for path in table)
    assert all(slope is not None for slope in table.values())
    _, saved = inner.forward(tokens, training=True)
    input_slope, _ = inner.backward(saved, np.ones((2, 2)), input_gradient=True)
    assert input_slope is None


def test_a_frozen_table_gets_no_slope_and_does_not_move():
    model = _text_model()
    embedding = model.layers[1]
    embedding.trainable = False
    before = embedding.get_weights()[0]
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.array([[1, 2, 3, 4, 5]]), np.ones((1, 2)), verbose=0)
    np.testing.assert_array_equal(embedding.get_weights()[0], before)
    assert embedding.backward(np.array([[1]]), np.ones((1, 1, 3))) == (None, {})


def test_saving_round_trip_keeps_predictions_and_the_mask(tmp_path):
    gradstep.utils.set_random_seed(3)
    inputs = gradstep.Input(shape=(5,), dtype="int32")
    hidden = layers.Embedding(8, 3, mask_zero=True, name="words")(inputs)
    model = models.Model(inputs, layers.Dense(2)(hidden))
    model.compile(optimizer="adam", loss="mse")
    tokens = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 7]])
    y = np.random.default_rng(0).normal(size=(2, 5, 2))
    model.fit(tokens, y, epochs=2, verbose=0)
    model.save(tmp_path / "text.keras")
    loaded = gradstep.models.load_model(tmp_path / "text.keras")
    np.testing.assert_array_equal(
        loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0)
    )
    assert loaded.get_layer("words").mask_zero
    assert loaded.evaluate(tokens, y, verbose=0) == model.evaluate(tokens, y, verbose=0)


def test_warning_free_without_masks():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _text_model(mask_zero=False)
