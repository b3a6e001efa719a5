"""Layers written Keras's way: ``build`` with ``add_weight``, ``call`` with
``gradstep.ops``; their slopes come from the tape (gradstep.ops.tape)."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, ops
from gradstep.testing import check_layer_gradients


class Linear(layers.Layer):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class Block(layers.Layer):
    """A sublayer of each kind (Keras-style and built-in), NumPy functions,
    ``training`` and ``add_loss``."""

    def __init__(self, penalty=0.1, **kwargs):
        super().__init__(**kwargs)
        self.penalty = penalty
        # Keras gives sublayers no dtype of their own: they are made with one.
        self.linear = Linear(4, name="linear", dtype=self.dtype)
        self.dense = layers.Dense(2, activation="tanh", name="dense", dtype=self.dtype)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, inputs, training=None):
        h = np.exp(-np.square(self.linear(inputs))) * self.scale
        if self.penalty:
            self.add_loss(self.penalty * ops.mean(h))
        out = self.dense(h)
        return out * 2.0 if training else out


def test_add_weight_takes_keras_3_arguments_and_names_unnamed_weights():
    layer = Linear(dtype="float64")
    layer.build((None, 5))
    assert [name for name, _ in layer.named_weights()] == ["variable", "variable_1"]
    assert layer.w.dtype == np.float64 and layer.b.shape == (3,)
    assert layer.compute_output_shape((None, 5)) == (None, 3)


def test_a_weights_name_must_be_a_string_without_a_slash():
    layer = Linear()
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        layer.add_weight(shape=(2,), name="a/b")


@pytest.mark.parametrize("shape", [(3, 5), (2, 4, 5)])
def test_a_call_layer_passes_central_differences(shape):
    layer = Linear(dtype="float64")
    x = np.random.default_rng(0).normal(size=shape)
    assert check_layer_gradients(layer, x) < 1e-7


def test_sublayers_weights_losses_and_training_flow_through_the_tape():
    block = Block(penalty=0.0, dtype="float64")  # the check compares the output's slope
    x = np.random.default_rng(1).normal(size=(3, 5))
    block(x)
    assert [name for name, _ in block.named_weights()] == [
        "scale",
        "linear/variable",
        "linear/variable_1",
        "dense/kernel",
        "dense/bias",
    ]
    assert check_layer_gradients(block, x) < 1e-7


def test_add_loss_adds_its_value_and_its_slope():
    block = Block(penalty=0.5, dtype="float64")
    x = np.random.default_rng(1).normal(size=(3, 5))
    block(x)
    output, saved = block.forward(x, training=True)
    penalty = block.activity_penalty(saved)
    _, slopes = block.backward(saved, np.zeros_like(output))  # only the penalty's slope
    step = 1e-6
    scale = block.scale
    scale[...] += step
    up = block.activity_penalty(block.forward(x, training=True)[1])
    scale[...] -= 2 * step
    down = block.activity_penalty(block.forward(x, training=True)[1])
    scale[...] += step
    assert penalty > 0
    assert slopes["scale"] == pytest.approx((up - down) / (2 * step), rel=1e-6)


def test_a_layer_holding_layers_trains_in_a_model_and_its_penalty_counts():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(5,))
    model = keras.Model(inputs, Block(name="block")(inputs))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(2).normal(size=(16, 5)).astype("float32")
    before = model.evaluate(x, np.zeros((16, 2)), verbose=0)
    model.fit(x, np.zeros((16, 2)), epochs=5, verbose=0)
    assert model.evaluate(x, np.zeros((16, 2)), verbose=0) < before
    assert len(model.trainable_weights) == 5


def test_a_value_turned_into_a_plain_array_in_call_is_a_clear_error():
    class Leaky(layers.Layer):
        def call(self, inputs):
            return np.asarray(inputs) * 2

    with pytest.raises(TypeError, match="cannot become a plain array.*gradstep.ops"):
        Leaky()(np.ones((2, 3)))


def test_python_branching_on_a_traced_value_is_a_clear_error():
    class Branchy(layers.Layer):
        def call(self, inputs):
            return inputs if ops.sum(inputs) else -inputs

    with pytest.raises(TypeError, match="no truth value.*ops.where"):
        Branchy()(np.ones((2, 3)))


def test_a_layer_called_in_call_without_training_takes_the_callers_mode():
    """As Keras passes ``training`` down: the Dropout of a block trains with it."""

    class Noisy(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout = layers.Dropout(0.5)

        def call(self, inputs, training=None):
            return self.dropout(inputs)

    layer = Noisy()
    layer.rng = np.random.default_rng(0)
    x = np.ones((4, 50))
    training_output, _ = layer.forward(x, training=True)
    inference_output, _ = layer.forward(x, training=False)
    assert (training_output == 0).any() and (training_output == 2).any()
    np.testing.assert_array_equal(inference_output, x)


def test_a_call_that_names_mask_receives_the_mask_as_in_keras():
    """keras.io's masking guide: TemporalSoftmax after Embedding(mask_zero=True)."""

    class TemporalSoftmax(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
            exps = ops.exp(inputs) * weights
            return exps / ops.sum(exps * weights, axis=-1, keepdims=True)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=4, mask_zero=True)(inputs)
    outputs = TemporalSoftmax()(layers.Dense(1)(x))
    model = keras.Model(inputs, outputs)
    tokens = np.array([[3, 4, 0, 0], [1, 2, 5, 0]])
    with np.errstate(invalid="ignore"):
        found = model.predict(tokens, verbose=0)[..., 0]
    # A softmax over one feature: 1 at each step that counts, 0 / 0 at the padding (as in Keras).
    np.testing.assert_array_equal(found[tokens != 0], 1.0)
    assert np.isnan(found[tokens == 0]).all()
