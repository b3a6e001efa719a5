"""fit's planned step for chains of Dense layers (gradstep.models.dense_chain):
which models get it, that its steps run (not the ChainPlan it falls back
on), and that it trains to the same bits as the ChainPlan's step (weights,
optimizer slots, history)."""

import numpy as np
import pytest

import gradstep
from gradstep import callbacks, kernels, layers, losses, models, optimizers
from gradstep.models.dense_chain import DenseChain
from gradstep.models.step_plan import ChainPlan

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(autouse=True)
def _numba_kernels():
    kernels.set_backend("numba")
    yield
    kernels.set_backend("auto")


def _bits(array):
    array = np.asarray(array)
    return array.view(f"u{array.itemsize}") if array.dtype.kind == "f" else array


def _chain(hidden=(12,), dtype="float32", classes=3, activation="relu", use_bias=True):
    return models.Sequential(
        [gradstep.Input(shape=(6,), dtype=dtype)]
        + [
            layers.Dense(units, activation=activation, use_bias=use_bias, dtype=dtype)
            for units in hidden
        ]
        + [layers.Dense(classes, activation="softmax", dtype=dtype)]
    )


def _data(dtype="float32", count=70, classes=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(count, 6)).astype(dtype), rng.integers(0, classes, size=count)


CASES = {
    "one hidden layer, adam, accuracy": (
        _chain,
        _data,
        dict(optimizer="adam", metrics=["accuracy"]),
        {},
    ),
    "two hidden layers, float64, sgd with momentum": (
        lambda: _chain((10, 7), "float64", classes=5),
        lambda: _data("float64", classes=5),
        dict(optimizer=optimizers.SGD(0.05, momentum=0.9)),
        {},
    ),
    "no hidden layer, rmsprop, validation": (
        lambda: _chain(()),
        _data,
        dict(optimizer="rmsprop"),
        dict(validation_split=0.2),
    ),
    "adam with amsgrad, clipping and accumulated gradients": (
        _chain,
        _data,
        dict(optimizer=optimizers.Adam(amsgrad=True, clipnorm=0.5, gradient_accumulation_steps=2)),
        {},
    ),
    "labels as a column, a batch of one row at the end": (
        lambda: _chain((9,)),
        lambda: (_data(count=65)[0], _data(count=65)[1][:, None]),
        dict(optimizer="adamw"),
        {},
    ),
}


def _train(case, chained: bool, monkeypatch, **fit_options):
    build, data, settings, options = CASES[case]
    with monkeypatch.context() as patch:
        if not chained:
            patch.setattr(DenseChain, "build", classmethod(lambda cls, plan, optimizer: None))
        gradstep.utils.set_random_seed(7)
        model = build()
        settings = dict(settings)
        optimizer = optimizers.get(settings.pop("optimizer"))
        model.compile(
            optimizer=optimizer.from_config(optimizer.get_config()),
            loss="sparse_categorical_crossentropy",
            **settings,
        )
        x, y = data()
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, **options, **fit_options)
    slots = [a for arrays in model.optimizer.variables.values() for a in arrays if a is not None]
    return model.get_weights() + slots, history.history


def _same(first, second):
    (first_arrays, first_history), (second_arrays, second_history) = first, second
    assert len(first_arrays) == len(second_arrays)
    for ours, theirs in zip(first_arrays, second_arrays, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    assert first_history == second_history


def _count_steps(monkeypatch):
    """Counts of the steps the chain takes itself and of those it hands on."""
    counts = {"chain": 0, "plan": 0}
    chain_original, plan_original = DenseChain.last_forward, ChainPlan.loss_and_gradients

    def chain_step(self, *args):
        counts["chain"] += 1
        return chain_original(self, *args)

    def plan_step(self, *args):
        counts["plan"] += 1
        return plan_original(self, *args)

    monkeypatch.setattr(DenseChain, "last_forward", chain_step)
    monkeypatch.setattr(ChainPlan, "loss_and_gradients", plan_step)
    return counts


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_gives_the_chain_plans_bits(case, monkeypatch):
    _same(_train(case, True, monkeypatch), _train(case, False, monkeypatch))


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_chain_takes_the_steps_itself(case, monkeypatch):
    counts = _count_steps(monkeypatch)
    _train(case, True, monkeypatch)
    # (a first step may hand on while numba loads a kernel for the layers)
    assert counts["chain"] > 0 and counts["plan"] <= 1


def _planned(model, loss="sparse_categorical_crossentropy", optimizer="adam"):
    model.compile(optimizer=optimizer, loss=loss)
    x, y = _data()
    x = x.reshape((-1, *model.inputs[0].shape[1:]))
    if loss == "categorical_crossentropy":
        y = np.eye(3)[y]
    model.fit(x, y, epochs=1, verbose=0)  # compiles the losses
    return model._plan_step()


class _OwnDense(layers.Dense):
    pass


def test_chains_it_does_not_serve_keep_the_chain_plan():
    assert isinstance(_planned(_chain()), DenseChain)
    for model in [
        _chain(activation="tanh"),
        _chain(use_bias=False),
        models.Sequential(
            [gradstep.Input(shape=(6,)), _OwnDense(4, "relu"), layers.Dense(3, "softmax")]
        ),
        models.Sequential(
            [gradstep.Input(shape=(2, 3)), layers.Flatten(), layers.Dense(3, "softmax")]
        ),
    ]:
        assert isinstance(_planned(model), ChainPlan)
    from_logits = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert isinstance(_planned(_chain(), loss=from_logits), ChainPlan)
    assert isinstance(_planned(_chain(), loss="categorical_crossentropy"), ChainPlan)
    assert isinstance(_planned(_chain(), optimizer=optimizers.LBFGS()), ChainPlan)
    frozen = _chain()
    frozen.layers[0].trainable = False
    assert isinstance(_planned(frozen), ChainPlan)


def test_a_layer_watched_on_the_instance_keeps_the_chain_plan():
    x, y = _data()
    gradstep.utils.set_random_seed(5)
    model = _chain()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    watcher = callbacks.Diagnostics()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[watcher])
    assert len(watcher.values("gradient_norm", model.layers[0].name)) == 2


