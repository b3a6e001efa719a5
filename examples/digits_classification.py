"""The reference program: a Keras Sequential model on scikit-learn's digits.

python examples/digits_classification.py
"""

from gradstep import datasets, layers, models

(x_train, y_train), (x_test, y_test) = datasets.load_digits()

model = models.Sequential(seed=0)
model.add(layers.Dense(512, activation="relu", input_shape=(64,)))
model.add(layers.Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

model.fit(x_train, y_train, batch_size=32, epochs=20, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
