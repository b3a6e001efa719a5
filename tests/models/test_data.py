"""The batches' rows (gradstep.models.data.take): the same arrays as NumPy's
indexing, for slices and shuffled indices, whatever the arrays' axes."""

import numpy as np

from gradstep.models import data


def test_the_rows_taken_are_numpys_indexing():
    rng = np.random.default_rng(0)
    arrays = [
        rng.normal(size=(20, 3)).astype(np.float32),
        rng.normal(size=(20, 2, 4)),
        rng.integers(0, 5, size=20),
        np.array([f"text {i}" for i in range(20)], dtype=object),
        None,
        rng.normal(size=(20, 3))[:, ::2],  # not contiguous
    ]
    for rows in (slice(4, 12), rng.permutation(20)[:7], np.array([3, -1, 3])):
        taken = data.take(arrays, rows)
        for array, part in zip(arrays, taken, strict=True):
            if array is None:
                assert part is None
                continue
            expected = array[rows]
            assert part.dtype == expected.dtype and part.shape == expected.shape
            np.testing.assert_array_equal(part, expected)
