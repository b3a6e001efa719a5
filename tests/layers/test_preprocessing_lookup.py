"""Discretization, CategoryEncoding, Hashing, IntegerLookup, StringLookup.

Discretization and CategoryEncoding against Keras 3 goldens
(tests/fixtures/preprocessing_keras.json, tools/make_keras_preprocessing_fixtures.py);
Hashing and the lookups need TensorFlow in Keras 3, so they are checked
against the outputs Keras's documentation gives."""

import json
import pathlib

import numpy as np
import pytest

import gradstep
from gradstep import layers
from preprocessing_cases import CASES, case_adapt, case_input

GOLDEN = json.loads(
    (pathlib.Path(__file__).parent.parent / "fixtures" / "preprocessing_keras.json").read_text()
)
BY_NAME = {case["name"]: case for case in CASES}
LOOKUP_CASES = [
    g
    for g in GOLDEN["cases"]
    if BY_NAME[g["name"]]["layer"] in ("Discretization", "CategoryEncoding")
]


def replay(golden):
    case = BY_NAME[golden["name"]]
    layer = getattr(layers, case["layer"])(**case["config"])
    if "adapt" in case:
        layer.adapt(case_adapt(case, np))
    return layer, np.asarray(layer(case_input(case, np)))


@pytest.mark.parametrize("golden", LOOKUP_CASES, ids=lambda g: g["name"])
def test_matches_keras(golden):
    layer, output = replay(golden)
    np.testing.assert_allclose(output, np.asarray(golden["output"]), rtol=0, atol=1e-6)
    assert output.dtype.kind == np.dtype(golden["dtype"]).kind
    config = json.loads(json.dumps(layer.get_config()))
    want = golden["config"]
    assert set(config) == set(want) - {"quantization_config"}
    for key in config:
        if key == "bin_boundaries" and want[key] is not None:
            np.testing.assert_allclose(config[key], want[key], rtol=1e-6)
        elif key != "dtype":
            assert config[key] == want[key], key


DOC = np.array([["A"], ["B"], ["C"], ["D"], ["E"]])


def test_hashing_matches_keras_documentation():
    assert layers.Hashing(num_bins=3)(DOC).ravel().tolist() == [1, 0, 1, 1, 2]
    masked = np.array([["A"], ["B"], [""], ["C"], ["D"]])
    assert layers.Hashing(num_bins=3, mask_value="")(masked).ravel().tolist() == [1, 1, 0, 2, 2]
    assert layers.Hashing(num_bins=3, salt=[133, 137])(DOC).ravel().tolist() == [1, 2, 1, 0, 2]
    assert layers.Hashing(num_bins=3, salt=133)(DOC).ravel().tolist() == [0, 0, 2, 1, 0]


def test_hashing_integers_hash_their_text_and_encode():
    ints = np.array([[12], [1138], [42]])
    texts = np.array([["12"], ["1138"], ["42"]])
    np.testing.assert_array_equal(
        layers.Hashing(num_bins=7)(ints), layers.Hashing(num_bins=7)(texts)
    )
    one_hot = layers.Hashing(num_bins=4, output_mode="one_hot")(ints)
    assert one_hot.shape == (3, 4) and np.all(one_hot.sum(axis=1) == 1)


VOCAB = ["a", "b", "c", "d"]
DATA = np.array([["a", "c", "d"], ["d", "z", "b"]])


def test_string_lookup_matches_keras_documentation():
    assert layers.StringLookup(vocabulary=VOCAB)(DATA).tolist() == [[1, 3, 4], [4, 0, 2]]
    two_oov = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)(DATA)
    assert two_oov.tolist() == [[2, 4, 5], [5, 1, 3]]
    inverted = layers.StringLookup(vocabulary=VOCAB, invert=True)(np.array([[1, 3, 4], [4, 0, 2]]))
    assert inverted.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    data = np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]])
    multi = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(data)
    assert multi.tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    count = layers.StringLookup(vocabulary=VOCAB, output_mode="count")(data)
    assert count.tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    tf_idf = layers.StringLookup(
        output_mode="tf_idf", vocabulary=VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4]
    )(data)
    np.testing.assert_allclose(tf_idf, [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]])
    masked = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert masked(np.array([["a", "c", ""]])).tolist() == [[2, 4, 0]]


