"""The window arithmetic shared by pooling layers, against its definition:
'same' gives ceil(length / stride) windows, padded as little as possible,
the smaller half before the input."""

import itertools

import pytest

from gradstep.layers.spatial import same_padding, standardize_tuple, window_outputs


@pytest.mark.parametrize(
    ("length", "size", "stride"), list(itertools.product(range(1, 9), range(1, 5), range(1, 4)))
)
def test_same_padding_is_the_least_that_fits_every_window(length, size, stride):
    before, after = same_padding(length, size, stride)
    windows = window_outputs(length, size, stride, "same")
    assert windows == -(-length // stride)
    padded = before + length + after
    assert (windows - 1) * stride + size <= padded  # the last window fits
    assert before == (before + after) // 2  # the extra entry, if any, after
    if before + after:
        assert (windows - 1) * stride + size == padded  # and no more padding than needed
    assert before < size  # every window holds a real entry


@pytest.mark.parametrize(("length", "size", "stride"), [(5, 2, 2), (4, 4, 1), (7, 3, 2), (2, 3, 1)])
def test_valid_counts_whole_windows(length, size, stride):
    whole = [start for start in range(length) if start % stride == 0 and start + size <= length]
    assert window_outputs(length, size, stride, "valid") == len(whole)
    assert window_outputs(None, size, stride, "valid") is None


def test_standardize_tuple():
    assert standardize_tuple(2, 2, "pool_size", "X") == (2, 2)
    assert standardize_tuple([1, 3], 2, "pool_size", "X") == (1, 3)
    assert standardize_tuple(0, 1, "padding", "X", allow_zero=True) == (0,)
    for bad in [0, (1,), (1, 2.0), "2", None, True]:
        with pytest.raises(ValueError, match=r"X: pool_size must be a positive integer or a tuple"):
            standardize_tuple(bad, 2, "pool_size", "X")
