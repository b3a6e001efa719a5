"""``to_torch`` on IntegerLookup, CategoryEncoding and Discretization: the
module gives ``predict``'s outputs exactly (indices and counts are whole
numbers; tf-idf is one float32 product), for every output mode, inverted
lookups, OOV indices and mask tokens; the layers of strings are refused by name."""

import numpy as np
import pytest

import gradstep
from gradstep import layers

pytestmark = pytest.mark.requires("torch", extra="interop")

VOCABULARY = [12, 5, 7, 30, -4]


@pytest.fixture(autouse=True)
def _fresh_layer_names():
    """Layer names start afresh after each test, so that the layers made here
    leave the default names of later tests' layers as in a new process."""
    yield
    gradstep.backend.clear_session(free_memory=False)


def _compare(layer, x, input_dtype):
    import torch

    from gradstep.interop import to_torch

    model = gradstep.Sequential([gradstep.Input(x.shape[1:], dtype=input_dtype), layer])
    want = model.predict(x, verbose=0)
    module = to_torch(model)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-6)
    return module


def _tokens(shape, seed=0):
    """Vocabulary tokens, unknown ones (negative ones too) and zeros (the mask token)."""
    rng = np.random.default_rng(seed)
    pool = np.array([*VOCABULARY, 0, 1, 2, -7, 99, 8], dtype=np.int64)
    return pool[rng.integers(0, len(pool), size=shape)]


LOOKUPS = {
    "int": {},
    "int_three_oov": {"num_oov_indices": 3},
    "int_mask": {"mask_token": 0},
    "int_mask_two_oov": {"mask_token": 0, "num_oov_indices": 2},
    "one_hot": {"output_mode": "one_hot"},
    "one_hot_mask": {"output_mode": "one_hot", "mask_token": 0},
    "multi_hot": {"output_mode": "multi_hot", "num_oov_indices": 2},
    "multi_hot_mask": {"output_mode": "multi_hot", "mask_token": 0},
    "count": {"output_mode": "count"},
    "count_mask_padded": {
        "output_mode": "count",
        "mask_token": 0,
        "max_tokens": 12,
        "pad_to_max_tokens": True,
    },
    "tf_idf": {"output_mode": "tf_idf", "idf_weights": [0.5, 1.0, 1.5, 2.0, 2.5]},
}


@pytest.mark.parametrize("shape", [(4, 3), (4, 1)], ids=["rows", "column"])
@pytest.mark.parametrize("kind", list(LOOKUPS))
def test_integer_lookup(kind, shape):
    x = _tokens(shape)
    _compare(layers.IntegerLookup(vocabulary=VOCABULARY, **LOOKUPS[kind]), x, "int64")


@pytest.mark.parametrize(
    "options", [{}, {"mask_token": 0}, {"num_oov_indices": 2, "oov_token": -1}], ids=str
)
def test_inverted_integer_lookup(options):
    layer = layers.IntegerLookup(vocabulary=VOCABULARY, invert=True, **options)
    indices = np.random.default_rng(1).integers(0, len(VOCABULARY) + 4, size=(4, 5))
    module = _compare(layer, indices.astype(np.int64), "int64")
    assert "Inverted" in type(next(iter(module.layers.values()))).__name__


def test_an_adapted_integer_lookup_and_float_tokens():
    layer = layers.IntegerLookup(output_mode="count")
    layer.adapt(np.array([[3, 3, 9], [9, 1, 3]]))
    _compare(layer, _tokens((4, 3), seed=2).astype(np.float32), "float32")


def test_lookup_errors_are_gradsteps():
    import torch

    from gradstep.interop import to_torch

    strict = layers.IntegerLookup(vocabulary=VOCABULARY, num_oov_indices=0, name="strict")
    model = gradstep.Sequential([gradstep.Input((2,), dtype="int64"), strict])
    module = to_torch(model)
    with torch.no_grad():
        np.testing.assert_array_equal(module(torch.tensor([[12, -4]])).numpy(), [[0, 4]])
        with pytest.raises(ValueError, match="'strict'.*num_oov_indices=0.*\\[99\\]"):
            module(torch.tensor([[12, 99]]))
    hashed = layers.IntegerLookup(
        vocabulary=VOCABULARY, num_oov_indices=2, oov_method="farmhash", name="hashed"
    )
    model = gradstep.Sequential([gradstep.Input((2,), dtype="int64"), hashed])
    with pytest.raises(ValueError, match="layer 'hashed' \\(IntegerLookup\\).*FarmHash"):
        to_torch(model)


