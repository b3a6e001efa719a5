"""``to_torch_optimizer``: a run trained k steps in gradstep, then continued
N steps in PyTorch, ends at the weights that N more steps in gradstep give.

Tolerance: float32 round-off. The two libraries sum the same products in
another order, so each gradient differs by a few float32 units; adaptive
optimizers divide by sqrt(v), which can double a relative error, and five
steps accumulate it: 1e-5 of each weight's scale (about 80 float32 epsilons)."""

import warnings

import numpy as np
import pytest

import gradstep
from gradstep import layers, optimizers

pytestmark = pytest.mark.requires("torch", extra="interop")

PYTORCH_CONVENTIONS = {
    "sgd": lambda: optimizers.SGD(0.05),
    "sgd_momentum": lambda: optimizers.SGD(0.05, momentum=0.9, momentum_form="pytorch"),
    "sgd_nesterov": lambda: optimizers.SGD(
        0.05, momentum=0.8, nesterov=True, momentum_form="pytorch"
    ),
    "adam": lambda: optimizers.Adam(0.01, epsilon=1e-8, epsilon_placement="pytorch"),
    "adam_amsgrad": lambda: optimizers.Adam(
        0.01, epsilon=1e-8, amsgrad=True, epsilon_placement="pytorch"
    ),
    "adamw": lambda: optimizers.AdamW(
        0.01, weight_decay=0.05, epsilon=1e-8, epsilon_placement="pytorch"
    ),
    "rmsprop": lambda: optimizers.RMSprop(
        0.005,
        rho=0.95,
        momentum=0.5,
        centered=True,
        epsilon=1e-8,
        epsilon_placement="pytorch",
        momentum_form="pytorch",
    ),
    "adagrad": lambda: optimizers.Adagrad(0.05, epsilon=1e-10, epsilon_placement="pytorch"),
    "adamax": lambda: optimizers.Adamax(0.01, epsilon=1e-8, epsilon_placement="pytorch"),
    "nadam": lambda: optimizers.Nadam(0.01),
    "nadam_weight_decay": lambda: optimizers.Nadam(0.01, weight_decay=0.02),
    "adadelta": lambda: optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6),
}


def small_model():
    return gradstep.Sequential(
        [
            gradstep.Input((6, 2)),
            layers.Conv1D(3, 2, activation="relu", name="conv"),
            layers.LayerNormalization(name="norm"),
            layers.Flatten(name="flatten"),
            layers.Dense(4, activation="tanh", name="hidden"),
            layers.Dense(2, name="out"),
        ]
    )


def batches(count, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (
            rng.normal(size=(8, 6, 2)).astype("float32"),
            rng.normal(size=(8, 2)).astype("float32"),
        )
        for _ in range(count)
    ]


def recurrent_model():
    """Layouts PyTorch transposes (Dense, LSTM) or whose gate blocks it
    permutes (GRU), and 1-D weights; the same initial weights in every run
    (the error's growth over the steps depends on them)."""
    gradstep.utils.set_random_seed(7)
    return gradstep.Sequential(
        [
            gradstep.Input((6, 2)),
            layers.LSTM(3, return_sequences=True, name="lstm"),
            layers.GRU(3, reset_after=False, name="gru"),
            layers.LayerNormalization(name="norm"),
            layers.Dense(4, activation="tanh", name="hidden"),
            layers.Dense(2, name="out"),
        ]
    )


