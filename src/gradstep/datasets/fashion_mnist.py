"""Keras's ``keras.datasets.fashion_mnist``: ``load_data()`` from files you
have, as ``gradstep.datasets.mnist`` (default folder ``.../fashion_mnist``,
or Keras's ``~/.keras/datasets/fashion_mnist.npz``)."""

from gradstep.datasets.images import read_images


def load_data(path=None):
    """``(x_train, y_train), (x_test, y_test)`` as stored (uint8)."""
    return read_images("fashion_mnist", path)
