"""gradstep.random: Keras 3's keras.random over NumPy. The statistics are
checked on 100,000 draws with bounds of 6 standard errors (a true
distribution fails one with probability below 1e-8; the seeds are fixed, so
the tests are deterministic anyway); seeds, dtypes, the errors bad
arguments get, and a VAE sampling layer whose slope is checked."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import config, layers, ops
from gradstep import random as krandom
from gradstep.testing import check_layer_gradients

N = 100_000
SE = 6 / np.sqrt(N)  # six standard errors of a mean, per unit standard deviation


def test_normal_uniform_truncated_statistics():
    x = krandom.normal((N,), mean=2.0, stddev=3.0, seed=0)
    assert abs(x.mean() - 2.0) < 3.0 * SE and abs(x.std() - 3.0) < 3.0 * SE * 1.5
    u = krandom.uniform((N,), minval=-1.0, maxval=3.0, seed=1)
    assert u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < (4 / np.sqrt(12)) * SE
    t = krandom.truncated_normal((N,), mean=1.0, stddev=2.0, seed=2)
    assert np.all(np.abs(t - 1.0) <= 4.0 + 1e-6)
    # N(0, 1) truncated to [-2, 2] has standard deviation 0.8796.
    assert abs(t.mean() - 1.0) < 2.0 * SE and abs(t.std() / 2.0 - 0.8796) < 2 * SE


def test_randint_categorical_and_the_others():
    r = krandom.randint((N,), 3, 7, seed=0)
    assert r.dtype == np.int32 and set(np.unique(r)) == {3, 4, 5, 6}
    probabilities = np.array([0.1, 0.6, 0.3])
    c = krandom.categorical(np.log(probabilities)[None].repeat(2, 0), N, seed=1)
    assert c.shape == (2, N) and c.dtype == np.int32
    frequencies = np.bincount(c[0], minlength=3) / N
    np.testing.assert_array_less(np.abs(frequencies - probabilities), 0.5 * SE)
    g = krandom.gamma((N,), alpha=3.0, seed=2)  # mean 3, sd sqrt(3)
    assert abs(g.mean() - 3.0) < np.sqrt(3) * SE
    b = krandom.beta((N,), alpha=2.0, beta=3.0, seed=3)  # mean 0.4, sd 0.2
    assert abs(b.mean() - 0.4) < 0.2 * SE
    n = krandom.binomial((N,), counts=10, probabilities=0.3, seed=4)  # mean 3, sd 1.449
    assert n.dtype == np.float32 and abs(n.mean() - 3.0) < 1.45 * SE


def test_dropout_and_shuffle():
    x = np.ones((200, 500), np.float32)
    y = krandom.dropout(x, 0.25, seed=0)
    kept = y != 0
    assert y.dtype == np.float32 and np.allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < np.sqrt(0.75 * 0.25) * 6 / np.sqrt(x.size)
    columns = krandom.dropout(x, 0.5, noise_shape=(1, 500), seed=1)
    assert np.all(columns == columns[:1])  # one mask row, broadcast
    z = np.arange(20).reshape(10, 2)
    s = krandom.shuffle(z, seed=0)
    assert sorted(s[:, 0].tolist()) == z[:, 0].tolist() and np.all(s[:, 1] == s[:, 0] + 1)
    assert sorted(krandom.shuffle(z, axis=1, seed=0)[3].tolist()) == [6, 7]


def test_an_integer_seed_repeats_a_seed_generator_advances_none_follows_set_random_seed():
    assert np.array_equal(krandom.normal((3,), seed=5), krandom.normal((3,), seed=5))
    generator = krandom.SeedGenerator(5)
    first, second = krandom.normal((3,), seed=generator), krandom.normal((3,), seed=generator)
    assert not np.array_equal(first, second)
    again = krandom.SeedGenerator(5)
    assert np.array_equal(krandom.normal((3,), seed=again), first)
    generator.state = [5, 1]
    assert np.array_equal(krandom.normal((3,), seed=generator), second)
    assert krandom.SeedGenerator.from_config(again.get_config()).seed == 5

    keras.utils.set_random_seed(7)
    a = krandom.uniform((4,))
    b = krandom.uniform((4,))
    unseeded = krandom.SeedGenerator().seed
    keras.utils.set_random_seed(7)
    assert np.array_equal(krandom.uniform((4,)), a) and not np.array_equal(a, b)
    krandom.uniform((4,))
    assert krandom.SeedGenerator().seed == unseeded


def test_drawing_without_a_seed_leaves_the_models_weights_alone():
    def weights():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
        return model.get_weights()[0]

    before = weights()
    keras.utils.set_random_seed(0)
    krandom.normal((10,))
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    assert np.array_equal(model.get_weights()[0], before)


def test_dtypes():
    assert krandom.normal((2,), seed=0).dtype == np.float32
    assert krandom.uniform((2,), dtype="float64", seed=0).dtype == np.float64
    assert krandom.randint((2,), 0, 5, dtype="int64", seed=0).dtype == np.int64
    assert krandom.categorical(np.zeros((1, 3)), 2, dtype="int64", seed=0).dtype == np.int64
    config.set_floatx("float64")
    try:
        assert krandom.truncated_normal((2,), seed=0).dtype == np.float64
        assert krandom.gamma((2,), 1.0, seed=0).dtype == np.float64
    finally:
        config.set_floatx("float32")


@pytest.mark.parametrize(
    ("draw", "error", "message"),
    [
        (lambda: krandom.normal((2, -1)), ValueError, r"random.normal: shape must be"),
        (lambda: krandom.normal((2,), stddev=-1.0), ValueError, r"stddev must be >= 0"),
        (lambda: krandom.normal((2,), seed=-3), TypeError, r"seed must be None, a non-negative"),
        (lambda: krandom.normal((2,), seed=1.5), TypeError, r"received seed=1.5"),
        (lambda: krandom.uniform((2,), dtype="int32"), ValueError, r"floating point dtype"),
        (lambda: krandom.uniform((2,), 1.0, 1.0), ValueError, r"minval must be less than"),
        (lambda: krandom.randint((2,), 0, 5, dtype="float32"), ValueError, r"integer dtype"),
        (lambda: krandom.randint((2,), 0.5, 5), TypeError, r"minval must be an integer"),
        (lambda: krandom.categorical(np.zeros(3), 2), ValueError, r"logits must have rank 2"),
        (lambda: krandom.dropout(np.ones(3), 1.0), ValueError, r"rate must be in \[0, 1\)"),
        (
            lambda: krandom.dropout(np.ones((2, 3)), 0.5, noise_shape=(2, 2)),
            ValueError,
            r"noise_shape must broadcast",
        ),
        (lambda: krandom.shuffle(np.ones(3), axis=1), ValueError, r"axis must be an integer"),
        (lambda: krandom.gamma((2,), alpha=0.0), ValueError, r"alpha must be positive"),
        (lambda: krandom.binomial((2,), 3, 1.5), ValueError, r"probabilities must be in"),
        (lambda: krandom.SeedGenerator(seed="a"), TypeError, r"SeedGenerator: seed must be"),
        (lambda: krandom.SeedGenerator(1, bad=2), TypeError, r"unrecognized keyword"),
    ],
)
def test_bad_arguments_are_named(draw, error, message):
    with pytest.raises(error, match=message):
        draw()


def test_a_seed_generators_state_is_checked():
    with pytest.raises(ValueError, match=r"state must be two non-negative integers"):
        krandom.SeedGenerator(1).state = [1.5, 0]


class Sampling(layers.Layer):
    """keras.io's VAE sampling layer (examples/generative/vae.py), unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def test_the_vae_sampling_layer_differentiates_with_the_noise_held_fixed():
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))]
    check_layer_gradients(Sampling(dtype="float64"), inputs)


def test_dropout_and_shuffle_pass_slopes_inside_call():
    class Noisy(layers.Layer):
        def call(self, inputs):
            return keras.random.shuffle(keras.random.dropout(inputs, 0.5, seed=3), seed=4) ** 2

    check_layer_gradients(Noisy(dtype="float64"), np.random.default_rng(1).normal(size=(4, 3)))


def test_the_sampling_layer_in_a_functional_model_draws_new_noise_each_call():
    x = keras.Input((4,))
    z = Sampling()([layers.Dense(2)(x), layers.Dense(2)(x)])
    model = keras.Model(x, z)
    data = np.ones((2, 4), np.float32)
    first, second = model.predict(data, verbose=0), model.predict(data, verbose=0)
    assert first.shape == (2, 2) and not np.array_equal(first, second)
