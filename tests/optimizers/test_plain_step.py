"""A training step with nothing but the optimizer's own rule to apply takes
``_apply_plainly`` (Adam's) instead of ``apply``'s general path: the same
weights, slots and counts, bit for bit; and every option, override or
mismatch that the general path handles sends the step there."""

import numpy as np
import pytest

import gradstep
from gradstep import layers, optimizers
from gradstep.lab.explain_model import explain_step
from gradstep.optimizers import base
from gradstep.optimizers.adam import Adam


def _model(optimizer, dtype="float32"):
    gradstep.utils.set_random_seed(3)
    model = gradstep.Sequential(
        [
            gradstep.Input((6,), dtype=dtype),
            layers.Dense(9, activation="relu", dtype=dtype),
            layers.Dense(3, activation="softmax", dtype=dtype),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def _data(dtype="float32"):
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 6)).astype(dtype), rng.integers(0, 3, size=40)


def _train(make_optimizer, plain: bool, monkeypatch, dtype="float32"):
    """Weights, optimizer state and the plain steps taken, after 3 epochs."""
    taken = []
    apply_plainly = Adam._apply_plainly

    def spy(self, gradients):
        updated = apply_plainly(self, gradients)
        taken.append(updated)
        return updated

    with monkeypatch.context() as patch:
        patch.setattr(Adam, "_apply_plainly", spy)
        if not plain:
            patch.setattr(base.Optimizer, "_plain_step", lambda self, gradients: False)
        model = _model(make_optimizer(), dtype)
        x, y = _data(dtype)
        model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    return model.get_weights(), model.optimizer.get_state(), taken


SAME_AS_APPLY = {
    "adam": lambda: optimizers.Adam(learning_rate=0.01),
    "amsgrad": lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "pytorch epsilon": lambda: optimizers.Adam(epsilon=1e-3, epsilon_placement="pytorch"),
    "one-cycle schedule, cycling beta_1": lambda: optimizers.Adam(
        optimizers.schedules.OneCycle(0.05, total_steps=15)
    ),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(SAME_AS_APPLY))
def test_the_plain_step_gives_applys_numbers(monkeypatch, name, dtype):
    weights, state, taken = _train(SAME_AS_APPLY[name], True, monkeypatch, dtype)
    general_weights, general_state, general_taken = _train(
        SAME_AS_APPLY[name], False, monkeypatch, dtype
    )
    assert taken and all(taken)  # every step after the optimizer's build (the first)
    assert len(taken) == 3 * 5 - 1
    assert general_taken == []
    for ours, theirs in zip(weights, general_weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert state.keys() == general_state.keys()
    for key in state:
        np.testing.assert_array_equal(state[key], general_state[key])


GENERAL_PATH = {
    "clipnorm": lambda: optimizers.Adam(clipnorm=0.5),
    "global_clipnorm": lambda: optimizers.Adam(global_clipnorm=0.5),
    "clipvalue": lambda: optimizers.Adam(clipvalue=0.1),
    "weight decay": lambda: optimizers.Adam(weight_decay=0.01),
    "AdamW": lambda: optimizers.AdamW(),
    "moving average": lambda: optimizers.Adam(use_ema=True),
    "accumulation": lambda: optimizers.Adam(gradient_accumulation_steps=2),
}


@pytest.mark.parametrize("name", sorted(GENERAL_PATH))
def test_options_the_general_path_handles_keep_to_it(monkeypatch, name):
    _, _, taken = _train(GENERAL_PATH[name], True, monkeypatch)
    assert taken == []


def test_a_subclass_with_its_own_rule_keeps_to_the_general_path():
    class Halved(optimizers.Adam):
        def update_step(self, gradient, variable, step):
            super().update_step(gradient * 0.5, variable, step)

    class OwnApply(optimizers.Adam):
        def apply(self, grads, trainable_variables=None, *, variable_names=None):
            super().apply(grads, trainable_variables, variable_names=variable_names)

    halved, own_apply = Halved(), OwnApply()
    for optimizer in (halved, own_apply):
        model = _model(optimizer)
        model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
        _, gradients = model.gradients(*_data())
        if optimizer is halved:
            assert optimizer._plain_step(gradients)  # (Adam's general path, its own rule)
            assert not optimizer._apply_plainly(gradients)
        else:
            assert not optimizer._plain_step(gradients)


def test_gradients_that_do_not_match_the_built_weights_keep_to_the_general_path():
    model = _model(optimizers.Adam())
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    optimizer = model.optimizer
    _, gradients = model.gradients(*_data())
    assert optimizer._plain_step(gradients)
    path, weight, gradient = gradients[0]
    variants = [
        gradients[::-1],  # another order
        gradients[:-1],  # one short
        [(path, weight, None), *gradients[1:]],  # no gradient for a weight
        [(path, weight, gradient.astype(np.float64)), *gradients[1:]],  # another dtype
        [(path, weight, gradient.tolist()), *gradients[1:]],  # not an array
        [(path, weight.copy(), gradient), *gradients[1:]],  # another array
    ]
    for variant in variants:
        assert not optimizer._plain_step(variant)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimizer, "apply", optimizer.apply)  # an instance's own apply
        assert not optimizer._plain_step(gradients)


def test_an_explained_step_keeps_to_the_general_path(monkeypatch):
    model = _model(optimizers.Adam())
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    monkeypatch.setattr(
        Adam, "_apply_plainly", lambda self, g: pytest.fail("the plain step explained")
    )
    kernel = model.layers[0].name + "/kernel"
    explanation = explain_step(model, x[:8], y[:8], kernel, (0, 0))
    assert "alpha" in str(explanation)


def test_replaced_slots_are_updated_where_they_now_are(monkeypatch):
    """A slot array replaced in the optimizer's variables (not in place) is
    the one the plain step updates, as the general path's does."""
    results = []
    for plain in (True, False):
        with monkeypatch.context() as patch:
            if not plain:
                patch.setattr(base.Optimizer, "_plain_step", lambda self, gradients: False)
            model = _model(optimizers.Adam(learning_rate=0.01))
            x, y = _data()
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
            slots = model.optimizer.variables["momentum"]
            slots[0] = slots[0].copy()
            replaced = slots[0].copy()
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
            momentum = model.optimizer.variables["momentum"][0]
            assert not np.array_equal(momentum, replaced)  # the new array was updated
            results.append((model.get_weights(), momentum))
    (weights, momentum), (general_weights, general_momentum) = results
    np.testing.assert_array_equal(momentum, general_momentum)
    for ours, theirs in zip(weights, general_weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_kept_gradients_are_checked_again_after_a_build():
    """A ``KeptGradients`` list (fit's planned step hands the same one over at
    every step) is checked once; a build for other weights checks it again; a
    plain list is not remembered, and a kept one only weakly (the optimizer
    does not keep a fit's gradient arrays alive after it)."""
    model = _model(optimizers.Adam())
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    optimizer = model.optimizer
    _, gradients = model.gradients(*_data())
    assert optimizer._plain_step(gradients)
    assert optimizer._plain_checked is None or optimizer._plain_checked() is not gradients
    gone = optimizers.KeptGradients(gradients)
    assert optimizer._plain_step(gone) and optimizer._plain_checked() is gone
    del gone
    assert optimizer._plain_checked() is None
    kept = optimizers.KeptGradients(gradients)
    assert optimizer._plain_step(kept) and optimizer._plain_checked() is kept
    optimizer.build([weight.copy() for _, weight, _ in gradients])
    assert not optimizer._plain_step(kept)
