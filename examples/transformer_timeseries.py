"""keras.io's "Timeseries classification with a Transformer model", on small
synthetic data: each series (100 steps, 1 feature) is noise plus a sine wave
of one of two frequencies, and the class is the frequency.

The model is the tutorial's: Transformer encoder blocks (MultiHeadAttention
called as ``mha(x, x)``, Dropout, LayerNormalization, a residual sum, and a
feed-forward part of two kernel-size-1 Conv1D layers), then
GlobalAveragePooling1D over the channels, a Dense layer and a softmax.
Only the sizes are smaller, so that it trains in seconds.

    python examples/transformer_timeseries.py
"""

import numpy as np

import gradstep as keras
from gradstep import layers

STEPS, SAMPLES, CLASSES = 100, 160, 2
rng = np.random.default_rng(0)


def series(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy sine waves of shape (count, STEPS, 1), and their class."""
    labels = rng.integers(0, CLASSES, size=count)
    frequency = np.where(labels == 0, 2.0, 5.0)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(count, 1))
    time = np.linspace(0, 1, STEPS)[None, :]
    values = np.sin(2 * np.pi * frequency * time + phase) + 0.3 * rng.normal(size=(count, STEPS))
    return values[..., None].astype("float32"), labels


def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0):
    # Attention and Normalization
    x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(
        inputs, inputs
    )
    x = layers.Dropout(dropout)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    res = x + inputs

    # Feed Forward Part
    x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
    x = layers.Dropout(dropout)(x)
    x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    return x + res


def build_model(
    input_shape,
    head_size,
    num_heads,
    ff_dim,
    num_transformer_blocks,
    mlp_units,
    dropout=0,
    mlp_dropout=0,
):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for _ in range(num_transformer_blocks):
        x = transformer_encoder(x, head_size, num_heads, ff_dim, dropout)

    x = layers.GlobalAveragePooling1D(data_format="channels_first")(x)
    for dim in mlp_units:
        x = layers.Dense(dim, activation="relu")(x)
        x = layers.Dropout(mlp_dropout)(x)
    outputs = layers.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs)


x_train, y_train = series(SAMPLES)
x_test, y_test = series(SAMPLES // 2)
keras.utils.set_random_seed(0)
model = build_model(
    x_train.shape[1:],
    head_size=16,
    num_heads=2,
    ff_dim=4,
    num_transformer_blocks=2,
    mlp_units=[32],
    mlp_dropout=0.1,
    dropout=0.1,
)
model.compile(
    loss="sparse_categorical_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    metrics=["sparse_categorical_accuracy"],
)
history = model.fit(x_train, y_train, validation_split=0.2, epochs=25, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"first training loss {history.history['loss'][0]:.4f}")
print(f"last training loss {history.history['loss'][-1]:.4f}")
print(f"test accuracy {accuracy:.3f}")
