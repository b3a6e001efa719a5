"""A text classifier on token ids, as Keras's usual one: each "document" is a
sequence of 4 to 20 words from a vocabulary of 59, padded with 0 to a length
of 20, and its topic (one of 3) is the topic whose own words it uses most.

``Embedding(..., mask_zero=True)`` learns a vector per word and marks token 0
as padding; ``GlobalAveragePooling1D`` averages each document's vectors over
its own words only (the mask leaves the padding out, so a short document is
not diluted by zeros); two Dense layers classify the average.

Every document holds 2 words of its topic and at most 1 of another topic
among filler words, so the topic is always decidable from the words alone
(an accuracy of 1 is reachable; guessing gives 1/3).

    python examples/text_classifier.py
"""

import numpy as np

from gradstep import layers, models

VOCABULARY, MAX_LENGTH, TOPICS, WORDS_PER_TOPIC = 60, 20, 3, 6
rng = np.random.default_rng(0)
# Token 0 is padding, tokens 1..18 are topic words (6 per topic), the others filler.
topic_words = np.arange(1, 1 + TOPICS * WORDS_PER_TOPIC).reshape(TOPICS, WORDS_PER_TOPIC)
filler = np.arange(1 + TOPICS * WORDS_PER_TOPIC, VOCABULARY)


def documents(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` documents (token ids, padded with 0 at the end) and their topics."""
    topics = rng.integers(0, TOPICS, size=count)
    lengths = rng.integers(4, MAX_LENGTH + 1, size=count)
    tokens = np.zeros((count, MAX_LENGTH), dtype=np.int32)
    for row, (topic, length) in enumerate(zip(topics, lengths, strict=True)):
        words = rng.choice(filler, size=length)
        places = rng.permutation(length)
        words[places[:2]] = rng.choice(topic_words[topic], size=2)
        if rng.random() < 0.5:  # one distracting word of another topic
            other = (topic + rng.integers(1, TOPICS)) % TOPICS
            words[places[2]] = rng.choice(topic_words[other])
        tokens[row, :length] = words
    return tokens, topics


x_train, y_train = documents(3000)
x_test, y_test = documents(1000)

model = models.Sequential(
    [
        layers.Input(shape=(MAX_LENGTH,), dtype="int32"),
        layers.Embedding(VOCABULARY, 16, mask_zero=True),
        layers.GlobalAveragePooling1D(),
        layers.Dense(16, activation="relu"),
        layers.Dense(TOPICS, activation="softmax"),
    ],
    seed=0,
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=6, batch_size=32, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f}")
