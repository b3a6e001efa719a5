# keras.io: "Timeseries anomaly detection using an Autoencoder",
# https://keras.io/examples/timeseries/timeseries_anomaly_detection/
# (keras-io examples/timeseries/timeseries_anomaly_detection.py): a
# convolutional autoencoder of Conv1D and Conv1DTranspose with strides 2,
# EarlyStopping, and the reconstruction error as the anomaly score. Survey
# version: a synthetic NAB-like series, windows of 288 steps, one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import layers

TIME_STEPS = 288
rng = np.random.default_rng(0)
values = np.sin(np.arange(2000) / 20.0) + 0.1 * rng.normal(size=2000)
training_mean = values.mean()
training_std = values.std()
df_training_value = (values - training_mean) / training_std


def create_sequences(values, time_steps=TIME_STEPS):
    output = []
    for i in range(len(values) - time_steps + 1):
        output.append(values[i : (i + time_steps)])
    return np.stack(output)


x_train = create_sequences(df_training_value.reshape(-1, 1))[::8].astype("float32")
print("Training input shape: ", x_train.shape)

model = keras.Sequential(
    [
        layers.Input(shape=(x_train.shape[1], x_train.shape[2])),
        layers.Conv1D(filters=32, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1D(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(
            filters=16, kernel_size=7, padding="same", strides=2, activation="relu"
        ),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(
            filters=32, kernel_size=7, padding="same", strides=2, activation="relu"
        ),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
model.summary()
history = model.fit(
    x_train,
    x_train,
    epochs=1,
    batch_size=128,
    validation_split=0.1,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")],
)
x_train_pred = model.predict(x_train)
train_mae_loss = np.mean(np.abs(x_train_pred - x_train), axis=1)
threshold = np.max(train_mae_loss)
print("Reconstruction error threshold: ", threshold)
