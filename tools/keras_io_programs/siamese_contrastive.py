# keras.io: "Image similarity estimation using a Siamese Network with a
# contrastive loss", https://keras.io/examples/vision/siamese_contrastive/
# (keras-io examples/vision/siamese_contrastive.py): a shared tower of
# BatchNormalization, Conv2D (tanh), AveragePooling2D and Dense, a Lambda
# layer of the Euclidean distance in keras.ops, and a contrastive loss
# written with keras.ops. Survey version: random pairs of MNIST-shaped
# images, one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import ops

epochs = 1
batch_size = 16
margin = 1

rng = np.random.default_rng(0)
x_train_1 = rng.random((64, 28, 28)).astype("float32")
x_train_2 = rng.random((64, 28, 28)).astype("float32")
labels_train = rng.integers(0, 2, size=64).astype("float32")
x_val_1 = rng.random((16, 28, 28)).astype("float32")
x_val_2 = rng.random((16, 28, 28)).astype("float32")
labels_val = rng.integers(0, 2, size=16).astype("float32")


def euclidean_distance(vects):
    x, y = vects
    sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
    return ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))


input = keras.layers.Input((28, 28, 1))
x = keras.layers.BatchNormalization()(input)
x = keras.layers.Conv2D(4, (5, 5), activation="tanh")(x)
x = keras.layers.AveragePooling2D(pool_size=(2, 2))(x)
x = keras.layers.Conv2D(16, (5, 5), activation="tanh")(x)
x = keras.layers.AveragePooling2D(pool_size=(2, 2))(x)
x = keras.layers.Flatten()(x)
x = keras.layers.BatchNormalization()(x)
x = keras.layers.Dense(10, activation="tanh")(x)
embedding_network = keras.Model(input, x)

input_1 = keras.layers.Input((28, 28, 1))
input_2 = keras.layers.Input((28, 28, 1))
tower_1 = embedding_network(input_1)
tower_2 = embedding_network(input_2)
merge_layer = keras.layers.Lambda(euclidean_distance, output_shape=(1,))([tower_1, tower_2])
normal_layer = keras.layers.BatchNormalization()(merge_layer)
output_layer = keras.layers.Dense(1, activation="sigmoid")(normal_layer)
siamese = keras.Model(inputs=[input_1, input_2], outputs=output_layer)


def loss(margin=1):
    def contrastive_loss(y_true, y_pred):
        square_pred = ops.square(y_pred)
        margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
        return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)

    return contrastive_loss


siamese.compile(loss=loss(margin=margin), optimizer="RMSprop", metrics=["accuracy"])
siamese.summary()
history = siamese.fit(
    [x_train_1, x_train_2],
    labels_train,
    validation_data=([x_val_1, x_val_2], labels_val),
    batch_size=batch_size,
    epochs=epochs,
)
results = siamese.evaluate([x_val_1, x_val_2], labels_val)
