"""keras.io's "Bidirectional LSTM on IMDB" (fchollet), with the import
swapped to gradstep, on synthetic reviews instead of IMDB's.

The model is the tutorial's: an ``Input`` of variable-length int32
sequences, an ``Embedding``, two ``Bidirectional(LSTM)`` layers (the first
with ``return_sequences=True``) and a sigmoid ``Dense`` unit, trained with
Adam on binary cross-entropy; the reviews are padded (and cut) to ``maxlen``
with ``pad_sequences`` as there (``keras.utils.pad_sequences``, the same
function as the tutorial's ``keras.preprocessing.sequence`` one). Only the
sizes are smaller, so that it trains in seconds: a vocabulary of 100 words,
reviews of at most 30, vectors of 32 and LSTMs of 16 units (the tutorial:
20,000 words, 200, 128 and 64), and 1000 training reviews.

A review is 6 to 30 random words. Words 2 to 7 are positive, 8 to 13
negative, the rest neutral: a review holds 2 words of its own sentiment and,
half the time, 1 of the other, at random places, so its sentiment is always
decided by which kind of sentiment word it holds more of (an accuracy of 1 is
reachable; guessing gives 1/2).

    python examples/bidirectional_lstm_sentiment.py
"""

import numpy as np

import gradstep as keras
from gradstep import layers

max_features = 100  # Only consider the top 100 words
maxlen = 30  # Only consider the first 30 words of each review
rng = np.random.default_rng(0)
POSITIVE, NEGATIVE = np.arange(2, 8), np.arange(8, 14)
NEUTRAL = np.arange(14, max_features)


def reviews(count: int) -> tuple[list[list[int]], np.ndarray]:
    """``count`` reviews (lists of word ids of different lengths) and their
    sentiment (1 positive, 0 negative)."""
    sentiments = rng.integers(0, 2, size=count)
    texts = []
    for sentiment in sentiments:
        length = rng.integers(6, maxlen + 1)
        words = rng.choice(NEUTRAL, size=length)
        places = rng.permutation(length)
        own, other = (POSITIVE, NEGATIVE) if sentiment else (NEGATIVE, POSITIVE)
        words[places[:2]] = rng.choice(own, size=2)
        if rng.random() < 0.5:
            words[places[2]] = rng.choice(other)
        texts.append(words.tolist())
    return texts, sentiments


## Build the model
keras.utils.set_random_seed(0)
# Input for variable-length sequences of integers
inputs = keras.Input(shape=(None,), dtype="int32")
# Embed each integer in a 32-dimensional vector
x = layers.Embedding(max_features, 32)(inputs)
# Add 2 bidirectional LSTMs
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
# Add a classifier
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()

## The synthetic review data
(x_train, y_train), (x_val, y_val) = reviews(1000), reviews(500)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
# Use pad_sequences to standardize sequence length: this would cut sequences
# longer than 30 words and zero-pads those shorter than 30 words.
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

## Train and evaluate the model
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(
    x_train, y_train, batch_size=32, epochs=5, validation_data=(x_val, y_val), verbose=0
)
print(f"first training accuracy {history.history['accuracy'][0]:.4f}")
print(f"validation accuracy {history.history['val_accuracy'][-1]:.4f}")
