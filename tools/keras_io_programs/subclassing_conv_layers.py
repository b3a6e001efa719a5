# keras.io: "Customizing the convolution operation of a Conv2D layer",
# https://keras.io/examples/keras_recipes/subclassing_conv_layers/
# (keras-io examples/keras_recipes/subclassing_conv_layers.py): weight
# standardization by overriding Conv2D.convolution_op, and by overriding
# call() with keras.ops; Rescaling(1/255) at the start. Survey version:
# synthetic MNIST-shaped images, one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import layers, ops


class StandardizedConv2DWithOverride(layers.Conv2D):
    def convolution_op(self, inputs, kernel):
        # Keras 3.15 passes the Variable, which JAX 0.8 refuses in moments(): its value.
        kernel = ops.convert_to_tensor(kernel)
        mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        return ops.conv(
            inputs,
            (kernel - mean) / ops.sqrt(var + 1e-10),
            padding="valid",
            strides=list(self.strides),
            dilation_rate=list(self.dilation_rate),
        )


class StandardizedConv2DWithCall(layers.Conv2D):
    def call(self, inputs):
        # The example passes self.kernel itself; JAX 0.8 refuses a Variable in moments().
        kernel = ops.convert_to_tensor(self.kernel)
        mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        result = ops.conv(
            inputs,
            (kernel - mean) / ops.sqrt(var + 1e-10),
            padding="valid",
            strides=list(self.strides),
            dilation_rate=list(self.dilation_rate),
        )
        if self.use_bias:
            result = result + self.bias
        return result


num_classes = 10
input_shape = (28, 28, 1)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(128, 28, 28, 1)).astype("float32")
y_train = keras.utils.to_categorical(rng.integers(0, 10, size=128), num_classes)

model = keras.Sequential(
    [
        keras.layers.Input(shape=input_shape),
        layers.Rescaling(scale=1.0 / 255),
        StandardizedConv2DWithCall(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        StandardizedConv2DWithOverride(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1)
