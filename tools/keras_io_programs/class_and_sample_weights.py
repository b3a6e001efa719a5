# keras.io guide: "Training & evaluation with the built-in methods",
# https://keras.io/guides/training_with_built_in_methods/
# (keras-io guides/training_with_built_in_methods.py): class_weight and
# sample_weight in fit, a learning-rate schedule object, and the built-in
# callbacks EarlyStopping, ModelCheckpoint and LearningRateScheduler. Survey
# version: synthetic MNIST-shaped data, one or two epochs.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import layers

rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(512, 784)).astype("float32") / 255
y_train = rng.integers(0, 10, size=512).astype("float32")
x_val = x_train[-100:]
y_val = y_train[-100:]


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


class_weight = {
    0: 1.0,
    1: 1.0,
    2: 1.0,
    3: 1.0,
    4: 1.0,
    5: 2.0,  # "5" twice as important
    6: 1.0,
    7: 1.0,
    8: 1.0,
    9: 1.0,
}
print("Fit with class weight")
model = get_compiled_model()
model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1)

sample_weight = np.ones(shape=(len(y_train),))
sample_weight[y_train == 5] = 2.0
print("Fit with sample weight")
model = get_compiled_model()
model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1)

model = get_compiled_model()
callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)
]
model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks, validation_split=0.2)

model = get_compiled_model()
callbacks = [
    keras.callbacks.ModelCheckpoint(
        filepath="mymodel_{epoch}.keras", save_best_only=True, monitor="val_loss", verbose=1
    )
]
model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks, validation_split=0.2)

initial_learning_rate = 0.1
lr_schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate, decay_steps=100000, decay_rate=0.96, staircase=True
)
optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
model = get_uncompiled_model()
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
model.fit(x_train, y_train, epochs=1, batch_size=64, validation_data=(x_val, y_val))


def scheduler(epoch, lr):
    return lr if epoch < 1 else lr * 0.5


model = get_compiled_model()
model.fit(
    x_train,
    y_train,
    epochs=2,
    batch_size=64,
    callbacks=[keras.callbacks.LearningRateScheduler(scheduler)],
)
