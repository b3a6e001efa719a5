"""The PyTorch-equivalent settings of docs/optimizers.md give PyTorch's
parameters: 50 steps of fixed gradients in float64, to round-off (1e-9
relative on the distance moved; the requirement is 1e-6), with a constant
learning rate and, for SGD and RMSprop with momentum, with one that changes
every step (a torch.optim.lr_scheduler's rates, given as ``step -> rate``).

The goldens come from tools/make_keras_optimizer_fixtures.py (torch.optim).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gradstep import optimizers
from gradstep.optimizers import schedules

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


def gradstep_equivalent(torch_class, kwargs, learning_rate=None, momentum_form="pytorch"):
    """The gradstep optimizer that reproduces ``torch.optim.<torch_class>(**kwargs)``:
    the table of docs/optimizers.md, as code. ``learning_rate`` replaces
    ``lr`` (a schedule); ``momentum_form`` is SGD's and RMSprop's."""
    k = {**TORCH_DEFAULTS[torch_class], **kwargs}
    if learning_rate is not None:
        k["lr"] = learning_rate
    pytorch = {"epsilon": k.get("eps"), "epsilon_placement": "pytorch"}
    if torch_class == "SGD":
        return optimizers.SGD(
            k["lr"], momentum=k["momentum"], nesterov=k["nesterov"], momentum_form=momentum_form
        )
    if torch_class == "RMSprop":
        return optimizers.RMSprop(
            k["lr"],
            rho=k["alpha"],
            momentum=k["momentum"],
            centered=k["centered"],
            momentum_form=momentum_form,
            **pytorch,
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


def replay(optimizer, momenta=None):
    """The parameters at the fixture's snapshot steps. ``momenta``: the momentum
    of each step, set before it as PyTorch's scheduler sets the group's."""
    variables = [np.array(v["initial"], dtype=np.float64) for v in FIXTURE["variables"]]
    snapshots = []
    for step, gradients in enumerate(FIXTURE["gradients"], start=1):
        if momenta is not None:
            optimizer.momentum = momenta[step - 1]
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


TESTABLE = sorted(
    name for name, case in CASES.items() if name != "NAdam_default" and "scheduler" not in case
)
#: Cases whose learning rate (and, for some, momentum) a PyTorch scheduler changes.
SCHEDULED = sorted(name for name, case in CASES.items() if "scheduler" in case)
#: Momentum at a constant learning rate: Keras's form is PyTorch's too.
CONSTANT_RATE_MOMENTUM = ["SGD_momentum", "SGD_nesterov", "RMSprop_momentum", "RMSprop_centered"]


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


def replay_scheduled(name, momentum_form="pytorch"):
    """Replay a scheduled case: its rates as a callable ``step -> rate`` and its
    momenta set before each step."""
    case = CASES[name]
    rates = case["learning_rates"]
    optimizer = gradstep_equivalent(
        case["class"], case["kwargs"], lambda step: rates[step], momentum_form
    )
    return replay(optimizer, case["momenta"])


def test_the_scheduled_cases_change_the_rate_and_cycle_the_momentum():
    """Without a changing rate the scheduled tests below could not fail."""
    assert {CASES[name]["class"] for name in SCHEDULED} == {"SGD", "RMSprop"}
    for name in SCHEDULED:
        rates = CASES[name]["learning_rates"]
        assert len(rates) == FIXTURE["steps"] and len(set(rates)) > 1, name
    cycled = [name for name in SCHEDULED if len(set(CASES[name]["momenta"])) > 1]
    assert cycled == ["RMSprop_centered_momentum_cyclic", "SGD_nesterov_onecycle_cycled_momentum"]
    assert any(CASES[name]["kwargs"].get("nesterov") for name in SCHEDULED)
    assert any(CASES[name]["kwargs"].get("centered") for name in SCHEDULED)


@pytest.mark.parametrize("name", SCHEDULED)
def test_pytorch_momentum_form_reproduces_pytorch_under_a_changing_rate(name):
    """momentum_form="pytorch" (and RMSprop's epsilon_placement="pytorch"): the
    scheduler's 50 rates give PyTorch's parameters to round-off."""
    assert_same_path(name, replay_scheduled(name), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("name", SCHEDULED)
def test_keras_momentum_form_is_not_pytorch_under_a_changing_rate(name):
    """Keras's velocity keeps the steps of the old rates: far beyond 1e-6."""
    with pytest.raises(AssertionError, match="Mismatched elements"):
        assert_same_path(name, replay_scheduled(name, "keras"), rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", CONSTANT_RATE_MOMENTUM)
def test_keras_momentum_form_is_pytorch_at_a_constant_rate(name):
    """While the rate stays put the two forms give the same weights."""
    case = CASES[name]
    optimizer = gradstep_equivalent(case["class"], case["kwargs"], momentum_form="keras")
    assert_same_path(name, replay(optimizer), rtol=1e-9, atol=1e-13)


# gradstep's schedules that are PyTorch's schedulers of the scheduled cases
GRADSTEP_SCHEDULES = {
    "SGD_momentum_onecycle": lambda: schedules.OneCycle(0.1, total_steps=50, cycle_momentum=False),
    "SGD_nesterov_exponential": lambda: schedules.ExponentialDecay(0.05, 1, decay_rate=0.93),
    "SGD_nesterov_onecycle_cycled_momentum": lambda: schedules.OneCycle(0.1, total_steps=50),
    "RMSprop_momentum_onecycle": lambda: schedules.OneCycle(
        0.01, total_steps=50, cycle_momentum=False
    ),
    "RMSprop_centered_momentum_cyclic": lambda: schedules.Cyclic(
        1e-3, 1e-2, step_size_up=5, base_momentum=0.5, max_momentum=0.9
    ),
}


@pytest.mark.parametrize("name", sorted(GRADSTEP_SCHEDULES))
def test_gradstep_schedules_with_pytorch_momentum_reproduce_pytorch(name):
    """With gradstep's OneCycle, Cyclic (which cycle the momentum themselves)
    and ExponentialDecay in place of the stored rates: the same path."""
    case, schedule = CASES[name], GRADSTEP_SCHEDULES[name]()
    steps = range(FIXTURE["steps"])
    np.testing.assert_allclose([schedule(k) for k in steps], case["learning_rates"], rtol=1e-12)
    if getattr(schedule, "cycle_momentum", False):
        momenta = [schedule.momentum(k) for k in steps]
        np.testing.assert_allclose(momenta, case["momenta"], rtol=1e-12)
    optimizer = gradstep_equivalent(case["class"], case["kwargs"], schedule)
    assert_same_path(name, replay(optimizer), rtol=1e-9, atol=1e-13)


def test_bad_momentum_form_is_named():
    with pytest.raises(ValueError, match=r"momentum_form must be one of \('keras', 'pytorch'\)"):
        optimizers.SGD(momentum=0.9, momentum_form="torch")
