"""keras.io's "Simple MNIST convnet" (examples/vision/mnist_convnet.py), run
with the import swapped (``import gradstep as keras``), on an MNIST-shaped
file the test makes: 28x28 uint8 images of ten stroke patterns with noise,
saved as ``mnist.npz`` where ``keras.datasets.mnist.load_data()`` looks for
the user's files. Only ``epochs`` is trimmed (15 -> 4) and the data are small."""

import re
import textwrap

import numpy as np

PROGRAM = """
import numpy as np
import gradstep as keras
from gradstep import layers

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")


# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = 4

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
"""


def mnist_like(count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes, each a bar at its own place and angle, drawn with noise
    and a random shift: a task a convnet learns in a few hundred steps."""
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    images = rng.integers(0, 60, size=(count, 28, 28)).astype(np.float64)
    rows, cols = np.mgrid[0:28, 0:28]
    for index, label in enumerate(labels):
        angle = np.pi * label / 10
        shift = rng.integers(-2, 3, size=2)
        distance = np.abs(
            (rows - 14 - shift[0]) * np.cos(angle) - (cols - 14 - shift[1]) * np.sin(angle)
        )
        images[index] += 195 * (distance < 2)
    return np.clip(images, 0, 255).astype(np.uint8), labels


def test_simple_mnist_convnet_runs_with_the_import_swapped(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    (x_train, y_train), (x_test, y_test) = mnist_like(2000, rng), mnist_like(300, rng)
    folder = tmp_path / "mnist"
    folder.mkdir()
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    monkeypatch.setenv("GRADSTEP_DATA", str(tmp_path))
    import gradstep

    gradstep.utils.set_random_seed(0)
    namespace: dict = {}
    exec(textwrap.dedent(PROGRAM), namespace)  # noqa: S102 - the example's code
    out = capsys.readouterr().out
    assert "x_train shape: (2000, 28, 28, 1)" in out
    assert "Total params: 34826 (136.04 KB)" in out  # as Keras prints for this model
    assert re.search(r"^Epoch 4/4$", out, flags=re.MULTILINE)
    accuracy = float(re.search(r"^Test accuracy: ([0-9.]+)$", out, flags=re.MULTILINE)[1])
    assert accuracy > 0.9, out  # model seeds 0 to 3 give 0.99 to 1.0 on these data