def test_string_lookup_adapt_orders_by_count_then_token_descending():
    layer = layers.StringLookup()
    layer.adapt(np.array([["a", "c", "d"], ["d", "z", "b"]]))
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    capped = layers.StringLookup(max_tokens=3)
    capped.adapt(np.array(["x", "y", "y", "z", "z", "z"]))
    assert capped.get_vocabulary() == ["[UNK]", "z", "y"]


def test_string_lookup_adapt_tf_idf():
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(np.array([["a", "a"], ["a", "b"]]))
    # idf = log(1 + documents / (1 + documents with the token)); OOV gets their mean.
    idf = np.log(1 + 2 / (1 + np.array([2.0, 1.0])))
    np.testing.assert_allclose(layer.idf_weights, [idf.mean(), *idf], rtol=1e-6)


def test_integer_lookup_matches_keras_documentation():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    assert layers.IntegerLookup(vocabulary=vocab)(data).tolist() == [[1, 3, 4], [4, 0, 2]]
    two_oov = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert two_oov(np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == [[2, 4, 5], [1, 0, 3]]
    inverted = layers.IntegerLookup(vocabulary=vocab, invert=True)
    assert inverted(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [[12, 1138, 42], [42, -1, 36]]
    adapted = layers.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]


def test_lookup_without_oov_indices_refuses_unknown_tokens():
    layer = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layer(DATA)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: layers.Discretization(), "num_bins or bin_boundaries"),
        (lambda: layers.Discretization(bin_boundaries=[1, 0]), "increasing"),
        (lambda: layers.CategoryEncoding(num_tokens=0), "num_tokens"),
        (lambda: layers.CategoryEncoding(num_tokens=3, output_mode="int"), "output_mode"),
        (lambda: layers.Hashing(num_bins=0), "num_bins"),
        (lambda: layers.Hashing(num_bins=3, salt="x"), "salt"),
        (lambda: layers.StringLookup(invert=True, output_mode="count"), "invert"),
        (lambda: layers.StringLookup(vocabulary=["a", "a"]), "repeated"),
        (lambda: layers.IntegerLookup(max_tokens=1), "max_tokens"),
        (lambda: layers.StringLookup(sparse=True, output_mode="count"), "sparse"),
    ],
)
def test_bad_arguments_raise_naming_the_layer(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_category_encoding_refuses_out_of_range_tokens():
    layer = layers.CategoryEncoding(num_tokens=3, name="encode")
    with pytest.raises(ValueError, match="'encode'.*\\[0, 3\\)"):
        layer(np.array([[0, 3]]))


def test_configs_round_trip():
    adapted = layers.StringLookup(output_mode="tf_idf", name="words")
    adapted.adapt(np.array([["a", "b"], ["b", "c"]]))
    for layer in [
        layers.Discretization(bin_boundaries=[0.0, 1.0], output_mode="count"),
        layers.CategoryEncoding(num_tokens=4, output_mode="one_hot"),
        layers.Hashing(num_bins=5, salt=7, mask_value=0),
        layers.IntegerLookup(vocabulary=[3, 5, 9], mask_token=0),
        adapted,
    ]:
        copy = type(layer).from_config(layer.get_config())
        data = (
            np.array([["a", "b", "z"]])
            if isinstance(layer, layers.StringLookup)
            else np.array([[0, 1, 3]])
        )
        np.testing.assert_array_equal(copy(data), layer(data))


def test_model_with_lookup_trains_and_saves(tmp_path):
    inputs = gradstep.Input(shape=(3,), dtype="int64")
    indices = layers.IntegerLookup(vocabulary=[10, 20, 30, 40])(inputs)
    vectors = layers.Embedding(5, 2)(indices)
    outputs = layers.Dense(1)(layers.Flatten()(vectors))
    model = gradstep.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[10, 20, 99], [40, 30, 10]])
    y = np.array([[1.0], [0.0]])
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_discretization_adapt_saves_its_boundaries(tmp_path):
    layer = layers.Discretization(num_bins=3)
    layer.adapt(np.arange(30, dtype="float32"))
    inputs = gradstep.Input(shape=(2,))
    model = gradstep.Model(inputs, layers.CategoryEncoding(3, "count")(layer(inputs)))
    path = tmp_path / "d.keras"
    model.save(path)
    x = np.array([[1.0, 25.0], [15.0, 15.0]], dtype="float32")
    loaded = gradstep.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
