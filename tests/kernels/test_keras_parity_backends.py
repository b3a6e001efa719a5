"""Ftrl, Lamb, Adafactor and Muon match Keras 3 with the NumPy twins as well as
with the fused kernels, and the two backends give the same numbers to the bit.

tests/optimizers/test_keras_parity.py checks every case with the default
backend (the kernels when numba is installed); this replays the same goldens
(tools/make_keras_optimizer_fixtures.py, float64, 50 steps) on each backend.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gradstep import kernels, optimizers

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "keras_optimizers.json").read_text("utf-8")
)
CASES = {
    case["name"]: case
    for case in FIXTURE["keras"]
    if case["class"] in ("Ftrl", "Lamb", "Adafactor", "Muon")
}


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


def replay(case, backend):
    """The parameters at each snapshot step, run on ``backend``."""
    kernels.set_backend(backend)
    optimizer = getattr(optimizers, case["class"]).from_config(case["config"])
    if case["exclude_from_weight_decay"] is not None:
        optimizer.exclude_from_weight_decay(var_names=case["exclude_from_weight_decay"])
    variables = [np.array(v["initial"], dtype=np.float64) for v in FIXTURE["variables"]]
    names = [v["path"] for v in FIXTURE["variables"]]
    snapshots = []
    for step, gradients in enumerate(FIXTURE["gradients"], start=1):
        optimizer.apply([np.array(g) for g in gradients], variables, variable_names=names)
        if step in FIXTURE["snapshot_steps"]:
            snapshots.append([v.copy() for v in variables])
    return snapshots


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_twins_match_keras(name):
    initial = [np.array(v["initial"]) for v in FIXTURE["variables"]]
    for ours, theirs in zip(replay(CASES[name], "numpy"), CASES[name]["snapshots"], strict=True):
        for start, mine, keras in zip(initial, ours, theirs, strict=True):
            np.testing.assert_allclose(
                mine - start, np.array(keras) - start, rtol=1e-6, atol=1e-12, err_msg=name
            )


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.requires("numba", extra="speed")
def test_kernels_and_twins_agree_to_the_bit(name):
    fused, twin = replay(CASES[name], "numba"), replay(CASES[name], "numpy")
    for fused_snapshot, twin_snapshot in zip(fused, twin, strict=True):
        for a, b in zip(fused_snapshot, twin_snapshot, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
