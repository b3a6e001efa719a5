import numpy as np

from gradstep import utils


def test_to_categorical():
    np.testing.assert_array_equal(utils.to_categorical([1, 0, 2]), np.eye(3)[[1, 0, 2]])
    assert utils.to_categorical([0], num_classes=4).shape == (1, 4)