def test_a_method_wrapped_during_the_fit_is_called(monkeypatch):
    """A callback that wraps a layer's forward after the first step: the
    chain hands the later steps on, and the wrapper sees each of them."""
    seen = []

    class WrapLater(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                layer = self.model.layers[0]
                forward = layer.forward
                layer.forward = lambda *args, **kwargs: seen.append(1) or forward(*args, **kwargs)

    counts = _count_steps(monkeypatch)
    _train("one hidden layer, adam, accuracy", True, monkeypatch, callbacks=[WrapLater()])
    assert len(seen) == counts["plan"] == 2 * 5 and counts["chain"] >= 4


@pytest.mark.parametrize("why", ["sample weights", "numpy kernels"])
def test_steps_it_cannot_take_go_to_the_chain_plan(why, monkeypatch):
    case = "one hidden layer, adam, accuracy"
    fit_options = {}
    if why == "sample weights":
        fit_options["sample_weight"] = np.linspace(0.5, 1.5, 70)
    if why == "numpy kernels":
        kernels.set_backend("numpy")
    plain = _train(case, False, monkeypatch, **fit_options)
    counts = _count_steps(monkeypatch)
    chained = _train(case, True, monkeypatch, **fit_options)
    _same(chained, plain)
    assert counts == {"chain": 0, "plan": 3 * 5}


def test_a_kernel_replaced_during_the_fit_is_read(monkeypatch):
    """A callback that gives a layer a new kernel array (where ``set_weights``
    would write into the old one): the chain's products read the new array
    from then on, as the layer's own calls do."""

    class Replace(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                for layer in self.model.layers:
                    layer.kernel = layer.kernel * 0.5

    case = "one hidden layer, adam, accuracy"
    chained = _train(case, True, monkeypatch, callbacks=[Replace()])
    _same(chained, _train(case, False, monkeypatch, callbacks=[Replace()]))


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_non_finite_gradient_stops_the_fit_as_the_chain_plan_does(monkeypatch, capsys):
    """The chain's gradients are read for NaN in one pass (views into one
    array): a batch whose first kernel's slope overflows (huge inputs on a
    feature no unit reads, a steep last layer) is found, named and not
    applied, as by the ChainPlan."""

    def fit(chained):
        counts = _count_steps(monkeypatch)
        with monkeypatch.context() as patch:
            if not chained:
                patch.setattr(DenseChain, "build", classmethod(lambda cls, plan, opt: None))
            gradstep.utils.set_random_seed(3)
            model = _chain()
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.layers[0].kernel[...] *= 1e-3  # (the same outputs, a thousandfold slopes)
            model.layers[0].kernel[2] = 0
            model.layers[1].kernel[...] *= 1e3
            x, y = _data()
            x[:, 2] = 0
            x[32:48, 2] = 3e38  # (the third batch of 16)
            model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        said = capsys.readouterr().out
        return model, counts, said.replace(model.layers[0].name, "the first layer")

    chained, counts, said = fit(True)
    assert chained.diverged_at == (0, 2) and counts["chain"] >= 2
    assert "the gradient of layer 'the first layer' holds NaN or infinite values" in said
    plain, _, plain_said = fit(False)
    assert said == plain_said
    for ours, theirs in zip(chained.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
