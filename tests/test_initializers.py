import math

import numpy as np
import pytest

from gradstep import initializers


def test_glorot_uniform_limit_is_sqrt_6_over_fans():
    weights = initializers.get("glorot_uniform")((64, 512), rng=np.random.default_rng(0))
    limit = math.sqrt(6 / (64 + 512))
    assert weights.dtype == np.float32
    assert np.abs(weights).max() <= limit
    assert np.abs(weights).max() > 0.99 * limit


@pytest.mark.parametrize(
    "name, variance",
    [("he_normal", 2 / 200), ("lecun_normal", 1 / 200), ("glorot_normal", 2 / 500)],
)
def test_truncated_normals_have_keras_variance(name, variance):
    weights = initializers.get(name)((200, 300), dtype=np.float64, rng=np.random.default_rng(0))
    assert np.var(weights) == pytest.approx(variance, rel=0.02)


def test_same_generator_state_gives_same_weights():
    first = initializers.get("he_uniform")((5, 5), rng=np.random.default_rng(3))
    second = initializers.get("he_uniform")((5, 5), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(first, second)


def test_zeros_ones_constant():
    assert not initializers.get("zeros")((2, 3)).any()
    assert (initializers.get("ones")((2,)) == 1).all()
    assert (initializers.Constant(0.5)((2,)) == 0.5).all()


def test_unknown_initializer_is_named():
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'.*glorot_normal"):
        initializers.get("glorot")
