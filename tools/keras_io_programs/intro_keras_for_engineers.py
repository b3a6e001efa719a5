# keras.io guide: "Introduction to Keras for engineers",
# https://keras.io/getting_started/intro_to_keras_for_engineers/
# (keras-io guides/intro_to_keras_for_engineers.py): the MNIST convnet as a
# Sequential model, trained with ModelCheckpoint and EarlyStopping, saved and
# reloaded; the same model written with the functional API and by
# subclassing Model. Survey version: synthetic MNIST-shaped data, one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np

rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(128, 28, 28)).astype("float32") / 255
x_test = rng.integers(0, 256, size=(32, 28, 28)).astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
y_train = rng.integers(0, 10, size=128)
y_test = rng.integers(0, 10, size=32)

num_classes = 10
input_shape = (28, 28, 1)
model = keras.Sequential(
    [
        keras.layers.Input(shape=input_shape),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
        keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)
batch_size = 128
epochs = 1
callbacks = [
    keras.callbacks.ModelCheckpoint(filepath="model_at_epoch_{epoch}.keras"),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
]
model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_split=0.15,
    callbacks=callbacks,
)
score = model.evaluate(x_test, y_test, verbose=0)
model.save("final_model.keras")
model = keras.saving.load_model("final_model.keras")
predictions = model.predict(x_test)

inputs = keras.layers.Input(shape=input_shape)
x = keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(inputs)
x = keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
x = keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu")(x)
x = keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu")(x)
x = keras.layers.GlobalAveragePooling2D()(x)
x = keras.layers.Dropout(0.5)(x)
outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
model = keras.Model(inputs, outputs)


class MyModel(keras.Model):
    def __init__(self, conv_filters, num_classes):
        super().__init__()
        self.conv_base = keras.Sequential(
            [
                keras.layers.Conv2D(conv_filters, kernel_size=(3, 3), activation="relu"),
                keras.layers.Conv2D(conv_filters, kernel_size=(3, 3), activation="relu"),
                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                keras.layers.Conv2D(conv_filters, kernel_size=(3, 3), activation="relu"),
                keras.layers.Conv2D(conv_filters, kernel_size=(3, 3), activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
            ]
        )
        self.dropout = keras.layers.Dropout(0.5)
        self.dense = keras.layers.Dense(num_classes, activation="softmax")

    def call(self, x):
        x = self.conv_base(x)
        x = self.dropout(x)
        return self.dense(x)


model = MyModel(conv_filters=32, num_classes=10)
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)
model.fit(x_train, y_train, batch_size=batch_size, epochs=1, validation_split=0.15)
