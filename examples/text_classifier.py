"""A text classifier on token ids: each "document" is 12 tokens from a
vocabulary of 60, and its topic (one of 3) is the topic whose own words it
uses most. An Embedding learns a vector per word; the classifier reads them.

Every document holds 3 words of its topic and at most 1 of another topic
among filler words, so the topic is always decidable from the words alone
(an accuracy of 1 is reachable; guessing gives 1/3).

    python examples/text_classifier.py
"""

import numpy as np

from gradstep import layers, models

VOCABULARY, LENGTH, TOPICS, WORDS_PER_TOPIC = 60, 12, 3, 6
rng = np.random.default_rng(0)
# Tokens 1..18 are topic words (6 per topic), the others filler.
topic_words = np.arange(1, 1 + TOPICS * WORDS_PER_TOPIC).reshape(TOPICS, WORDS_PER_TOPIC)
filler = np.arange(1 + TOPICS * WORDS_PER_TOPIC, VOCABULARY)


def documents(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` documents (token ids) and their topics."""
    topics = rng.integers(0, TOPICS, size=count)
    tokens = rng.choice(filler, size=(count, LENGTH))
    for row, topic in enumerate(topics):
        places = rng.permutation(LENGTH)
        tokens[row, places[:3]] = rng.choice(topic_words[topic], size=3)
        if rng.random() < 0.5:  # one distracting word of another topic
            other = (topic + rng.integers(1, TOPICS)) % TOPICS
            tokens[row, places[3]] = rng.choice(topic_words[other])
    return tokens, topics


x_train, y_train = documents(3000)
x_test, y_test = documents(1000)

model = models.Sequential(
    [
        layers.Input(shape=(LENGTH,), dtype="int32"),
        layers.Embedding(VOCABULARY, 8),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(TOPICS, activation="softmax"),
    ],
    seed=0,
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f}")
