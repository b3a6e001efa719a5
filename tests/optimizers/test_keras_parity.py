"""Every optimizer and option, 50 steps of fixed gradients in float64, gives
Keras 3's parameters to 1e-6 relative (on the distance moved from the start).

The goldens come from tools/make_keras_optimizer_fixtures.py (Keras 3 on JAX,
float64); the parameters carry paths such as "dense/kernel", which
exclude_from_weight_decay and Muon read.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gradstep import optimizers

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "keras_optimizers.json").read_text("utf-8")
)
CASES = {case["name"]: case for case in FIXTURE["keras"]}


def replay(case, fixture=FIXTURE):
    """Run the case in gradstep; returns the parameters at each snapshot step."""
    optimizer = getattr(optimizers, case["class"]).from_config(case["config"])
    if case["exclude_from_weight_decay"] is not None:
        optimizer.exclude_from_weight_decay(var_names=case["exclude_from_weight_decay"])
    variables = [np.array(v["initial"], dtype=np.float64) for v in fixture["variables"]]
    names = [v["path"] for v in fixture["variables"]]
    snapshots = []
    for step, gradients in enumerate(fixture["gradients"], start=1):
        optimizer.apply([np.array(g) for g in gradients], variables, variable_names=names)
        if step in fixture["snapshot_steps"]:
            snapshots.append([v.copy() for v in variables])
    return optimizer, snapshots


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras_for_50_steps(name):
    case = CASES[name]
    optimizer, snapshots = replay(case)
    initial = [np.array(v["initial"]) for v in FIXTURE["variables"]]
    for step, ours, theirs in zip(
        FIXTURE["snapshot_steps"], snapshots, case["snapshots"], strict=True
    ):
        for path, start, mine, keras in zip(
            [v["path"] for v in FIXTURE["variables"]], initial, ours, theirs, strict=True
        ):
            np.testing.assert_allclose(
                mine - start,
                np.array(keras) - start,
                rtol=1e-6,
                atol=1e-12,
                err_msg=f"{name}: {path} after {step} steps",
            )
    assert optimizer.iterations == case["iterations"]


def test_every_keras_option_is_covered():
    """Each optimizer is checked with its defaults, a schedule and every common option."""
    classes = {case["class"] for case in CASES.values()}
    assert len(classes) == 14
    for cls in classes:
        names = {name for name, case in CASES.items() if case["class"] == cls}
        for option in (
            "default",
            "schedule",
            "weight_decay",
            "clipnorm",
            "clipvalue",
            "global_clipnorm",
            "ema",
            "ema_overwrite",
            "accumulation",
        ):
            assert f"{cls}_{option}" in names


@pytest.mark.parametrize("name", ["Adam_default", "Muon_exclude_layers", "Ftrl_l2"])
def test_keras_config_keys_match(name):
    """get_config() has exactly Keras's keys (and, for these, its values)."""
    case = CASES[name]
    config = getattr(optimizers, case["class"]).from_config(case["config"]).get_config()
    config.pop("epsilon_placement", None)  # gradstep's one extension
    keras_config = case["keras_config"]
    assert set(config) == set(keras_config)
    for key, value in keras_config.items():
        if key != "name":
            assert config[key] == value, key
