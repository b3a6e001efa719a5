"""The PyTorch-equivalent settings of docs/optimizers.md give PyTorch's
parameters: 50 steps of fixed gradients in float64, to round-off (1e-9
relative on the distance moved; the requirement is 1e-6).

The goldens come from tools/make_keras_optimizer_fixtures.py (torch.optim).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gradstep import optimizers

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "keras_optimizers.json").read_text("utf-8")
)
CASES = {case["name"]: case for case in FIXTURE["torch"]}

TORCH_DEFAULTS = {
    "SGD": {"lr": 1e-3, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False},
    "Adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False},
    "AdamW": {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 1e-2,
        "amsgrad": False,
    },
    "Adagrad": {"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0.0},
    "Adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
    "Adamax": {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8},
    "NAdam": {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 4e-3},
}


def gradstep_equivalent(torch_class, kwargs):
    """The gradstep optimizer that reproduces ``torch.optim.<torch_class>(**kwargs)``:
    the table of docs/optimizers.md, as code."""
    k = {**TORCH_DEFAULTS[torch_class], **kwargs}
    pytorch = {"epsilon": k.get("eps"), "epsilon_placement": "pytorch"}
    if torch_class == "SGD":
        return optimizers.SGD(k["lr"], momentum=k["momentum"], nesterov=k["nesterov"])
    if torch_class == "RMSprop":
        return optimizers.RMSprop(
            k["lr"], rho=k["alpha"], momentum=k["momentum"], centered=k["centered"], **pytorch
        )
    if torch_class in ("Adam", "AdamW"):
        beta_1, beta_2 = k["betas"]
        cls = optimizers.AdamW if torch_class == "AdamW" else optimizers.Adam
        extra = {"weight_decay": k["weight_decay"]} if torch_class == "AdamW" else {}
        return cls(k["lr"], beta_1=beta_1, beta_2=beta_2, amsgrad=k["amsgrad"], **pytorch, **extra)
    if torch_class == "Adagrad":
        return optimizers.Adagrad(
            k["lr"], initial_accumulator_value=k["initial_accumulator_value"], **pytorch
        )
    if torch_class == "Adadelta":
        return optimizers.Adadelta(k["lr"], rho=k["rho"], epsilon=k["eps"])
    if torch_class == "Adamax":
        beta_1, beta_2 = k["betas"]
        return optimizers.Adamax(k["lr"], beta_1=beta_1, beta_2=beta_2, **pytorch)
    if torch_class == "NAdam":
        assert k["momentum_decay"] == 1.0, "Keras's Nadam is NAdam(momentum_decay=1.0)"
        beta_1, beta_2 = k["betas"]
        return optimizers.Nadam(k["lr"], beta_1=beta_1, beta_2=beta_2, epsilon=k["eps"])
    raise AssertionError(torch_class)


def replay(optimizer):
    variables = [np.array(v["initial"], dtype=np.float64) for v in FIXTURE["variables"]]
    snapshots = []
    for step, gradients in enumerate(FIXTURE["gradients"], start=1):
        optimizer.apply([np.array(g) for g in gradients], variables)
        if step in FIXTURE["snapshot_steps"]:
            snapshots.append([v.copy() for v in variables])
    return snapshots


def assert_same_path(name, snapshots, rtol, atol, moved=True):
    """Our parameters against PyTorch's at every snapshot; with ``moved``, on the
    distance from the start (a stricter test than on the parameters)."""
    initial = [np.array(v["initial"]) for v in FIXTURE["variables"]]
    for step, ours, theirs in zip(
        FIXTURE["snapshot_steps"], snapshots, CASES[name]["snapshots"], strict=True
    ):
        for start, mine, torch in zip(initial, ours, theirs, strict=True):
            origin = start if moved else 0.0
            np.testing.assert_allclose(
                mine - origin,
                np.array(torch) - origin,
                rtol=rtol,
                atol=atol,
                err_msg=f"{name} after {step} steps",
            )


TESTABLE = sorted(name for name in CASES if name != "NAdam_default")


@pytest.mark.parametrize("name", TESTABLE)
def test_pytorch_equivalent_settings_reproduce_pytorch(name):
    """50 steps: the distance moved agrees to 1e-9 relative (round-off only)."""
    case = CASES[name]
    snapshots = replay(gradstep_equivalent(case["class"], case["kwargs"]))
    assert_same_path(name, snapshots, rtol=1e-9, atol=1e-13)


# (Adagrad's eps of 1e-10, and Adamax's 1e-8 against its infinity norm, stay
# below round-off in either place for these gradients)
@pytest.mark.parametrize("name", ["RMSprop_default", "Adam_default"])
def test_keras_placement_with_pytorch_numbers_is_not_pytorch(name):
    """The same epsilon in Keras's place moves the weights elsewhere, beyond
    round-off: the placement is what makes the match exact."""
    case = CASES[name]
    optimizer = gradstep_equivalent(case["class"], case["kwargs"])
    optimizer.epsilon_placement = "keras"
    with pytest.raises(AssertionError, match="Mismatched elements"):
        assert_same_path(name, replay(optimizer), rtol=1e-9, atol=1e-13)


def test_epsilon_placement_matters_where_gradients_are_tiny():
    """Keras's epsilon is added before the bias correction, PyTorch's after: with
    gradients near epsilon the first steps differ by half."""
    gradient = np.full(3, 1e-8)
    keras_style, torch_style = np.zeros(3), np.zeros(3)
    optimizers.Adam(learning_rate=1.0, epsilon=1e-8).apply_gradients([(gradient, keras_style)])
    optimizers.Adam(learning_rate=1.0, epsilon=1e-8, epsilon_placement="pytorch").apply_gradients(
        [(gradient, torch_style)]
    )
    # PyTorch's first step: lr * m_hat / (sqrt(v_hat) + eps) = 1e-8 / (1e-8 + 1e-8)
    np.testing.assert_allclose(torch_style, -0.5)
    # Keras's: lr * sqrt(1 - beta_2) * g / (sqrt(1 - beta_2) * g + eps)
    np.testing.assert_allclose(keras_style, -(0.001**0.5) / (0.001**0.5 + 1))


def test_bad_placement_is_named():
    with pytest.raises(ValueError, match="epsilon_placement must be one of"):
        optimizers.RMSprop(epsilon_placement="torch")


def test_nadam_default_momentum_schedule_is_not_keras():
    """PyTorch's default momentum_decay=0.004 is a different schedule: the fixture
    keeps it to show that only momentum_decay=1.0 matches."""
    case = CASES["NAdam_default"]
    snapshots = replay(optimizers.Nadam(2e-3, epsilon=1e-8))
    final_ours, final_torch = snapshots[-1][0], np.array(case["snapshots"][-1][0])
    assert not np.allclose(final_ours, final_torch, rtol=1e-6)
