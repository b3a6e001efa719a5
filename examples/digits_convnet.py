"""A small convnet on scikit-learn's digits (8x8 grey images): keras.io's
"Simple MNIST convnet" scaled down, with 'same' padding so that two 2x2
poolings fit in 8 pixels. It reaches about 0.98 test accuracy (0.978 to
0.983 for model seeds 0 to 4), in a few seconds.

python examples/digits_convnet.py
"""

from gradstep import datasets, layers, models

(x_train, y_train), (x_test, y_test) = datasets.load_digits()
x_train = x_train.reshape(-1, 8, 8, 1)  # 64 pixels -> an 8x8 image with one channel
x_test = x_test.reshape(-1, 8, 8, 1)
print("x_train shape:", x_train.shape)

model = models.Sequential(
    [
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.25),
        layers.Dense(10, activation="softmax"),
    ],
    seed=0,
)
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=20, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
