# keras.io: "Text classification from scratch",
# https://keras.io/examples/nlp/text_classification_from_scratch/
# (keras-io examples/nlp/text_classification_from_scratch.py): the 1-D
# convnet over token embeddings. Survey version: the TextVectorization
# step is replaced by random token indices of its output shape
# (max_features 20000, sequence_length 500), one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import layers

max_features = 20000
embedding_dim = 128
sequence_length = 500

rng = np.random.default_rng(0)
x_train = rng.integers(0, max_features, size=(64, sequence_length)).astype("int64")
y_train = rng.integers(0, 2, size=(64, 1)).astype("float32")
x_val = rng.integers(0, max_features, size=(16, sequence_length)).astype("int64")
y_val = rng.integers(0, 2, size=(16, 1)).astype("float32")

inputs = keras.Input(shape=(None,), dtype="int64")
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.5)(x)
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.GlobalMaxPooling1D()(x)
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
model = keras.Model(inputs, predictions)
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=1, batch_size=32)
model.evaluate(x_val, y_val)
