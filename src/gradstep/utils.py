"""Keras's ``keras.utils`` names that gradstep supports."""

from gradstep.py_dataset import PyDataset
from gradstep.seeding import set_random_seed

Sequence = PyDataset  # Keras 3's other name for it

__all__ = ["PyDataset", "Sequence", "set_random_seed", "to_categorical"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels: ``[1, 0] -> [[0, 1], [1, 0]]``."""
    import numpy as np

    labels = np.asarray(y, dtype=np.int64).ravel()
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    return np.eye(num_classes, dtype=dtype)[labels]
