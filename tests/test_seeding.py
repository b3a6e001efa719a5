import numpy as np

from gradstep import seeding


def test_children_are_independent_and_reproducible():
    first, second = seeding.model_generators(5), seeding.model_generators(5)
    for name in ("init", "shuffle", "dropout"):
        np.testing.assert_array_equal(first[name].random(3), second[name].random(3))
    fresh = seeding.model_generators(5)
    assert fresh["init"].random() != fresh["shuffle"].random()
