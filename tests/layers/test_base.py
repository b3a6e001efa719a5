"""The Layer contract, through a layer written as docs/architecture.md says
to write one; and weights that can be frozen, as in Keras."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, models
from gradstep.layers.base import LAYERS, Layer
from gradstep.testing import check_layer_gradients, check_model_gradients


class Scale(Layer):
    """``y = x * scale + shift``, and a running count of the samples seen in
    training: a weight the optimizer must not touch."""

    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1],), "ones", name="scale")
        self.shift = self.add_weight((input_shape[-1],), "zeros", name="shift")
        self.seen = self.add_weight((), "zeros", name="seen", trainable=False)
        super().build(input_shape)

    def forward(self, x, training=False):
        if training:
            self.seen += len(x)
        return x * self.scale + self.shift, x

    def backward(self, x, grad_wrt_output, input_gradient=True):
        weight_grads = {
            "scale": (grad_wrt_output * x).sum(axis=0),
            "shift": grad_wrt_output.sum(axis=0),
        }
        return (grad_wrt_output * self.scale if input_gradient else None), weight_grads


def test_a_layer_of_your_own_is_two_methods_and_a_build():
    layer = Scale(dtype="float64")
    rng = np.random.default_rng(0)
    layer.build((None, 3))
    layer.set_weights([rng.normal(size=3), rng.normal(size=3), np.array(0.0)])
    check_layer_gradients(layer, rng.normal(size=(4, 3)))


def test_weights_trainable_first_then_the_others_as_keras():
    layer = Scale(name="scale_layer")
    layer.build((None, 2))
    assert [name for name, _ in layer.named_weights()] == ["scale", "shift", "seen"]
    assert [name for name, _ in layer.named_weights(trainable_only=True)] == ["scale", "shift"]
    assert layer.non_trainable_weights == [layer.seen]
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3


def test_a_non_trainable_weight_is_counted_apart_and_never_stepped():
    model = models.Sequential([Scale(input_shape=(3,)), layers.Dense(1)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32)
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=2, batch_size=10, verbose=0)
    assert float(model.layers[0].seen) == 40.0  # the forward pass moved it, not the optimizer
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 10 (40.00 Byte)" in lines
    assert "Non-trainable params: 1 (4.00 Byte)" in lines
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 1


def test_freezing_a_layer_before_compile_keeps_its_weights():
    inputs = keras.Input(shape=(4,))
    base = layers.Dense(6, activation="relu", name="base")
    head = layers.Dense(1, name="head")
    model = keras.Model(inputs, head(base(inputs)), seed=2)
    base.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    before = base.get_weights()
    rng = np.random.default_rng(3)
    model.fit(rng.normal(size=(16, 4)), rng.normal(size=(16, 1)), verbose=0)
    for kept, original in zip(base.get_weights(), before, strict=True):
        np.testing.assert_array_equal(kept, original)
    assert [p for p, _ in model.named_weights(trainable_only=True)] == ["head/kernel", "head/bias"]
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 7 (28.00 Byte)" in lines
    assert "Non-trainable params: 30 (120.00 Byte)" in lines
    # As in Keras, a change of trainable takes effect at the next compile().
    base.trainable = True
    model.fit(rng.normal(size=(16, 4)), rng.normal(size=(16, 1)), verbose=0)
    np.testing.assert_array_equal(base.get_weights()[0], before[0])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.normal(size=(16, 4)), rng.normal(size=(16, 1)), verbose=0)
    assert not np.array_equal(base.get_weights()[0], before[0])


def test_freezing_a_whole_model_freezes_its_layers():
    model = models.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    model.trainable = False
    assert all(not layer.trainable for layer in model.layers)
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4


def test_the_slopes_of_a_model_with_a_layer_of_your_own_pass_central_differences():
    model = models.Sequential(
        [Scale(input_shape=(3,), dtype="float64"), layers.Dense(2, dtype="float64")], seed=0
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(4)
    check_model_gradients(model, rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))


def test_a_layer_of_your_own_is_not_in_the_registry_so_files_refuse_it(tmp_path):
    assert "Scale" not in LAYERS
    model = models.Sequential([Scale(input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="Unknown layer class 'Scale'"):
        model.save(tmp_path / "m.keras")
