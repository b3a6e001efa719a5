"""ONNX export: ONNX Runtime gives gradstep's predictions for every layer of
the case tables (tests/layer_cases), every activation, and functional models
with several inputs and outputs; what cannot be exported is refused, naming
the layer.

Tolerance: 1e-5 (absolute and relative), what the export promises. Both
sides compute in float32 with sums of at most a few hundred terms in
different orders (ONNX Runtime's kernels against NumPy's), so their outputs
differ by a few float32 units in the last place of numbers of size ~1."""

import importlib
import pkgutil
import warnings

import numpy as np
import pytest

import functional_models
import gradstep
import layer_cases
from gradstep import activations, layers
from gradstep.export.onnx import to_onnx

pytestmark = pytest.mark.requires("onnxruntime", extra="interop")

TOLERANCE = 1e-5

#: Arguments the layer tables leave out, in their format (tests/layer_cases/__init__.py).
SEQUENCE = (5, 3)
IMAGE = (5, 6, 3)
EXTRA_CASES = [
    *(
        {"name": f"{class_name.lower()}_{number}", "layers": [(class_name, config)], **extra}
        for number, (class_name, config, extra) in enumerate(
            [
                ("Resizing", {"height": 3, "width": 4}, {"input_shape": IMAGE}),
                ("Resizing", {"height": 8, "width": 7, "interpolation": "nearest"}, {}),
                ("Resizing", {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, {}),
                (
                    "Resizing",
                    {"height": 3, "width": 5, "pad_to_aspect_ratio": True, "fill_value": 0.5},
                    {},
                ),
                (
                    "Resizing",
                    {"height": 4, "width": 3, "data_format": "channels_first"},
                    {"input_shape": (3, 5, 6)},
                ),
                (
                    "Resizing",
                    {"height": 3, "width": 3},
                    {"input_dtype": "int32", "inputs": {"tokens": 255}},
                ),
                ("CenterCrop", {"height": 3, "width": 4}, {}),
                ("CenterCrop", {"height": 7, "width": 4}, {}),
                ("RandomFlip", {}, {}),
                ("RandomContrast", {"factor": 0.5}, {}),
            ]
        )
        for extra in [{"input_shape": IMAGE, **extra}]
    ),
    *(
        {
            "name": f"integer_lookup_{number}",
            "layers": [("IntegerLookup", {"vocabulary": [7, 3, 5, 11], **config})],
            "input_shape": (4,),
            "inputs": {"tokens": 14},
        }
        for number, config in enumerate(
            [
                {},
                {"mask_token": 0},
                {"num_oov_indices": 3},
                {"output_mode": "one_hot", "mask_token": 0},
                {"output_mode": "multi_hot", "num_oov_indices": 2},
                {"output_mode": "count"},
                {"output_mode": "tf_idf", "idf_weights": [0.5, 1.0, 1.5, 2.0]},
                {"invert": True},  # indices 0 .. 13: past the vocabulary, oov_token
                {"invert": True, "mask_token": 0, "oov_token": 99},
            ]
        )
    ),
    *(
        {
            "name": f"discretization_{mode}",
            "layers": [
                ("Discretization", {"bin_boundaries": [-0.5, 0.0, 0.7], "output_mode": mode})
            ],
            "input_shape": (3,),
        }
        for mode in ("int", "one_hot", "multi_hot", "count")
    ),
    *(
        {
            "name": f"category_encoding_{mode}_{length}",
            "layers": [("CategoryEncoding", {"num_tokens": 5, "output_mode": mode})],
            "input_shape": (length,),
            "inputs": {"tokens": 5},
        }
        for mode in ("one_hot", "multi_hot", "count")
        for length in (1, 3)
    ),
    {"name": "dropout", "layers": [("Dense", {"units": 3}), ("Dropout", {"rate": 0.5})]},
    {
        "name": "gru_backwards_last_relu",
        "layers": [("GRU", {"units": 3, "go_backwards": True, "activation": "relu"})],
        "input_shape": SEQUENCE,
    },
    {
        "name": "lstm_backwards_last_no_bias",
        "layers": [("LSTM", {"units": 3, "go_backwards": True, "use_bias": False})],
        "input_shape": SEQUENCE,
    },
    {
        "name": "lstm_hard_sigmoid_unrolled",
        "layers": [
            (
                "LSTM",
                {"units": 3, "recurrent_activation": "hard_sigmoid", "return_sequences": True},
            ),
            ("GRU", {"units": 2, "activation": "selu", "go_backwards": True}),
        ],
        "input_shape": SEQUENCE,
    },
    {
        "name": "rnn_of_stacked_cells",
        "layers": [
            (
                "RNN",
                {
                    "cell": {
                        "class_name": "StackedRNNCells",
                        "config": {
                            "cells": [
                                {"class_name": "LSTMCell", "config": {"units": 3}},
                                {"class_name": "GRUCell", "config": {"units": 2}},
                                {"class_name": "SimpleRNNCell", "config": {"units": 2}},
                            ]
                        },
                    },
                    "return_sequences": True,
                },
            )
        ],
        "input_shape": SEQUENCE,
    },
    {
        "name": "rnn_of_an_lstm_cell",
        "layers": [("RNN", {"cell": {"class_name": "LSTMCell", "config": {"units": 2}}})],
        "input_shape": SEQUENCE,
    },
    *(
        {
            "name": f"bidirectional_{mode}",
            "layers": [
                (
                    "Bidirectional",
                    {
                        "layer": {
                            "class_name": "SimpleRNN",
                            "config": {"units": 2, "return_sequences": True},
                        },
                        "merge_mode": mode,
                    },
                )
            ],
            "input_shape": SEQUENCE,
        }
        for mode in ("sum", "mul", "ave")
    ),
    {
        "name": "time_distributed_conv",
        "layers": [
            (
                "TimeDistributed",
                {"layer": {"class_name": "Conv1D", "config": {"filters": 2, "kernel_size": 2}}},
            )
        ],
        "input_shape": (3, 4, 2),
    },
]


def _families():
    return [m.name for m in pkgutil.iter_modules(layer_cases.__path__)]


def _table_cases():
    for family in _families():
        for case in importlib.import_module(f"layer_cases.{family}").CASES:
            yield pytest.param(case, id=f"{family}-{case['name']}")
    for case in EXTRA_CASES:
        yield pytest.param({"input_shape": (4,), **case}, id=f"extra-{case['name']}")


def run_onnx(model, arrays, opset=None):
    """The outputs of ONNX Runtime on the exported ``model``."""
    import onnxruntime

    exported = to_onnx(model) if opset is None else to_onnx(model, opset)
    session = onnxruntime.InferenceSession(
        exported.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feeds = {entry.name: array for entry, array in zip(session.get_inputs(), arrays, strict=True)}
    return session.run(None, feeds)


def perturb_weights(model, seed: int = 0) -> None:
    """Weights away from their initial values (biases and moving statistics
    are zeros and ones at first): normal noise, variances kept positive.
    The outputs stay of size ~1, where 1e-5 is about a hundred float32 units
    in the last place."""
    rng = np.random.default_rng(seed)
    new = []
    for name, value in model.named_weights():
        if value.dtype.kind != "f":
            new.append(value)
        elif "variance" in name:
            new.append(rng.uniform(0.5, 1.5, value.shape).astype(value.dtype))
        else:  # noise on the scale of the weights (kept small for wide layers' sums)
            scale = 0.5 * float(value.std()) if value.std() > 0 else 0.2
            new.append((value + scale * rng.normal(size=value.shape)).astype(value.dtype))
    model.set_weights(new)


def assert_same_predictions(model, arrays, opset=None) -> None:
    want = model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    want = want if isinstance(want, list) else [want]
    if isinstance(want[0], dict):
        want = list(want[0].values())
    got = run_onnx(model, arrays, opset)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want, strict=True):
        if np.asarray(theirs).dtype.kind in "OUS":  # text: the same strings
            assert mine.dtype == object
            np.testing.assert_array_equal(mine, np.asarray(theirs, dtype=object))
        else:
            np.testing.assert_allclose(mine, theirs, rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", list(_table_cases()))
def test_every_layer_case_runs_the_same_in_onnx_runtime(case):
    case = layer_cases.complete(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = layer_cases.build(case, gradstep)
    perturb_weights(model, case["seed"])
    x = layer_cases.inputs_for(case, np)
    assert_same_predictions(model, [x])
    assert_same_predictions(model, [x[:1]])  # the batch axis is dynamic


def _activation_cases():
    for name in sorted(activations.ACTIVATIONS.names()):
        yield pytest.param(name, id=name)
    yield pytest.param(activations.GELU(approximate=True), id="gelu_approximate")
    yield pytest.param(activations.LeakyReLU(0.05), id="leaky_relu_0.05")
    yield pytest.param(activations.ELU(alpha=0.4), id="elu_0.4")
    yield pytest.param(activations.Softmax(axis=1), id="softmax_axis_1")


@pytest.mark.parametrize("activation", list(_activation_cases()))
def test_every_activation_in_dense_and_as_a_layer(activation):
    inputs = gradstep.Input(shape=(3, 4))
    dense = layers.Dense(5, activation=activation)(inputs)
    # Scaled by 3 so that the inputs reach the activations' bends and tails.
    scaled = layers.Rescaling(3.0)(dense)
    model = gradstep.Model(inputs, layers.Activation(activation)(scaled))
    perturb_weights(model)
    x = np.random.default_rng(1).normal(size=(4, 3, 4)).astype(np.float32)
    assert_same_predictions(model, [x])


@pytest.mark.parametrize(
    "builder",
    [
        functional_models.two_inputs_shared_residual,
        functional_models.two_outputs,
        functional_models.every_merge,
        functional_models.shared_at_two_depths,
        functional_models.a_chain,
        functional_models.long_names_and_a_flatten_called_twice,
        functional_models.mnist_convnet,
        functional_models.batchnorm_mlp,
        functional_models.encoder_decoder,
        functional_models.recurrent_states_as_features,
        functional_models.attention_scores_as_features,
    ],
    ids=lambda builder: builder.__name__,
)
def test_functional_models(builder):
    model = builder(gradstep)
    perturb_weights(model)
    rng = np.random.default_rng(2)
    arrays = [rng.normal(size=(3, *tensor.shape[1:])).astype(np.float32) for tensor in model.inputs]
    assert_same_predictions(model, arrays)


def test_several_inputs_and_outputs_with_a_model_inside():
    """Two inputs, two outputs, a Sequential model used as a layer, a
    Dropout and an integer input through an Embedding."""
    tokens = gradstep.Input(shape=(5,), dtype="int32", name="tokens")
    features = gradstep.Input(shape=(3,), name="features")
    inner = gradstep.Sequential(
        [gradstep.Input((3,)), layers.Dense(4, activation="relu"), layers.Dropout(0.5)]
    )
    embedded = layers.GlobalAveragePooling1D()(layers.Embedding(10, 4)(tokens))
    joined = layers.Concatenate()([embedded, inner(features)])
    first = layers.Dense(2, activation="softmax", name="first")(joined)
    second = layers.Dense(1, name="second")(layers.Add()([embedded, inner(features)]))
    model = gradstep.Model({"tokens": tokens, "features": features}, [first, second])
    perturb_weights(model)
    rng = np.random.default_rng(3)
    token_values = rng.integers(0, 10, size=(4, 5)).astype(np.int32)
    feature_values = rng.normal(size=(4, 3)).astype(np.float32)
    want = model.predict({"tokens": token_values, "features": feature_values}, verbose=0)
    got = run_onnx(model, [token_values, feature_values])
    for mine, theirs in zip(got, want, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=TOLERANCE, atol=TOLERANCE)


def test_export_writes_a_file_that_onnx_runtime_serves(tmp_path, capsys):
    import onnx
    import onnxruntime

    model = gradstep.Sequential([gradstep.Input((4,)), layers.Dense(3, activation="softmax")])
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx")
    assert capsys.readouterr().out == f"Saved artifact at '{path}'.\n"
    written = onnx.load(path)
    assert written.opset_import[0].version == 18
    dims = written.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((7, 4), np.float32)
    (probabilities,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(probabilities, model.predict(x, verbose=0), atol=TOLERANCE)


def test_a_later_opset_on_request(tmp_path):
    """Every case of the tables at opset 21 too (the ops the export writes
    have the same form there)."""
    import onnx

    for param in _table_cases():
        case = layer_cases.complete({"input_shape": (4,), **param.values[0]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = layer_cases.build(case, gradstep)
        perturb_weights(model, case["seed"])
        assert_same_predictions(model, [layer_cases.inputs_for(case, np)], opset=21)
    model.export(tmp_path / "m.onnx", format="onnx", opset_version=21, verbose=False)
    assert onnx.load(tmp_path / "m.onnx").opset_import[0].version == 21


# --- what is refused ------------------------------------------------------------------------
def _dense_model():
    return gradstep.Sequential([gradstep.Input((4,)), layers.Dense(3)])


@pytest.mark.parametrize("format_", ["tf_saved_model", "torch", "ONNX"])
def test_other_formats_are_refused_naming_the_supported_one(tmp_path, format_):
    with pytest.raises(ValueError, match=r"format='onnx' only; received format="):
        _dense_model().export(tmp_path / "m", format=format_)


def test_bad_arguments_are_refused(tmp_path):
    model = _dense_model()
    with pytest.raises(ValueError, match="opset_version must be from 18 to"):
        model.export(tmp_path / "m.onnx", format="onnx", opset_version=12)
    with pytest.raises(TypeError, match="opset_version must be an integer"):
        model.export(tmp_path / "m.onnx", format="onnx", opset_version="18")
    with pytest.raises(ValueError, match="input_signature must be None"):
        model.export(tmp_path / "m.onnx", format="onnx", input_signature=[(None, 4)])
    with pytest.raises(ValueError, match="is not built"):
        gradstep.Sequential([layers.Dense(3)]).export(tmp_path / "m.onnx", format="onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_layer_without_a_converter_is_named():
    class Twice(layers.Layer):
        def call(self, inputs):
            return inputs * 2

    inputs = gradstep.Input((3,))
    model = gradstep.Model(inputs, Twice(name="twice")(layers.Dense(3)(inputs)))
    with pytest.raises(ValueError, match=r"layer 'twice' \(Twice\).*no ONNX converter"):
        to_onnx(model)


def test_a_function_activation_is_named():
    def cube(x):
        return x * x * x

    model = gradstep.Sequential([gradstep.Input((4,)), layers.Dense(3, activation=cube, name="d")])
    with pytest.raises(ValueError, match=r"layer 'd' \(Dense\).*function of yours"):
        to_onnx(model)


def test_a_call_in_training_mode_is_named():
    inputs = gradstep.Input((4,))
    dropped = layers.Dropout(0.5, name="always")(inputs, training=True)
    model = gradstep.Model(inputs, layers.Dense(2)(dropped))
    with pytest.raises(ValueError, match=r"layer 'always' \(Dropout\).*training=True"):
        to_onnx(model)


def test_recurrent_layers_onnx_cannot_write_are_named():
    steps = gradstep.Input((5, 3))
    cases = [(layers.GRU(2, stateful=True, name="kept"), "kept.*GRU.*stateful")]
    unknown = gradstep.Input((None, 3))
    hard = layers.LSTM(2, recurrent_activation="hard_sigmoid", name="hard")(unknown)
    with pytest.raises(ValueError, match="hard.*LSTM.*number of steps must be known"):
        to_onnx(gradstep.Model(unknown, hard))
    for layer, message in cases:
        model = gradstep.Model(steps, layer(steps))
        with pytest.raises(ValueError, match=message):
            to_onnx(model)


def test_attention_with_a_key_a_mask_input_and_causal_masks():
    query = gradstep.Input((4, 3), name="query")
    value = gradstep.Input((5, 2), name="value")
    key = gradstep.Input((5, 2), name="key")
    allowed = gradstep.Input((4, 5), name="allowed")
    heads = layers.MultiHeadAttention(2, 3, sliding_window=3)
    attended = heads(query, value, key=key, attention_mask=allowed)
    causal = layers.Attention(use_scale=True)([query, query, query], use_causal_mask=True)
    model = gradstep.Model([query, value, key, allowed], [attended, causal])
    perturb_weights(model)
    rng = np.random.default_rng(5)
    arrays = [
        rng.normal(size=(3, 4, 3)).astype(np.float32),
        rng.normal(size=(3, 5, 2)).astype(np.float32),
        rng.normal(size=(3, 5, 2)).astype(np.float32),
        (rng.random((3, 4, 5)) < 0.7).astype(np.float32),
    ]
    arrays[3][:, :, 0] = 1  # every query step sees some value step
    assert_same_predictions(model, arrays)


def test_ops_on_symbolic_tensors():
    """gradstep.ops (and Python's operators) in a functional model."""
    from gradstep import ops

    x = gradstep.Input((3, 4), name="x")
    tokens = gradstep.Input((3,), dtype="int32", name="tokens")
    h = layers.Dense(4)(x)
    positive = ops.abs(h) + 0.5
    terms = [
        h + 1,
        2.0 * h - h / 3,
        -h,
        h**2,
        ops.square(h) * ops.sqrt(positive),
        ops.exp(ops.tanh(h)) + ops.log(positive),
        ops.sigmoid(h) + ops.relu(h) + ops.softplus(h),
        ops.maximum(h, 0.1) - ops.minimum(h, -0.1),
        ops.clip(h, -0.5, 0.5),
        ops.where(h > 0, h, 0.01 * h),
        ops.softmax(h, axis=1) + ops.log_softmax(h),
        ops.gelu(h) + ops.silu(h) + ops.leaky_relu(h, negative_slope=0.3) + ops.elu(h),
        ops.mean(h, axis=1, keepdims=True) + ops.sum(h, axis=-1, keepdims=True),
        ops.max(h, axis=(1, 2), keepdims=True) * ops.min(h, axis=2, keepdims=True),
        ops.expand_dims(ops.squeeze(ops.expand_dims(h, 1), 1)[:, 0], 1),
        ops.transpose(ops.transpose(h, (0, 2, 1)), (0, 2, 1)),
        ops.reshape(ops.reshape(h, (-1, 12)), (-1, 3, 4)),
        ops.concatenate([h[:, :, :2], h[:, :, 2:]], axis=-1),
        ops.stack([h[:, 0], h[:, 2]], axis=1)[:, ::-1][:, None, 1] + h[..., ::2].sum(),
        h @ ops.ones((4, 4)) + ops.matmul(h, ops.transpose(h, (0, 2, 1)))[:, :, :1],
        ops.take(h, [2, 0], axis=2).mean(axis=2, keepdims=True),
        ops.cast(ops.argmax(h, axis=-1), "float32")[:, :, None],
        ops.cast(ops.expand_dims(tokens, -1), "float32") / 2
        + ops.cast(tokens[:, :, None] > 1, "float32"),
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    model = gradstep.Model([x, tokens], total)
    perturb_weights(model)
    rng = np.random.default_rng(6)
    arrays = [
        rng.normal(size=(2, 3, 4)).astype(np.float32),
        rng.integers(0, 4, size=(2, 3)).astype(np.int32),
    ]
    assert_same_predictions(model, arrays)


def test_an_op_without_a_converter_is_named():
    from gradstep import ops

    x = gradstep.Input((4,))
    model = gradstep.Model(x, ops.cumsum(layers.Dense(3)(x), axis=1))
    with pytest.raises(ValueError, match=r"\(OpLayer\).*the op 'cumsum' has no ONNX converter"):
        to_onnx(model)


def test_a_subclassed_model():
    from gradstep import ops

    class Residual(gradstep.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(2)

        def call(self, inputs):
            return self.out(ops.tanh(self.hidden(inputs)) + inputs)

    model = Residual()
    x = np.random.default_rng(7).normal(size=(3, 4)).astype(np.float32)
    model.predict(x, verbose=0)  # builds it
    perturb_weights(model)
    assert_same_predictions(model, [x])


def test_a_text_classifier_averages_over_the_unmasked_tokens():
    """Embedding(mask_zero=True), layers that pass the mask on, and the
    masked mean of GlobalAveragePooling1D (padding tokens left out)."""
    tokens = gradstep.Input((6,), dtype="int32")
    embedded = layers.Embedding(20, 4, mask_zero=True)(tokens)
    hidden = layers.Dropout(0.3)(layers.Dense(5, activation="relu")(embedded))
    pooled = layers.GlobalAveragePooling1D()(hidden)
    model = gradstep.Model(tokens, layers.Dense(2, activation="softmax")(pooled))
    perturb_weights(model)
    ids = np.random.default_rng(8).integers(1, 20, size=(4, 6)).astype(np.int32)
    ids[0, 3:] = ids[1, :2] = ids[2, 5] = 0  # padding, at the end and at the start
    assert_same_predictions(model, [ids])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_masks_through_concatenate():
    tokens = gradstep.Input((6,), dtype="int32")
    features = gradstep.Input((6, 2))
    embedded = layers.Embedding(20, 4, mask_zero=True)(tokens)
    across = layers.Concatenate()([embedded, features])  # the token mask goes on
    along = layers.Concatenate(axis=1)([embedded, embedded])  # the masks joined, 12 steps
    pooled = [layers.GlobalAveragePooling1D()(x) for x in (across, along)]
    model = gradstep.Model([tokens, features], layers.Concatenate()(pooled))
    perturb_weights(model)
    rng = np.random.default_rng(11)
    ids = rng.integers(1, 20, size=(3, 6)).astype(np.int32)
    ids[0, 4:] = ids[1, :2] = 0
    assert_same_predictions(model, [ids, rng.normal(size=(3, 6, 2)).astype(np.float32)])


@pytest.mark.parametrize(
    "recurrent",
    [
        lambda: layers.LSTM(3, return_sequences=True, zero_output_for_mask=True),
        lambda: layers.LSTM(3, go_backwards=True, activation="relu"),
        lambda: layers.GRU(3, reset_after=False, return_sequences=True),
        lambda: layers.GRU(3, go_backwards=True, recurrent_activation="hard_sigmoid"),
        lambda: layers.SimpleRNN(3, return_sequences=True, use_bias=False),
        lambda: layers.LSTM(3, recurrent_activation="hard_sigmoid", activation="gelu"),
        lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="ave"),
    ],
    ids=[
        "lstm_zero_output",
        "lstm_backwards_relu",
        "gru_reset_before",
        "gru_hard_sigmoid",
        "simple_rnn_no_bias",
        "lstm_activations_the_ops_lack",
        "bidirectional_lstm",
    ],
)
def test_recurrent_layers_under_a_mask(recurrent):
    """Padding at the start (pad_sequences' default) and at the end: masked
    steps keep the states, as gradstep's recurrent layers do."""
    tokens = gradstep.Input((6,), dtype="int32")
    embedded = layers.Embedding(12, 4, mask_zero=True)(tokens)
    model = gradstep.Model(tokens, recurrent()(embedded))
    perturb_weights(model)
    ids = np.random.default_rng(9).integers(1, 12, size=(4, 6)).astype(np.int32)
    ids[0, :3] = ids[1, 4:] = ids[2, 2] = 0
    assert_same_predictions(model, [ids])


def test_a_small_transformer_under_a_padding_mask():
    tokens = gradstep.Input((6,), dtype="int32")
    embedded = layers.Embedding(12, 8, mask_zero=True)(tokens)
    attended = layers.MultiHeadAttention(2, 4)(embedded, embedded)
    normalized = layers.LayerNormalization()(layers.Add()([embedded, attended]))
    pooled = layers.GlobalAveragePooling1D()(normalized)
    model = gradstep.Model(tokens, layers.Dense(3, activation="softmax")(pooled))
    perturb_weights(model)
    ids = np.random.default_rng(10).integers(1, 12, size=(3, 6)).astype(np.int32)
    ids[0, 4:] = ids[1, :2] = 0
    assert_same_predictions(model, [ids])


def test_a_lambda_layer_is_named():
    inputs = gradstep.Input((3,))
    doubled = layers.Lambda(lambda x: x * 2, name="double")(inputs)
    with pytest.raises(ValueError, match=r"layer 'double' \(Lambda\).*no ONNX converter"):
        to_onnx(gradstep.Model(inputs, doubled))


def test_a_float64_model_is_written_in_float32():
    model = gradstep.Sequential(
        [gradstep.Input((4,), dtype="float64"), layers.Dense(3, dtype="float64", activation="tanh")]
    )
    perturb_weights(model)
    x = np.random.default_rng(12).normal(size=(5, 4))
    want = model.predict(x, verbose=0)
    assert want.dtype == np.float64
    (got,) = run_onnx(model, [x.astype(np.float32)])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=TOLERANCE, atol=TOLERANCE)


def test_a_sequential_model_that_starts_with_an_embedding():
    model = gradstep.Sequential([layers.Embedding(10, 3), layers.Flatten(), layers.Dense(2)])
    ids = np.random.default_rng(13).integers(0, 10, size=(4, 5))
    model.predict(ids, verbose=0)  # builds it, with an int64 Input
    perturb_weights(model)
    assert_same_predictions(model, [ids])


@pytest.mark.parametrize("length", [7, 10])
def test_sequences_of_any_length(length):
    """Steps unknown until the model runs: 'same' padding from ONNX's
    SAME_UPPER rule (Keras's), recurrent ops over any number of steps."""
    steps = gradstep.Input((None, 3))
    x = layers.Conv1D(4, 3, strides=2, padding="same", activation="relu")(steps)
    x = layers.MaxPooling1D(3, strides=2, padding="same")(x)
    x = layers.Conv1D(4, 2, padding="causal", dilation_rate=2)(x)
    x = layers.AveragePooling1D(2, padding="same")(x)
    x = layers.GRU(3, return_sequences=True)(x)
    model = gradstep.Model(steps, layers.GlobalAveragePooling1D()(x))
    perturb_weights(model)
    sequence = np.random.default_rng(14).normal(size=(2, length, 3)).astype(np.float32)
    assert_same_predictions(model, [sequence])


@pytest.mark.parametrize("size", [(5, 6), (8, 7)])
def test_images_of_any_size(size):
    images = gradstep.Input((None, None, 2))
    x = layers.Conv2D(3, 3, strides=2, padding="same", activation="relu")(images)
    x = layers.DepthwiseConv2D(2, padding="same", depth_multiplier=2)(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.SeparableConv2D(4, 3, padding="same")(x)
    model = gradstep.Model(images, layers.GlobalMaxPooling2D()(x))
    perturb_weights(model)
    pixels = np.random.default_rng(15).normal(size=(2, *size, 2)).astype(np.float32)
    assert_same_predictions(model, [pixels])


def test_a_model_with_two_outputs_used_as_a_layer():
    inner_input = gradstep.Input(shape=(4,))
    hidden = layers.Dense(3, activation="tanh")(inner_input)
    encoder = gradstep.Model(inner_input, [layers.Dense(2)(hidden), layers.Dense(2)(hidden)])
    x = gradstep.Input(shape=(4,))
    mean, log_var = encoder(x)
    model = gradstep.Model(
        x, layers.Dense(1)(layers.Concatenate()([mean, layers.Multiply()([log_var, log_var])]))
    )
    perturb_weights(model)
    assert_same_predictions(model, [np.random.default_rng(4).normal(size=(3, 4)).astype("float32")])


# --- calls with several outputs ---------------------------------------------------------------
#: Recurrent layers called with ``return_state=True`` (and Bidirectional with
#: ``merge_mode=None``): every output of the call is an output of the model.
SEVERAL_OUTPUTS = {
    "lstm": lambda: layers.LSTM(3, return_state=True),
    "lstm_sequences_backwards": lambda: layers.LSTM(
        3, return_sequences=True, return_state=True, go_backwards=True
    ),
    "gru_reset_after": lambda: layers.GRU(3, return_state=True),
    "gru_reset_before_no_bias": lambda: layers.GRU(
        3, reset_after=False, use_bias=False, return_sequences=True, return_state=True
    ),
    "simple_rnn_backwards": lambda: layers.SimpleRNN(3, return_state=True, go_backwards=True),
    "lstm_unrolled": lambda: layers.LSTM(3, recurrent_activation="hard_sigmoid", return_state=True),
    "rnn_of_stacked_cells": lambda: layers.RNN(
        [layers.LSTMCell(3), layers.GRUCell(2)], return_sequences=True, return_state=True
    ),
    "bidirectional_concat": lambda: layers.Bidirectional(layers.LSTM(2, return_state=True)),
    "bidirectional_sum": lambda: layers.Bidirectional(
        layers.GRU(2, return_sequences=True, return_state=True), merge_mode="sum"
    ),
    "bidirectional_merge_none": lambda: layers.Bidirectional(
        layers.SimpleRNN(2, return_sequences=True, return_state=True), merge_mode=None
    ),
    "bidirectional_merge_none_no_states": lambda: layers.Bidirectional(
        layers.LSTM(2, return_sequences=True), merge_mode=None
    ),
}


def _padded_tokens(seed: int, batch: int = 4, steps: int = 6, vocabulary: int = 12):
    """Token ids with padding (0) at the start, at the end and inside."""
    ids = np.random.default_rng(seed).integers(1, vocabulary, size=(batch, steps)).astype(np.int32)
    ids[0, :3] = ids[1, 4:] = ids[2, 2] = 0
    return ids


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("make", list(SEVERAL_OUTPUTS.values()), ids=list(SEVERAL_OUTPUTS))
def test_every_output_of_a_recurrent_call_is_a_model_output(make, masked):
    """The sequences or last output and the final states (Keras's order:
    LSTM ``[h, c]``, a stack's cells in turn, Bidirectional's forward states
    then backward ones), without a mask and with one (masked steps keep the
    states)."""
    if masked:
        tokens = gradstep.Input((6,), dtype="int32")
        sequences = layers.Embedding(12, 3, mask_zero=True)(tokens)
        arrays = [_padded_tokens(16)]
    else:
        tokens = sequences = gradstep.Input((5, 3))
        arrays = [np.random.default_rng(16).normal(size=(4, 5, 3)).astype(np.float32)]
    outputs = make()(sequences)
    model = gradstep.Model(tokens, outputs)
    perturb_weights(model)
    assert len(model.outputs) > 1
    assert_same_predictions(model, arrays)


#: Recurrent layers started from given states: the layer, the states' sizes.
INITIAL_STATES = {
    "lstm": (lambda: layers.LSTM(3, return_sequences=True), [3, 3]),
    "lstm_backwards_no_bias": (lambda: layers.LSTM(3, go_backwards=True, use_bias=False), [3, 3]),
    "gru_reset_after": (lambda: layers.GRU(3, return_sequences=True), [3]),
    "gru_reset_before": (lambda: layers.GRU(3, reset_after=False), [3]),
    "simple_rnn_relu": (lambda: layers.SimpleRNN(3, activation="relu"), [3]),
    "lstm_unrolled": (lambda: layers.LSTM(3, activation="gelu", return_sequences=True), [3, 3]),
    "gru_unrolled_reset_before": (
        lambda: layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid"),
        [3],
    ),
    "stacked_cells_with_states_out": (
        lambda: layers.RNN([layers.LSTMCell(3), layers.SimpleRNNCell(2)], return_state=True),
        [3, 3, 2],
    ),
    "gru_with_states_out": (lambda: layers.GRU(3, return_state=True, go_backwards=True), [3]),
}


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize(("make", "sizes"), list(INITIAL_STATES.values()), ids=list(INITIAL_STATES))
def test_recurrent_layers_started_from_given_states(make, sizes, masked):
    """``initial_state`` computed in the graph (a Dense layer of another
    input) as ONNX's initial_h/initial_c or the first states of the steps
    written out (under a mask: masked steps keep them)."""
    features = gradstep.Input((4,), name="features")
    states = [layers.Dense(size, activation="tanh")(features) for size in sizes]
    rng = np.random.default_rng(17)
    if masked:
        tokens = gradstep.Input((6,), dtype="int32")
        sequences = layers.Embedding(12, 3, mask_zero=True)(tokens)
        arrays = [_padded_tokens(17)]
    else:
        tokens = sequences = gradstep.Input((5, 3))
        arrays = [rng.normal(size=(4, 5, 3)).astype(np.float32)]
    outputs = make()(sequences, initial_state=states)
    model = gradstep.Model([tokens, features], outputs)
    perturb_weights(model)
    arrays.append(rng.normal(size=(4, 4)).astype(np.float32))
    assert_same_predictions(model, arrays)


def test_an_encoder_inside_a_model_hands_its_states_on():
    """A model used as a layer whose outputs are an LSTM's states, and a
    decoder started from them whose states are outputs too."""
    source = gradstep.Input((5, 3))
    _, h, c = layers.LSTM(4, return_state=True)(source)
    encoder = gradstep.Model(source, [h, c])
    outer_source, target = gradstep.Input((5, 3)), gradstep.Input((4, 2))
    states = encoder(outer_source)
    decoded, *final = layers.LSTM(4, return_sequences=True, return_state=True)(
        target, initial_state=states
    )
    model = gradstep.Model([outer_source, target], [layers.Dense(2)(decoded), *final])
    perturb_weights(model)
    rng = np.random.default_rng(18)
    arrays = [
        rng.normal(size=(3, 5, 3)).astype(np.float32),
        rng.normal(size=(3, 4, 2)).astype(np.float32),
    ]
    assert_same_predictions(model, arrays)


def test_attention_scores_as_outputs_under_masks():
    """``return_attention_scores=True``: the softmax weights (zeros where
    masked) beside the output, with a padding mask, a key, a causal mask and
    an attention_mask input."""
    tokens = gradstep.Input((6,), dtype="int32")
    embedded = layers.Embedding(12, 4, mask_zero=True)(tokens)
    key = gradstep.Input((6, 4))
    allowed = gradstep.Input((6, 6))
    attended, scores = layers.MultiHeadAttention(2, 3)(
        embedded,
        embedded,
        key=key,
        attention_mask=allowed,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    self_attended, self_scores = layers.MultiHeadAttention(3, 2, value_dim=4)(
        embedded, embedded, return_attention_scores=True
    )
    both = layers.Add()([attended, self_attended])
    model = gradstep.Model([tokens, key, allowed], [attended, scores, both, self_scores])
    perturb_weights(model)
    rng = np.random.default_rng(19)
    allowed_values = (rng.random((4, 6, 6)) < 0.7).astype(np.float32)
    arrays = [_padded_tokens(19), rng.normal(size=(4, 6, 4)).astype(np.float32), allowed_values]
    assert_same_predictions(model, arrays)


# --- masks over several attention axes --------------------------------------------------------
def _multi_axis_case(query_shape, axes, mask_shape, seed, scores=False):
    query = gradstep.Input(query_shape)
    allowed = gradstep.Input(mask_shape)
    heads = layers.MultiHeadAttention(2, 3, attention_axes=axes)
    result = heads(query, query, attention_mask=allowed, return_attention_scores=scores)
    model = gradstep.Model([query, allowed], result)
    perturb_weights(model)
    rng = np.random.default_rng(seed)
    allowed_values = (rng.random((3, *mask_shape)) < 0.6).astype(np.float32)
    return model, [rng.normal(size=(3, *query_shape)).astype(np.float32), allowed_values]


@pytest.mark.parametrize(
    ("query_shape", "axes", "mask_shape", "scores"),
    [
        ((2, 3, 4), (1, 2), (2, 3, 2, 3), True),  # the mask in the scores' layout
        ((2, 3, 4), (1, 2), (1, 3, 1, 3), False),  # broadcast over the first axis
        ((2, 3, 2, 4), (2, 3), (2, 3, 2, 3, 2), True),  # another axis before the attended ones
        ((2, 3, 2, 4), (1, 3), (3, 2, 2, 2, 2), False),  # attended axes apart
    ],
    ids=["full", "broadcast", "rank5_trailing_axes", "rank5_axes_apart"],
)
def test_attention_masks_over_several_axes(query_shape, axes, mask_shape, scores):
    model, arrays = _multi_axis_case(query_shape, axes, mask_shape, seed=20, scores=scores)
    assert_same_predictions(model, arrays)


def test_input_masks_over_a_later_attention_axis():
    """Masking's mask of a rank-4 input (query's and value's), with a causal
    mask, attending over axis 2."""
    images = gradstep.Input((3, 3, 4))
    masked = layers.Masking()(images)
    attended = layers.MultiHeadAttention(2, 3, attention_axes=(2,))(
        masked, masked, use_causal_mask=True
    )
    model = gradstep.Model(images, attended)
    perturb_weights(model)
    x = np.random.default_rng(21).normal(size=(3, 3, 3, 4)).astype(np.float32)
    x[0, 1, 2] = x[1, 0, 0] = 0
    assert_same_predictions(model, [x])


def test_masks_that_do_not_fit_several_attention_axes_are_named():
    """A causal mask (1, T, S) over two attention axes: predict fails too;
    the export names the layer and says why."""
    query = gradstep.Input((2, 3, 4))
    heads = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), name="grid")
    model = gradstep.Model(query, heads(query, query, use_causal_mask=True))
    with pytest.raises(ValueError, match=r"'grid' \(MultiHeadAttention\).*too few axes"):
        to_onnx(model)
    with pytest.raises(ValueError, match="out of bounds"):
        model.predict(np.zeros((1, 2, 3, 4), np.float32), verbose=0)


# --- lookups of text and integers ---------------------------------------------------------------
WORDS = ["cat", "dog", "bird"]
#: Words with padding (the empty string), the vocabulary's, and others.
TEXT = np.array(
    [["cat", "dog", "", "bird"], ["fish", "cat", "cat", ""], ["dog", "zebra", "x", "cat"]],
    dtype=object,
)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"mask_token": ""},
        {"num_oov_indices": 0, "mask_token": "", "oov_token": "?"},
        {"output_mode": "one_hot", "mask_token": ""},
        {"output_mode": "multi_hot"},
        {"output_mode": "count", "mask_token": ""},
        {"output_mode": "tf_idf", "idf_weights": [0.5, 1.0, 1.5]},
        {"max_tokens": 6, "pad_to_max_tokens": True, "output_mode": "multi_hot"},
    ],
    ids=["int", "mask", "no_oov", "one_hot", "multi_hot", "count", "tf_idf", "padded"],
)
def test_string_lookup_takes_a_string_input(config):
    text = gradstep.Input((4,), dtype="string", name="text")
    model = gradstep.Model(text, layers.StringLookup(vocabulary=WORDS, **config)(text))
    words = TEXT
    if config.get("num_oov_indices") == 0:  # predict refuses unknown words
        words = np.where(np.isin(TEXT, [*WORDS, ""]), TEXT, "dog").astype(object)
    assert_same_predictions(model, [words])


def test_inverted_lookups_give_tokens():
    """Indices back to strings (a string output) and integers; an index past
    the vocabulary gives ``oov_token``."""
    indices = gradstep.Input((4,), dtype="int64")
    strings = layers.StringLookup(vocabulary=WORDS, invert=True, mask_token="")(indices)
    other = layers.StringLookup(vocabulary=WORDS, invert=True, num_oov_indices=2)(indices)
    integers = layers.IntegerLookup(vocabulary=[7, 3, 5], invert=True, mask_token=0)(indices)
    model = gradstep.Model(indices, [strings, other, integers])
    assert_same_predictions(model, [np.array([[0, 1, 2, 3], [4, 5, -1, 2]])])


def test_text_to_the_inverted_lookup_and_back():
    """A string output of one lookup as the input of another."""
    indices = gradstep.Input((4,), dtype="int64")
    strings = layers.StringLookup(vocabulary=WORDS, invert=True)(indices)
    model = gradstep.Model(indices, layers.StringLookup(vocabulary=WORDS[::-1])(strings))
    assert_same_predictions(model, [np.array([[0, 1, 2, 3], [4, 3, -1, 2]])])


def test_a_text_classifier_from_strings():
    """Words -> StringLookup (the empty string as padding) -> Embedding's
    mask -> LSTM -> Dense: a model trained on text serves on text."""
    text = gradstep.Input((4,), dtype="string")
    indices = layers.StringLookup(vocabulary=WORDS, mask_token="")(text)
    embedded = layers.Embedding(5, 3, mask_zero=True)(indices)
    hidden = layers.LSTM(3)(embedded)
    model = gradstep.Model(text, layers.Dense(2, activation="softmax")(hidden))
    perturb_weights(model)
    assert_same_predictions(model, [TEXT])


@pytest.mark.parametrize("mode", ["int", "one_hot", "count"])
def test_without_oov_indices_an_unknown_token_is_minus_one(mode):
    """``num_oov_indices=0``: known tokens as predict gives them; an unknown
    one, which predict refuses with an error, is index -1 (zeros when
    encoded) in the file, since an ONNX model cannot raise."""
    import onnxruntime

    tokens, text = gradstep.Input((3,), dtype="int64"), gradstep.Input((3,), dtype="string")
    options = {"num_oov_indices": 0, "output_mode": mode}
    model = gradstep.Model(
        [tokens, text],
        [
            layers.IntegerLookup(vocabulary=[7, 3, 5], **options)(tokens),
            layers.StringLookup(vocabulary=WORDS, **options)(text),
        ],
    )
    known = [np.array([[7, 3, 5], [5, 5, 7]]), np.array([["cat", "dog", "bird"]] * 2, object)]
    assert_same_predictions(model, known)
    with pytest.raises(ValueError, match="num_oov_indices=0 all inputs should be in vocabulary"):
        model.predict([np.array([[7, 4, 5]]), known[1][:1]], verbose=0)
    session = onnxruntime.InferenceSession(
        to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    unknown = [np.array([[7, 4, 5]]), np.array([["cat", "cow", "bird"]], object)]
    feeds = {entry.name: array for entry, array in zip(session.get_inputs(), unknown, strict=True)}
    want = {
        "int": [[0, -1, 2]],
        "one_hot": [[[1, 0, 0], [0, 0, 0], [0, 0, 1]]],
        "count": [[1, 0, 1]],
    }[mode]
    for got in session.run(None, feeds):
        np.testing.assert_array_equal(got, want)


def test_what_onnx_cannot_hash_or_look_up_is_named():
    text = gradstep.Input((3,), dtype="string")
    indices = gradstep.Input((3,), dtype="int64")
    cases = [
        (text, layers.Hashing(5, name="hashed"), r"'hashed' \(Hashing\).*FarmHash64"),
        (
            text,
            layers.StringLookup(vocabulary=WORDS, num_oov_indices=2, name="words"),
            r"'words' \(StringLookup\).*num_oov_indices=2.*FarmHash64",
        ),
        (
            indices,
            layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=2, oov_method="farmhash"),
            r"\(IntegerLookup\).*FarmHash64",
        ),
        (
            indices,
            layers.StringLookup(vocabulary=WORDS, invert=True, oov_token=None, name="back"),
            r"'back' \(StringLookup\).*oov_token=None",
        ),
        (
            text,
            layers.StringLookup(name="empty"),
            r"'empty' \(StringLookup\).*no vocabulary",
        ),
    ]
    for inputs, layer, message in cases:
        with pytest.raises(ValueError, match=message):
            to_onnx(gradstep.Model(inputs, layer(inputs)))


def test_ops_with_several_outputs():
    """``split``, ``unstack`` and ``moments``: one node per output."""
    from gradstep import ops

    x = gradstep.Input((4, 6))
    h = layers.Dense(6)(x)
    left, middle, right = ops.split(h, [1, 4], axis=-1)
    halves = ops.split(h, 2, axis=1)
    rows = ops.unstack(h, axis=1)
    mean, variance = ops.moments(h, axes=[1])
    kept_mean, kept_variance = ops.moments(h, axes=(1, 2), keepdims=True)
    model = gradstep.Model(
        x,
        [
            left,
            ops.concatenate([right, middle], axis=-1),
            halves[1] - halves[0],
            rows[3] * rows[0],
            mean + variance,
            kept_mean * kept_variance,
        ],
    )
    perturb_weights(model)
    x_values = np.random.default_rng(22).normal(size=(3, 4, 6)).astype(np.float32)
    assert_same_predictions(model, [x_values])
