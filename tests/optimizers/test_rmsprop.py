import numpy as np
import pytest

from gradstep import optimizers


@pytest.mark.parametrize("name", ["rmsprop_default", "rmsprop_centered", "rmsprop_momentum"])
def test_matches_keras_trajectory(keras_trajectory, name):
    ours, keras = keras_trajectory(name)
    np.testing.assert_allclose(ours, keras, rtol=1e-10, atol=1e-14)


def test_defaults():
    rmsprop = optimizers.get("rmsprop")
    assert (rmsprop.learning_rate, rmsprop.rho, rmsprop.epsilon) == (0.001, 0.9, 1e-7)
