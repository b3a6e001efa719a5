"""Every differentiable op's slope against float64 central differences."""

from __future__ import annotations

import numpy as np
import pytest
from tests.ops.op_cases import CASES

from gradstep.ops import value_and_gradients


def _numerical(function, arguments, index, upstream, step=1e-6):
    slope = np.zeros_like(arguments[index])
    for position in np.ndindex(arguments[index].shape):
        shifted = [np.array(a, dtype=np.float64) for a in arguments]
        shifted[index][position] += step
        above = np.sum(upstream * np.asarray(function(*shifted), dtype=np.float64))
        shifted[index][position] -= 2 * step
        below = np.sum(upstream * np.asarray(function(*shifted), dtype=np.float64))
        slope[position] = (above - below) / (2 * step)
    return slope


@pytest.mark.parametrize("name, function, arguments", CASES, ids=[c[0] for c in CASES])
def test_slope_matches_central_differences(name, function, arguments):
    arguments = [np.asarray(a, dtype=np.float64) for a in arguments]
    value, _ = value_and_gradients(function, arguments)
    upstream = np.random.default_rng(1).normal(size=np.shape(value))
    value, slopes = value_and_gradients(function, arguments, upstream)
    assert np.asarray(value).dtype == np.float64, name
    for index, slope in enumerate(slopes):
        expected = _numerical(function, arguments, index, upstream)
        np.testing.assert_allclose(
            slope, expected, rtol=1e-5, atol=1e-7, err_msg=f"{name} arg {index}"
        )
