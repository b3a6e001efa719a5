"""FarmHash Fingerprint64 and SipHash-2-4, as TensorFlow's hash buckets use them."""

import random

import pytest

from gradstep.layers.string_hash import fingerprint64, siphash24

LETTERS = [c.encode() for c in "ABCDE"]


def test_fingerprint64_buckets_match_keras_documentation():
    # keras.layers.Hashing(num_bins=3) on A..E (Keras 3's docstring, computed by TensorFlow).
    assert [fingerprint64(s) % 3 for s in LETTERS] == [1, 0, 1, 1, 2]


def test_siphash_buckets_match_keras_documentation():
    assert [siphash24((133, 137), s) % 3 for s in LETTERS] == [1, 2, 1, 0, 2]
    assert [siphash24((133, 133), s) % 3 for s in LETTERS] == [0, 0, 2, 1, 0]


def test_siphash_reference_vector():
    # The SipHash paper's test vector: key 00..0f, message 00..0e.
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5


@pytest.mark.requires("farmhash", extra="test")
def test_fingerprint64_matches_farmhash_library_at_every_length_branch():
    import farmhash

    rng = random.Random(0)
    for length in [*range(0, 200), 256, 1000, 4097]:
        data = bytes(rng.randrange(256) for _ in range(length))
        assert fingerprint64(data) == farmhash.fingerprint64(data), length
