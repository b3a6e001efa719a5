"""kernels.trace: an optimizer's update records its intermediates for one
watched weight entry, from the same code that moves the weight."""

import numpy as np
import pytest

from gradstep import kernels, optimizers
from gradstep.kernels import trace

FIRST_ORDER = sorted(set(optimizers.OPTIMIZERS.names()) - {"lbfgs", "schedulefreeadamw"})

#: A name that only the optimizer's own rule notes (beyond the shared steps).
OWN_STEP = {
    "adadelta": "dx = -sqrt(E[dx^2] + epsilon) * g / sqrt(E[g^2] + epsilon)",
    "adafactor": "u = g / sqrt(v)",
    "adagrad": "accumulator after = accumulator + g*g",
    "adam": "m after = m + (g - m) * (1 - beta_1)",
    "adamax": "u after = max(beta_2 * u, |g| + epsilon inside)",
    "adamw": "m after = m + (g - m) * (1 - beta_1)",
    "ftrl": "z after = z + g_shrunk - sigma * w",
    "gd": "step = g * learning_rate, subtracted",
    "lamb": "trust_ratio = ||w|| / ||r|| (over the whole weight array)",
    "lion": "sign(c)",
    "muon": "learning_rate * Newton-Schulz orthogonalization of the direction",
    "nadam": "m_hat = c_m * m + c_g * g (Nesterov's look-ahead)",
    "rmsprop": "s after = rho * s + (1 - rho) * g*g",
    "schedule_free_adamw": "z after",
    "sgd": "step = g * learning_rate, subtracted",
}


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=3).astype("float32")]
    return weights, rng


def test_the_catalogue_is_covered():
    assert set(OWN_STEP) == set(FIRST_ORDER)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_each_optimizer_notes_its_own_rule_and_the_step_it_takes(name):
    optimizer = optimizers.OPTIMIZERS.lookup(name)(learning_rate=0.01)
    weights, rng = _arrays()
    names = ["dense/kernel", "dense/bias"]
    for _ in range(2):
        grads = [rng.normal(size=w.shape).astype("float32") for w in weights]
        optimizer.apply(grads, weights, variable_names=names)
    grads = [rng.normal(size=w.shape).astype("float32") for w in weights]
    before = weights[0][2, 1]
    with trace.watch(weights[0], 7) as recorded:
        optimizer.apply(grads, weights, variable_names=names)
    noted = dict(recorded.entries)
    assert OWN_STEP[name] in noted, recorded.names()
    assert noted["gradient g (from the backward pass)"] == grads[0][2, 1]
    assert noted["weight after the update"] == weights[0][2, 1]
    assert noted["learning rate at this update"] == 0.01
    # The noted step is the one taken: the weight before it, minus (or plus) it,
    # is the weight after, bit for bit.
    start = noted.get("weight after decay = w - w * weight_decay * learning_rate", before)
    steps = [(n, v) for n, v in recorded.entries if n.endswith(("subtracted", "added"))]
    if steps:
        step_name, step = steps[-1]
        moved = start - step if step_name.endswith("subtracted") else start + step
        assert moved == weights[0][2, 1], (step_name, start, step)


def test_only_the_watched_entry_of_the_watched_weight_is_noted():
    optimizer = optimizers.Adam(0.1)
    weights, rng = _arrays()
    grads = [rng.normal(size=w.shape).astype("float32") for w in weights]
    with trace.watch(weights[1], 2) as recorded:
        optimizer.apply(grads, weights)
    noted = dict(recorded.entries)
    assert noted["gradient g (from the backward pass)"] == grads[1][2]
    assert noted["weight after the update"] == weights[1][2]
    assert recorded.names().count("m after = m + (g - m) * (1 - beta_1)") == 1


def test_the_numpy_twins_run_while_tracing_and_nothing_is_noted_outside():
    weights, _ = _arrays()
    assert trace.ACTIVE is None
    trace.note(weights[0], "ignored", weights[0])  # no trace: a no-op
    with trace.watch(weights[0], 0):
        assert not kernels.use_numba()
        assert not kernels.fusable(weights[0])
        with pytest.raises(RuntimeError, match="do not nest"):
            with trace.watch(weights[1], 0):
                pass
    assert trace.ACTIVE is None


def test_a_traced_update_equals_an_untraced_one_bit_for_bit():
    """The trace changes nothing: the same update with and without it (the
    fused kernels, where numba is installed, against the NumPy twins)."""
    for name in FIRST_ORDER:
        results = []
        for traced in (False, True):
            optimizer = optimizers.OPTIMIZERS.lookup(name)(learning_rate=0.01)
            weights, rng = _arrays(3)
            for _ in range(3):
                grads = [rng.normal(size=w.shape).astype("float32") for w in weights]
                if traced:
                    with trace.watch(weights[0], 5):
                        optimizer.apply(grads, weights, variable_names=["d/kernel", "d/bias"])
                else:
                    optimizer.apply(grads, weights, variable_names=["d/kernel", "d/bias"])
            results.append(weights)
        for plain, traced in zip(*results, strict=True):
            assert np.array_equal(plain, traced), name


def test_note_rejects_an_array_of_another_shape():
    weights, _ = _arrays()
    with trace.watch(weights[0], 0):
        with pytest.raises(ValueError, match="shaped like the watched weight"):
            trace.note(weights[0], "wrong", np.zeros(5))
