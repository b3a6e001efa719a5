"""Text inputs: ``Input(dtype="string")`` followed by ``StringLookup`` or
``Hashing`` in a model, fed NumPy arrays of ``str`` (unicode or object
dtype) or ``bytes``, never cast to floats; strings reaching a layer that
needs numbers are a TypeError naming it."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, ops

COLOURS = ["red", "green", "blue"]
# The label is 1 for "red" and "blue": a rule of the word alone.
WORDS = np.array(["red", "green", "blue", "red", "cyan", "blue", "green", "cyan"] * 8)
LABELS = np.isin(WORDS, ["red", "blue"]).astype("float32")


def _one_hot_model(shape=(1,)):
    inputs = keras.Input(shape=shape, dtype="string")
    x = layers.StringLookup(vocabulary=COLOURS, output_mode="one_hot")(inputs)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def _embedding_model():
    inputs = keras.Input(shape=(), dtype="string")
    x = layers.StringLookup(vocabulary=COLOURS)(inputs)
    x = layers.Embedding(len(COLOURS) + 1, 4)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def _trained(model, x, epochs=60):
    keras.utils.set_random_seed(0)
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, LABELS, epochs=epochs, batch_size=16, verbose=0)
    return history.history


@pytest.mark.parametrize(
    "make, x",
    [
        (_one_hot_model, WORDS[:, None]),  # Input(shape=(1,)), unicode array
        (_one_hot_model, WORDS[:, None].astype(object)),  # object array of str
        (_embedding_model, WORDS),  # Input(shape=()), StringLookup(int) -> Embedding
        (_embedding_model, np.char.encode(WORDS, "utf-8")),  # bytes
    ],
)
def test_a_model_learns_from_text(make, x):
    model = make()
    history = _trained(model, x)
    assert history["loss"][-1] < history["loss"][0] / 4
    assert history["accuracy"][-1] == 1.0
    loss, accuracy = model.evaluate(x, LABELS, verbose=0)
    assert accuracy == 1.0
    predicted = model.predict(x, verbose=0).ravel()
    np.testing.assert_array_equal(predicted > 0.5, LABELS == 1)
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))
    assert model.train_on_batch(x, LABELS)[0] > 0


def test_hashing_a_string_input(tmp_path):
    inputs = keras.Input(shape=(1,), dtype="string")
    x = layers.Hashing(num_bins=16, output_mode="one_hot")(inputs)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    history = _trained(model, WORDS[:, None])
    assert history["accuracy"][-1] == 1.0
    model.save(tmp_path / "hashing.keras")
    loaded = keras.models.load_model(tmp_path / "hashing.keras")
    np.testing.assert_array_equal(
        loaded.predict(WORDS[:, None], verbose=0), model.predict(WORDS[:, None], verbose=0)
    )


@pytest.mark.parametrize("make", [_one_hot_model, _embedding_model])
def test_saving_and_loading_a_model_with_a_string_input(make, tmp_path):
    model = make()
    x = WORDS[:, None] if make is _one_hot_model else WORDS
    _trained(model, x, epochs=3)
    model.save(tmp_path / "text.keras")
    loaded = keras.models.load_model(tmp_path / "text.keras")
    assert loaded.inputs[0].dtype == "string"
    assert loaded.get_config()["layers"][0]["config"]["dtype"] == "string"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # training goes on from the file, with the optimizer's state
    model.fit(x, LABELS, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(x, LABELS, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_text_input_beside_a_number_input():
    text = keras.Input(shape=(1,), dtype="string", name="colour")
    number = keras.Input(shape=(1,), name="size")
    encoded = layers.StringLookup(vocabulary=COLOURS, output_mode="one_hot")(text)
    joined = layers.Concatenate()([encoded, number])
    model = keras.Model([text, number], layers.Dense(1, activation="sigmoid")(joined))
    x = {"colour": WORDS[:, None], "size": np.zeros((len(WORDS), 1), "float32")}
    history = _trained(model, x)
    assert history["accuracy"][-1] == 1.0


def test_an_adapted_vocabulary_and_a_sequential_model():
    lookup = layers.StringLookup(output_mode="one_hot")
    lookup.adapt(WORDS)
    model = keras.Sequential(
        [keras.Input(shape=(1,), dtype="string"), lookup, layers.Dense(1, activation="sigmoid")]
    )
    history = _trained(model, WORDS[:, None])
    assert history["accuracy"][-1] == 1.0


def test_a_model_used_as_a_layer_takes_text():
    inner = _one_hot_model()
    text = keras.Input(shape=(1,), dtype="string")
    outer = keras.Model(text, layers.Dense(1)(inner(text)))
    assert outer.predict(WORDS[:4, None], verbose=0).shape == (4, 1)


def test_strings_are_never_cast_on_the_way_in():
    """Words that look like numbers stay words ("1" is not 1.0)."""
    inputs = keras.Input(shape=(1,), dtype="string")
    outputs = layers.StringLookup(vocabulary=["1", "2.0"])(inputs)
    model = keras.Model(inputs, outputs)
    x = np.array([["1"], ["2.0"], ["2"], ["1.0"]])
    np.testing.assert_array_equal(model.predict(x, verbose=0).ravel(), [1, 2, 0, 0])


@pytest.mark.parametrize("dtype", ["string", str])
def test_the_input_dtype_is_keras_string(dtype):
    assert keras.Input(shape=(1,), dtype=dtype).dtype == "string"


@pytest.mark.parametrize(
    "layer",
    [layers.Dense(2), layers.Embedding(4, 2), layers.IntegerLookup(vocabulary=[1, 2])],
)
def test_strings_reaching_a_layer_that_needs_numbers(layer):
    text = keras.Input(shape=(1,), dtype="string")
    name = type(layer).__name__
    with pytest.raises(
        TypeError, match=rf"{name} layer '{layer.name}' needs numbers, received the string tensor"
    ):
        layer(text)
    # (IntegerLookup says so in its own words: "needs integer tokens")
    with pytest.raises(TypeError, match=rf"{name} layer '{layer.name}' needs .*dtype <U3"):
        layer(np.array([["red"]]))


def test_an_op_on_a_string_tensor():
    text = keras.Input(shape=(1,), dtype="string")
    with pytest.raises(TypeError, match="ops.add works on numbers, received a string tensor"):
        ops.add(text, 1)


@pytest.mark.parametrize(
    "x, message",
    [
        (
            np.zeros((4, 1)),
            r"x must hold strings for an input of dtype 'string', received an array of dtype "
            "float64",
        ),
        (
            np.array([["red"], [3]], dtype=object),
            r"x must hold strings .* object array holding a int \(3\)",
        ),
    ],
)
def test_a_string_input_given_something_else(x, message):
    model = _one_hot_model()
    with pytest.raises(TypeError, match=message):
        model.predict(x, verbose=0)


def test_a_number_input_given_strings():
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(TypeError, match=r"x must hold numbers, received an array of dtype <U3"):
        model.predict(np.array([["red"]]), verbose=0)
