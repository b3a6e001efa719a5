"""Initializers: Keras's names, arguments and configs (golden from
tools/make_keras_initializer_fixtures.py), ``seed=`` as Keras 3 seeds, and the
distributions' statistics.

Tolerances of the statistical tests: with n independent draws the sample
mean's standard error is sigma / sqrt(n) and the sample standard deviation's
about sigma / sqrt(2n) (a normal's; a uniform's and a truncated normal's are
smaller); the tests allow six standard errors, which a correct sampler
misses with probability below 1e-8 (and the seeds are fixed, so a pass is
reproducible).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradstep import initializers, layers, models

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "initializers.json").read_text(encoding="utf-8")
)
N_SIGMA = 6


def draw(initializer, shape, seed=0):
    return initializer(shape, dtype=np.float64, rng=np.random.default_rng(seed))


def assert_mean_and_std(values, mean, std):
    n = values.size
    assert abs(values.mean() - mean) <= N_SIGMA * std / math.sqrt(n)
    assert abs(values.std() - std) <= N_SIGMA * std / math.sqrt(2 * n)


# --- Keras's configs and names -------------------------------------------------------
@pytest.mark.parametrize(
    "golden", FIXTURE["configs"], ids=lambda g: f"{g['class_name']}{g['arguments']}"
)
def test_config_is_keras(golden):
    initializer = getattr(initializers, golden["class_name"])(**golden["arguments"])
    config = json.loads(json.dumps(initializer.get_config()))
    serialized = json.loads(json.dumps(initializers.serialize(initializer)))
    if golden["class_name"] == "Identity":
        # Keras 3.15's Identity has no get_config, so its saved gain is lost;
        # gradstep keeps it (Keras's Identity(gain=...) reads it back).
        assert config.pop("gain") == golden["arguments"].get("gain", 1.0)
        serialized["config"].pop("gain")
    assert config == golden["config"]
    assert serialized == golden["serialized"]
    again = initializers.get(initializers.serialize(initializer))
    assert type(again) is type(initializer) and again.get_config() == initializer.get_config()


@pytest.mark.parametrize(("name", "class_name"), sorted(FIXTURE["names"].items()))
def test_string_names_are_keras(name, class_name):
    assert type(initializers.get(name)).__name__ == class_name


def test_older_gradstep_configs_still_load():
    assert isinstance(initializers.get("glorot_uniform"), initializers.GlorotUniform)
    old = initializers.get({"name": "random_uniform", "config": {"minval": -1, "maxval": 1}})
    assert (old.minval, old.maxval, old.seed) == (-1, 1, None)


def test_a_class_is_instantiated_with_its_defaults():
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)


def test_unknown_initializer_is_named():
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'.*glorot_normal"):
        initializers.get("glorot")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: initializers.VarianceScaling(scale=0), "scale must be positive"),
        (lambda: initializers.VarianceScaling(mode="fan"), "Invalid `mode`"),
        (lambda: initializers.VarianceScaling(distribution="gamma"), "Invalid `distribution`"),
        (lambda: initializers.RandomNormal(seed=-1), "seed must be None or a non-negative"),
        (lambda: initializers.HeUniform(seed=1.5), "HeUniform: seed"),
        (lambda: initializers.Orthogonal()((3,)), "at least two-dimensional"),
        (lambda: initializers.Identity()((2, 2, 2)), "requires a 2D shape"),
        (lambda: initializers.Zeros()((2, -1)), "Zeros: shape must be"),
    ],
)
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message.replace("scale must", "`scale` must")):
        make()


# --- seed= ---------------------------------------------------------------------------
RANDOM = [
    initializers.RandomNormal,
    initializers.RandomUniform,
    initializers.TruncatedNormal,
    initializers.VarianceScaling,
    initializers.GlorotUniform,
    initializers.GlorotNormal,
    initializers.HeUniform,
    initializers.HeNormal,
    initializers.LecunUniform,
    initializers.LecunNormal,
    initializers.Orthogonal,
]


@pytest.mark.parametrize("cls", RANDOM, ids=lambda cls: cls.__name__)
def test_an_integer_seed_gives_the_same_values_on_every_call(cls):
    seeded = cls(seed=42)
    first = seeded((6, 5), rng=np.random.default_rng(1))
    second = seeded((6, 5), rng=np.random.default_rng(2))  # the seed wins over rng
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, cls(seed=42)((6, 5)))
    assert not np.array_equal(first, cls(seed=43)((6, 5)))


@pytest.mark.parametrize("cls", RANDOM, ids=lambda cls: cls.__name__)
def test_without_a_seed_values_come_from_the_generator(cls):
    unseeded = cls()
    first = unseeded((6, 5), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(first, unseeded((6, 5), rng=np.random.default_rng(3)))
    assert not np.array_equal(first, unseeded((6, 5), rng=np.random.default_rng(4)))


def test_layers_given_one_seeded_initializer_start_equal_and_the_model_seed_rules_the_rest():
    shared = initializers.GlorotNormal(seed=7)

    def build(seed):
        model = models.Sequential(
            [
                layers.Input((4,)),
                layers.Dense(4, kernel_initializer=shared),
                layers.Dense(4, kernel_initializer=shared),
                layers.Dense(4),
            ],
            seed=seed,
        )
        return [layer.get_weights()[0] for layer in model.layers]

    first, second = build(seed=0), build(seed=1)
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[2], second[2])  # unseeded: the model's generator


def test_initializer_dtype_defaults_to_float32():
    assert initializers.HeUniform(seed=0)((3, 3)).dtype == np.float32
    assert initializers.HeUniform(seed=0)((3, 3), dtype="float64").dtype == np.float64


# --- the distributions ---------------------------------------------------------------
def test_random_normal_mean_and_stddev():
    values = draw(initializers.RandomNormal(mean=1.0, stddev=0.5), (200, 500))
    assert_mean_and_std(values, 1.0, 0.5)


def test_random_uniform_bounds_mean_and_stddev():
    values = draw(initializers.RandomUniform(minval=-1.0, maxval=2.0), (200, 500))
    assert values.min() >= -1.0 and values.max() < 2.0
    assert values.min() < -0.999 and values.max() > 1.999
    assert_mean_and_std(values, 0.5, 3 / math.sqrt(12))


def test_truncated_normal_is_cut_at_two_stddev():
    values = draw(initializers.TruncatedNormal(mean=0.5, stddev=2.0), (200, 500))
    assert values.min() >= 0.5 - 4.0 and values.max() <= 0.5 + 4.0
    assert values.min() < 0.5 - 3.99 and values.max() > 0.5 + 3.99
    assert_mean_and_std(values, 0.5, 2.0 * 0.87962566103423978)


SHAPE = (3, 3, 40, 60)  # a convolution kernel: fan_in 360, fan_out 540
FANS = {"fan_in": 360, "fan_out": 540, "fan_avg": 450}


@pytest.mark.parametrize("mode", sorted(FANS))
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_has_variance_scale_over_fan(mode, distribution):
    scale = 3.0
    initializer = initializers.VarianceScaling(scale, mode, distribution)
    values = draw(initializer, SHAPE)
    std = math.sqrt(scale / FANS[mode])
    assert_mean_and_std(values, 0.0, std)
    if distribution == "uniform":
        assert np.abs(values).max() <= math.sqrt(3) * std
    if distribution == "truncated_normal":
        assert np.abs(values).max() <= 2 * std / 0.87962566103423978


def test_variance_scaling_fans_from_the_axes_given():
    initializer = initializers.VarianceScaling(
        mode="fan_in", distribution="uniform", input_axes=[0], output_axes=[1, 2]
    )
    values = draw(initializer, (10, 200, 50))
    assert np.abs(values).max() <= math.sqrt(3 / 10)
    assert np.abs(values).max() > 0.99 * math.sqrt(3 / 10)


@pytest.mark.parametrize(
    ("cls", "limit_or_std", "uniform"),
    [
        (initializers.GlorotUniform, math.sqrt(6 / (360 + 540)), True),
        (initializers.HeUniform, math.sqrt(6 / 360), True),
        (initializers.LecunUniform, math.sqrt(3 / 360), True),
        (initializers.GlorotNormal, math.sqrt(2 / (360 + 540)), False),
        (initializers.HeNormal, math.sqrt(2 / 360), False),
        (initializers.LecunNormal, math.sqrt(1 / 360), False),
    ],
)
def test_presets_have_keras_formulas(cls, limit_or_std, uniform):
    values = draw(cls(), SHAPE)
    if uniform:
        assert np.abs(values).max() <= limit_or_std
        assert np.abs(values).max() > 0.999 * limit_or_std
        assert_mean_and_std(values, 0.0, limit_or_std / math.sqrt(3))
    else:
        assert_mean_and_std(values, 0.0, limit_or_std)


@pytest.mark.parametrize("shape", [(7, 3), (3, 7), (5, 5), (3, 3, 4, 8), (2, 2, 3, 40)])
def test_orthogonal_is_orthonormal_times_gain(shape):
    values = draw(initializers.Orthogonal(gain=2.0), shape)
    assert values.shape == shape
    matrix = values.reshape(-1, shape[-1]) / 2.0
    rows, cols = matrix.shape
    gram = matrix.T @ matrix if rows >= cols else matrix @ matrix.T
    # float64 QR: orthonormal to a few hundred ulps.
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)


def test_identity_constant_zeros_ones():
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 3)), 3 * np.eye(2, 3))
    assert not initializers.get("zeros")((2, 3)).any()
    assert (initializers.get("ones")((2,)) == 1).all()
    assert (initializers.Constant(0.5)((2,)) == 0.5).all()
    np.testing.assert_array_equal(initializers.Constant([1, 2])((3, 2)), [[1, 2]] * 3)


def test_compute_fans_is_keras():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((5,)) == (5, 5)
    assert initializers.compute_fans((4, 6)) == (4, 6)
    assert initializers.compute_fans((3, 3, 4, 6)) == (36, 54)
    assert initializers.compute_fans((2, 3, 4), [0, 1], [2]) == (6, 4)
