# keras.io: "Using pre-trained word embeddings",
# https://keras.io/examples/nlp/pretrained_word_embeddings/
# (keras-io examples/nlp/pretrained_word_embeddings.py): a frozen Embedding
# set from a matrix (build, then set_weights), Conv1D,
# MaxPooling1D, GlobalMaxPooling1D, 20 newsgroups. Survey version: a random
# matrix in place of GloVe and random tokens in place of TextVectorization
# (vocabulary 20000, 200 tokens, 100 dimensions), one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import layers

num_tokens = 20000 + 2
embedding_dim = 100
rng = np.random.default_rng(0)
embedding_matrix = rng.normal(size=(num_tokens, embedding_dim)).astype("float32")
class_names = [f"group_{i}" for i in range(20)]

x_train = rng.integers(0, num_tokens, size=(64, 200))
y_train = rng.integers(0, 20, size=64)
x_val = rng.integers(0, num_tokens, size=(16, 200))
y_val = rng.integers(0, 20, size=16)

embedding_layer = layers.Embedding(
    num_tokens,
    embedding_dim,
    trainable=False,
)
embedding_layer.build((1,))
embedding_layer.set_weights([embedding_matrix])

int_sequences_input = keras.Input(shape=(None,), dtype="int32")
embedded_sequences = embedding_layer(int_sequences_input)
x = layers.Conv1D(128, 5, activation="relu")(embedded_sequences)
x = layers.MaxPooling1D(5)(x)
x = layers.Conv1D(128, 5, activation="relu")(x)
x = layers.MaxPooling1D(5)(x)
x = layers.Conv1D(128, 5, activation="relu")(x)
x = layers.GlobalMaxPooling1D()(x)
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)
preds = layers.Dense(len(class_names), activation="softmax")(x)
model = keras.Model(int_sequences_input, preds)
model.summary()
model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", metrics=["acc"])
model.fit(x_train, y_train, batch_size=128, epochs=1, validation_data=(x_val, y_val))
