import numpy as np
import pytest

from gradstep import layers
from gradstep.testing import check_layer_gradients


def test_dropout_is_identity_outside_training():
    x = np.ones((4, 10), dtype=np.float32)
    np.testing.assert_array_equal(layers.Dropout(0.5)(x, training=False), x)


def test_inverted_dropout_scales_kept_units():
    layer = layers.Dropout(0.25, seed=0)
    out = layer(np.ones((200, 50)), training=True)
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 1 / 0.75)
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.02)
    assert out.mean() == pytest.approx(1.0, abs=0.03)


def test_dropout_backward_uses_the_same_mask():
    layer = layers.Dropout(0.5, seed=1)
    out, mask = layer.forward(np.ones((3, 4)), training=True)
    grad_wrt_input, weight_grads = layer.backward(mask, np.ones((3, 4)))
    np.testing.assert_array_equal(grad_wrt_input, out)
    assert weight_grads == {}


def test_dropout_gradient_passes_central_differences_with_a_fixed_mask():
    check_layer_gradients(layers.Dropout(0.3), np.random.default_rng(0).normal(size=(4, 6)))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match=r"rate must be a float in \[0, 1\)"):
        layers.Dropout(rate)