def continue_in_both(make_optimizer, before=3, after=5, announced=None, build=small_model):
    """The gradstep model after ``before + after`` steps, and the module
    after ``before`` steps in gradstep and ``after`` in PyTorch."""
    import torch

    from gradstep.interop import to_torch, to_torch_optimizer

    model = build()
    model.compile(optimizer=make_optimizer(), loss="mse")
    data = batches(before + after)
    for x, y in data[:before]:
        model.train_on_batch(x, y)
    module = to_torch(model).train()
    if announced is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            torch_optimizer = to_torch_optimizer(model, module)
    else:
        with pytest.warns(UserWarning, match=announced):
            torch_optimizer = to_torch_optimizer(model, module)
    for x, y in data[before:]:
        model.train_on_batch(x, y)
        torch_optimizer.zero_grad()
        loss = torch.mean((module(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2)
        loss.backward()
        torch_optimizer.step()
    return model, module


@pytest.mark.parametrize("name", sorted(PYTORCH_CONVENTIONS))
def test_training_continues_in_pytorch_as_in_gradstep(name):
    _, module = continue_in_both(PYTORCH_CONVENTIONS[name])
    assert_same_weights(module)


def assert_same_weights(module):
    for link in module.gradstep_links:
        want = link.to_torch(link.array)
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(
            link.parameter.detach().numpy(), want, rtol=0, atol=1e-5 * scale, err_msg=link.path
        )


def test_the_state_is_in_the_parameters_layouts():
    from gradstep.interop import to_torch, to_torch_optimizer

    model = small_model()
    model.compile(optimizer=optimizers.Adam(epsilon_placement="pytorch"), loss="mse")
    x, y = batches(1)[0]
    model.train_on_batch(x, y)
    module = to_torch(model)
    torch_optimizer = to_torch_optimizer(model, module)
    kernel = model.get_layer("hidden").kernel
    parameter = next(l.parameter for l in module.gradstep_links if l.path == "hidden/kernel")
    state = torch_optimizer.state[parameter]
    assert int(state["step"]) == 1
    np.testing.assert_array_equal(
        state["exp_avg"].numpy(), model.optimizer.slot("momentum", kernel).T
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: optimizers.Adam(0.01), "epsilon_placement='keras'"),
        (lambda: optimizers.SGD(0.01, momentum=0.9), "momentum_form='keras'"),
        (lambda: optimizers.Adam(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), "schedule"),
        (lambda: optimizers.SGD(0.01, clipnorm=1.0), "clipnorm"),
        (
            lambda: optimizers.RMSprop(0.01, weight_decay=0.1, epsilon_placement="pytorch"),
            "decoupled",
        ),
    ],
)
def test_a_difference_is_announced_with_its_reason(make, reason):
    from gradstep.interop import to_torch, to_torch_optimizer
    from gradstep.interop.differences import TorchConversionWarning

    model = small_model()
    model.compile(optimizer=make(), loss="mse")
    model.train_on_batch(*batches(1)[0])
    with pytest.warns(TorchConversionWarning, match=reason):
        to_torch_optimizer(model, to_torch(model))


def test_keras_momentum_form_continues_while_the_rate_is_constant():
    """Keras's velocity is -learning_rate times PyTorch's buffer: converted,
    the run continues (the warning says it holds at a constant rate only)."""
    model, module = continue_in_both(
        lambda: optimizers.SGD(0.05, momentum=0.9), announced="momentum_form='keras'"
    )
    assert_same_weights(module)


def test_an_optimizer_pytorch_does_not_have_is_refused():
    from gradstep.interop import to_torch, to_torch_optimizer

    model = small_model()
    model.compile(optimizer=optimizers.Lion(), loss="mse")
    with pytest.raises(ValueError, match="Lion cannot be converted: PyTorch has no Lion"):
        to_torch_optimizer(model, to_torch(model))


ADAFACTOR = {
    "defaults": lambda: optimizers.Adafactor(0.05),
    "clipped_slower_decay": lambda: optimizers.Adafactor(
        0.2, beta_2_decay=-0.5, clip_threshold=2.0, epsilon_2=0.01
    ),
    "relative_step_off": lambda: optimizers.Adafactor(0.1, relative_step=False),
}


@pytest.mark.parametrize("name", sorted(ADAFACTOR))
def test_adafactor_continues_in_pytorch(name):
    """Adafactor's factored second moment, transposed for Dense and LSTM
    kernels, gate blocks permuted for the GRU's, and 1-D weights' full one."""
    _, module = continue_in_both(ADAFACTOR[name], build=recurrent_model)
    assert_same_weights(module)


