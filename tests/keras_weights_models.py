"""The small models whose Keras-written ``.weights.h5`` files are the goldens of
tests/test_h5_weights.py; built the same way in Keras (by
tools/make_keras_h5_fixtures.py) and in gradstep (by the test), given the module."""


def dense(keras):
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(2),
        ],
        name="dense_model",
    )


def convnet(keras):
    inputs = keras.Input((6, 6, 1))
    hidden = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    hidden = keras.layers.BatchNormalization()(hidden)
    hidden = keras.layers.MaxPooling2D(2)(hidden)
    hidden = keras.layers.Flatten()(hidden)
    head = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)], name="head")
    outputs = keras.layers.Dense(2)(head(hidden))
    return keras.Model(inputs, outputs, name="convnet")


MODELS = {"dense": dense, "convnet": convnet}
