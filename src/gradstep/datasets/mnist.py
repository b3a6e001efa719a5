"""Keras's ``keras.datasets.mnist``: ``load_data()`` from files you have.

    (x_train, y_train), (x_test, y_test) = gradstep.datasets.mnist.load_data()

gives what Keras's gives (uint8 images of 28x28 and uint8 labels), read from a
folder of the four IDX files or a ``mnist.npz``: ``path`` if given, else
``$GRADSTEP_DATA/mnist`` (or ``~/.gradstep/datasets/mnist``), else the
``~/.keras/datasets/mnist.npz`` that Keras downloaded. gradstep does not
download data sets.
"""

from gradstep.datasets.images import read_images


def load_data(path=None):
    """``(x_train, y_train), (x_test, y_test)`` as stored (uint8)."""
    if path == "mnist.npz":  # Keras's default name for its own cache
        path = None
    return read_images("mnist", path)