def test_adafactor_state_is_in_pytorchs_factors():
    from gradstep.interop import to_torch, to_torch_optimizer

    model = recurrent_model()
    model.compile(optimizer=optimizers.Adafactor(0.05), loss="mse")
    model.train_on_batch(*batches(1)[0])
    module = to_torch(model)
    torch_optimizer = to_torch_optimizer(model, module)
    kernel = model.get_layer("hidden").kernel  # (3, 4): PyTorch's weight (4, 3)
    parameter = next(l.parameter for l in module.gradstep_links if l.path == "hidden/kernel")
    state = torch_optimizer.state[parameter]
    assert state["row_var"].shape == (4, 1) and state["col_var"].shape == (1, 3)
    np.testing.assert_array_equal(
        state["row_var"].numpy()[:, 0], model.optimizer.slot("column_mean", kernel)
    )
    np.testing.assert_array_equal(
        state["col_var"].numpy()[0], model.optimizer.slot("row_mean", kernel)
    )


def test_adafactor_weight_decay_is_announced():
    _, module = continue_in_both(
        lambda: optimizers.Adafactor(0.05, weight_decay=0.1),
        announced="after the decay",
        build=recurrent_model,
    )


@pytest.mark.parametrize(
    ("layer", "weight"),
    [
        (lambda: layers.Conv1D(2, 3, name="conv"), "conv/kernel"),
        (lambda: layers.GRU(2, name="gru"), "gru/gru_cell/bias"),
    ],
    ids=["convolution", "gru_two_biases"],
)
def test_adafactor_refuses_a_layout_it_would_factor_otherwise(layer, weight):
    from gradstep.interop import to_torch, to_torch_optimizer

    model = gradstep.Sequential([gradstep.Input((6, 2)), layer(), layers.Flatten()])
    model.compile(optimizer=optimizers.Adafactor(), loss="mse")
    with pytest.raises(ValueError, match=f"Adafactor cannot be converted: weight '{weight}'"):
        to_torch_optimizer(model, to_torch(model))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: optimizers.Lion(), "Lion cannot be converted: PyTorch has no Lion"),
        (lambda: optimizers.Lamb(), "Lamb cannot be converted: PyTorch has no LAMB"),
        (lambda: optimizers.Ftrl(), "Ftrl cannot be converted: PyTorch has no FTRL"),
        (
            lambda: optimizers.ScheduleFreeAdamW(),
            "ScheduleFreeAdamW cannot be converted: PyTorch has no schedule-free",
        ),
        (lambda: optimizers.Muon(), "Muon cannot be converted: PyTorch's Muon .* bfloat16"),
        (
            lambda: optimizers.Adafactor(clip_threshold=0.5),
            "Adafactor cannot be converted: .*clip_threshold=0.5.*d >= 1",
        ),
    ],
    ids=["Lion", "Lamb", "Ftrl", "ScheduleFreeAdamW", "Muon", "Adafactor_small_clip"],
)
def test_each_optimizer_pytorch_lacks_is_refused_with_the_reason(make, reason):
    from gradstep.interop import to_torch, to_torch_optimizer

    model = small_model()
    model.compile(optimizer=make(), loss="mse")
    with pytest.raises(ValueError, match=reason):
        to_torch_optimizer(model, to_torch(model))


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_continues_in_pytorch_with_its_curvature_memory(line_search):
    """Two full-batch L-BFGS steps in gradstep, then one more in each library:
    the same weights (PyTorch's LBFGS is gradstep's algorithm step for step;
    the memory's flat vectors are put in PyTorch's layouts and order)."""
    import torch

    from gradstep.interop import to_torch, to_torch_optimizer

    model = recurrent_model()
    model.compile(
        optimizer=optimizers.LBFGS(0.5, max_iter=4, history_size=3, line_search_fn=line_search),
        loss="mse",
    )
    x, y = batches(1)[0]
    model.fit(x, y, epochs=2, verbose=0)
    module = to_torch(model).train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch_optimizer = to_torch_optimizer(model, module)
    state = torch_optimizer.state[module.gradstep_links[0].parameter]
    assert state["n_iter"] == model.optimizer.get_state()["n_iter"] > 4
    assert len(state["old_dirs"]) == 3

    def closure():
        torch_optimizer.zero_grad()
        loss = torch.mean((module(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2)
        loss.backward()
        return loss

    torch_optimizer.step(closure)
    model.fit(x, y, epochs=1, verbose=0)
    assert_same_weights(module)