CATEGORIES = {
    "one_hot": ({"output_mode": "one_hot"}, (4,)),
    "one_hot_column": ({"output_mode": "one_hot"}, (1,)),
    "multi_hot": ({"output_mode": "multi_hot"}, (3,)),
    "count": ({"output_mode": "count"}, (5,)),
    "count_float64": ({"output_mode": "count", "dtype": "float64"}, (5,)),
}


@pytest.mark.parametrize("input_dtype", ["int32", "float32"])
@pytest.mark.parametrize("kind", list(CATEGORIES))
def test_category_encoding(kind, input_dtype):
    options, shape = CATEGORIES[kind]
    x = np.random.default_rng(3).integers(0, 6, size=(4, *shape)).astype(input_dtype)
    _compare(layers.CategoryEncoding(6, **options), x, input_dtype)


def test_category_encoding_refuses_an_index_out_of_range_as_gradstep_does():
    import torch

    from gradstep.interop import to_torch

    model = gradstep.Sequential(
        [gradstep.Input((2,), dtype="int32"), layers.CategoryEncoding(3, name="cats")]
    )
    module = to_torch(model)
    with pytest.raises(ValueError, match="'cats'.*\\[0, 3\\).*received 3"):
        module(torch.tensor([[0, 3]], dtype=torch.int32))
    with pytest.raises(ValueError, match="'cats'.*\\[0, 3\\)"):
        model.predict(np.array([[0, 3]], np.int32), verbose=0)


@pytest.mark.parametrize("output_mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization(output_mode):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    x[0, :2] = [-0.5, 0.25]  # on boundaries: the bin above, as np.digitize
    layer = layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.25, 1.0], output_mode=output_mode)
    module = _compare(layer, x, "float32")
    if output_mode == "int":
        import torch

        assert module(torch.from_numpy(x)).dtype == torch.int32


def test_an_adapted_discretization():
    layer = layers.Discretization(num_bins=4)
    layer.adapt(np.random.default_rng(5).normal(size=(50,)))
    _compare(layer, np.random.default_rng(6).normal(size=(4, 2)).astype(np.float32), "float32")


@pytest.mark.parametrize(
    ("layer", "dtype", "reason"),
    [
        (lambda: layers.StringLookup(vocabulary=["a", "b"], name="words"), "string", "strings"),
        (lambda: layers.Hashing(4, name="hashes"), "int64", "FarmHash"),
    ],
    ids=["StringLookup", "Hashing"],
)
def test_the_layers_of_strings_are_refused_by_name(layer, dtype, reason):
    from gradstep.interop import to_torch

    built = layer()
    model = gradstep.Sequential([gradstep.Input((2,), dtype=dtype), built])
    kind = type(built).__name__
    with pytest.raises(ValueError, match=f"layer '{built.name}' \\({kind}\\).*{reason}"):
        to_torch(model)


def test_lookups_inside_a_model_with_masks():
    """An IntegerLookup's indices feed a masked Embedding and an LSTM, beside a
    Discretization encoded by CategoryEncoding."""
    import torch

    from gradstep.interop import to_torch

    tokens = gradstep.Input((3,), dtype="int64")
    indices = layers.IntegerLookup(vocabulary=[12, 5, 7], mask_token=0)(tokens)
    sequence = layers.LSTM(2)(layers.Embedding(5, 2, mask_zero=True)(indices))
    counts = layers.CategoryEncoding(4, output_mode="count")(
        layers.Discretization([0.0, 10.0, 20.0])(tokens)
    )
    model = gradstep.Model(tokens, layers.Concatenate()([sequence, counts]))
    x = np.array([[12, 0, 99], [5, 7, 0], [8, 12, 30]], np.int64)
    with torch.no_grad():
        got = to_torch(model)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=0, atol=1e-6)
