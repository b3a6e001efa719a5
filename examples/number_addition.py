"""keras.io's "Sequence to sequence learning for performing number addition"
(Smerity and others), with the import swapped to gradstep: the model reads a
sum written as characters, reversed ("  54+21" for "12+45"), and writes the
answer character by character ("57 ").

The program is the tutorial's: a character table that one-hot encodes the
strings, the same generation of distinct questions, a 10% validation split,
and the same model: an LSTM encoder, ``RepeatVector`` (the encoding fed to
every output step), an LSTM decoder with ``return_sequences=True``, and a
softmax ``Dense`` layer over the characters at every step (keras.io's
current version applies Dense to the 3-D output directly; older versions
wrapped it in ``TimeDistributed``, which computes the same).

Only the sizes are smaller, so that it trains in seconds: numbers of at most
2 digits (the tutorial's first result), 2000 questions, LSTMs of 64 units,
Adam at 0.01 (the tutorial: 3 digits, 50,000 questions, 128 units, Adam's
default 0.001, 30 epochs), and a seeded generator instead of NumPy's global one.

It prints the per-character validation accuracy next to that of always
writing each position's most common character, and how many answers are
entirely right.

    python examples/number_addition.py
"""

import numpy as np

import gradstep as keras
from gradstep import layers

# Parameters for the model and dataset.
TRAINING_SIZE = 2000
DIGITS = 2
REVERSE = True

# Maximum length of input is 'int + int' (e.g., '45+67'). Maximum length of
# int is DIGITS.
MAXLEN = DIGITS + 1 + DIGITS
rng = np.random.default_rng(0)


class CharacterTable:
    """Given a set of characters:
    + Encode them to a one-hot integer representation
    + Decode the one-hot or integer representation to their character output
    + Decode a vector of probabilities to their character output
    """

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.char_indices = {c: i for i, c in enumerate(self.chars)}
        self.indices_char = dict(enumerate(self.chars))

    def encode(self, C, num_rows):
        """One-hot encode the string ``C`` as ``num_rows`` rows."""
        x = np.zeros((num_rows, len(self.chars)))
        for i, c in enumerate(C):
            x[i, self.char_indices[c]] = 1
        return x

    def decode(self, x, calc_argmax=True):
        """The characters of probabilities or one-hot rows (or of indices,
        with ``calc_argmax=False``)."""
        if calc_argmax:
            x = x.argmax(axis=-1)
        return "".join(self.indices_char[i] for i in x)


# All the numbers, plus sign and space for padding.
chars = "0123456789+ "
ctable = CharacterTable(chars)


def number():
    """A number of 1 to DIGITS random digits, as the tutorial draws it."""
    return int("".join(rng.choice(list("0123456789")) for _ in range(rng.integers(1, DIGITS + 1))))


questions = []
expected = []
seen = set()
print("Generating data...")
while len(questions) < TRAINING_SIZE:
    a, b = number(), number()
    # Skip any addition questions we've already seen
    # Also skip any such that x+Y == Y+x (hence the sorting).
    key = tuple(sorted((a, b)))
    if key in seen:
        continue
    seen.add(key)
    # Pad the data with spaces such that it is always MAXLEN.
    q = f"{a}+{b}"
    query = q + " " * (MAXLEN - len(q))
    ans = str(a + b)
    # Answers can be of maximum size DIGITS + 1.
    ans += " " * (DIGITS + 1 - len(ans))
    if REVERSE:
        # Reverse the query, e.g., '12+45' becomes '54+21'.
        query = query[::-1]
    questions.append(query)
    expected.append(ans)
print("Total questions:", len(questions))

print("Vectorization...")
x = np.zeros((len(questions), MAXLEN, len(chars)), dtype=bool)
y = np.zeros((len(questions), DIGITS + 1, len(chars)), dtype=bool)
for i, sentence in enumerate(questions):
    x[i] = ctable.encode(sentence, MAXLEN)
for i, sentence in enumerate(expected):
    y[i] = ctable.encode(sentence, DIGITS + 1)

# Shuffle (x, y) in unison as the later parts of x will almost all be larger digits.
indices = np.arange(len(y))
rng.shuffle(indices)
x = x[indices]
y = y[indices]

# Explicitly set apart 10% for validation data that we never train over.
split_at = len(x) - len(x) // 10
(x_train, x_val) = x[:split_at], x[split_at:]
(y_train, y_val) = y[:split_at], y[split_at:]
print("Training Data:", x_train.shape, y_train.shape)
print("Validation Data:", x_val.shape, y_val.shape)

print("Build model...")
num_layers = 1  # Try to add more LSTM layers!
keras.utils.set_random_seed(0)
model = keras.Sequential()
# "Encode" the input sequence using an LSTM, producing an output of size 64.
model.add(keras.Input(shape=(MAXLEN, len(chars))))
model.add(layers.LSTM(64))
# As the decoder RNN's input, repeatedly provide with the last output of
# RNN for each time step. Repeat 'DIGITS + 1' times as that's the maximum
# length of output, e.g., when DIGITS=2, max output is 99+99=198.
model.add(layers.RepeatVector(DIGITS + 1))
# The decoder RNN could be multiple layers stacked or a single layer.
for _ in range(num_layers):
    # return_sequences=True: all the outputs, (num_samples, timesteps, output_dim).
    model.add(layers.LSTM(64, return_sequences=True))
# A dense layer applied to every step: which character should be chosen.
model.add(layers.Dense(len(chars), activation="softmax"))
model.compile(
    loss="categorical_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
    metrics=["accuracy"],
)
model.summary()

history = model.fit(
    x_train, y_train, batch_size=32, epochs=20, validation_data=(x_val, y_val), verbose=0
)

# Show a few validation questions, the expected answer and the model's guess.
predictions = np.argmax(model.predict(x_val, verbose=0), axis=-1)
for ind in range(5):
    q = ctable.decode(x_val[ind])
    correct = ctable.decode(y_val[ind])
    guess = ctable.decode(predictions[ind], calc_argmax=False)
    mark = "☑" if correct == guess else "☒"
    print("Q", q[::-1] if REVERSE else q, "T", correct, mark, guess)

# Always writing each position's most common training character.
majority = np.argmax(y_train.sum(axis=0), axis=-1)
majority_accuracy = np.mean(np.argmax(y_val, axis=-1) == majority)
right_answers = np.mean(np.all(predictions == np.argmax(y_val, axis=-1), axis=-1))
print(f"first training accuracy {history.history['accuracy'][0]:.4f}")
print(f"majority-guess accuracy {majority_accuracy:.4f}")
print(f"validation accuracy {history.history['val_accuracy'][-1]:.4f}")
print(f"answers entirely right {right_answers:.4f}")
