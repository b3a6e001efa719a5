"""Keras 3 programs that extend Keras by subclassing, written once for Keras
and for gradstep: each builder takes the library (``keras`` or ``gradstep``)
so that the tool recording Keras's numbers
(tools/make_keras_subclassing_fixtures.py) and the test comparing with them
(tests/models/test_subclassing_parity.py) run the same code. The classes are
keras.io's: "Making new layers and models via subclassing" (``Linear``, an
``MLPBlock`` with ``add_loss``), a subclassed ``Model``, and a ``Loss`` with
``call`` written with ``ops``."""


def custom_layer_model(keras):
    """A functional model around a Keras-style layer: ``build`` with
    ``add_weight``, ``call`` with ``ops``, a sublayer and ``add_loss``."""
    ops, layers = keras.ops, keras.layers

    class Linear(layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units), initializer="random_normal", name="w"
            )
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    class MLPBlock(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.linear_1 = Linear(6, name="linear_1")
            self.linear_2 = Linear(2, name="linear_2")

        def call(self, inputs):
            x = ops.tanh(self.linear_1(inputs))
            self.add_loss(0.01 * ops.sum(ops.square(x)))
            return self.linear_2(x)

    inputs = keras.Input(shape=(4,), name="x")
    outputs = MLPBlock(name="block")(inputs)
    outputs = layers.Dense(3, activation="softmax", name="head")(ops.relu(outputs) + 0.5)
    return keras.Model(inputs, outputs, name="custom_layer")


def subclassed_model(keras):
    """A ``Model`` subclass: layers made in ``__init__``, wired in ``call``
    with ``ops`` between them."""
    ops, layers = keras.ops, keras.layers

    class Residual(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = layers.Dense(5, activation="relu", name="dense_1")
            self.dense_2 = layers.Dense(4, name="dense_2")
            self.out = layers.Dense(1, name="out")

        def call(self, inputs):
            h = self.dense_2(self.dense_1(inputs))
            return self.out(ops.sigmoid(h) * inputs)

    return Residual(name="residual")


def quantile_loss(keras):
    """A ``Loss`` subclass whose ``call`` is written with ``ops``."""
    ops = keras.ops

    class Quantile(keras.losses.Loss):
        def __init__(self, tau=0.7, **kwargs):
            super().__init__(**kwargs)
            self.tau = tau

        def call(self, y_true, y_pred):
            error = y_true - y_pred
            return ops.mean(ops.maximum(self.tau * error, (self.tau - 1.0) * error), axis=-1)

    return Quantile(name="quantile")


def mean_gap_metric(keras):
    """A ``Metric`` subclass the Keras 3 way: ``add_variable``,
    ``update_state`` with ``ops`` and ``sample_weight``, ``result``,
    ``reset_state``."""
    ops = keras.ops

    class MeanAbsoluteGap(keras.metrics.Metric):
        def __init__(self, name="mean_gap", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            gap = ops.mean(ops.abs(ops.cast(y_true, "float32") - y_pred), axis=-1)
            if sample_weight is not None:
                gap = gap * ops.cast(sample_weight, "float32")
            self.total.assign_add(ops.sum(gap))
            self.count.assign_add(ops.cast(ops.shape(gap)[0], "float32"))

        def result(self):
            return self.total / ops.maximum(self.count, 1.0)

    return MeanAbsoluteGap()


def compute_loss_model(keras):
    """A ``Model`` subclass that overrides ``compute_loss`` (keras.io's knowledge
    distillation pattern), compiled without a loss."""
    ops, layers = keras.ops, keras.layers

    class OwnLoss(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(4, activation="tanh", name="hidden")
            self.out = layers.Dense(1, name="out")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
            error = ops.mean(ops.square(y - y_pred))
            return error + 0.1 * ops.mean(ops.square(y_pred)) + 0.01 * ops.mean(ops.abs(x))

    return OwnLoss(name="own_loss")


def endpoint_model(keras):
    """keras.io's endpoint layer pattern: a layer called on (targets, logits) that
    adds its loss with ``add_loss``; the model is compiled without a loss and
    fitted without y, the targets being an input."""
    layers = keras.layers

    class LogisticEndpoint(layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            self.add_loss(self.loss_fn(targets, logits, sample_weights))
            return keras.ops.sigmoid(logits)

    inputs = keras.Input(shape=(4,), name="inputs")
    targets = keras.Input(shape=(1,), name="targets")
    logits = layers.Dense(1, name="logits")(layers.Dense(3, activation="relu", name="h")(inputs))
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    return keras.Model([inputs, targets], predictions, name="endpoint")
