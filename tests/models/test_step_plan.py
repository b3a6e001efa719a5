"""fit's straight-line step for chains of layers (gradstep.models.step_plan):
which models get it, and that it trains to the same bits as the graph's
general step (weights, optimizer slots, history)."""

import numpy as np
import pytest

import gradstep
from gradstep import callbacks, layers, models, optimizers, regularizers
from gradstep.models.dense_chain import DenseChain
from gradstep.models.model import Model
from gradstep.models.step_plan import ChainPlan


def _bits(array):
    array = np.asarray(array)
    return array.view(f"u{array.itemsize}") if array.dtype.kind == "f" else array


def _dense_chain(dtype="float32", **dense_options):
    return models.Sequential(
        [
            gradstep.Input(shape=(6,), dtype=dtype),
            layers.Dense(12, activation="relu", name="hidden", **dense_options),
            layers.Dense(3, activation="softmax", name="out", dtype=dtype),
        ]
    )


def _classification(dtype="float32", count=70):
    rng = np.random.default_rng(0)
    return rng.normal(size=(count, 6)).astype(dtype), rng.integers(0, 3, size=count)


def _images():
    rng = np.random.default_rng(1)
    return rng.normal(size=(24, 8, 8, 2)).astype("float32"), rng.integers(0, 3, size=24)


def _conv_chain():
    return models.Sequential(
        [
            gradstep.Input(shape=(8, 8, 2)),
            layers.Conv2D(4, 3, activation="relu", name="conv"),
            layers.BatchNormalization(name="norm"),
            layers.MaxPooling2D(name="pool"),
            layers.Flatten(name="flat"),
            layers.Dropout(0.25, seed=3, name="drop"),
            layers.Dense(3, activation="softmax", name="out"),
        ]
    )


def _functional_chain():
    inputs = gradstep.Input(shape=(6,))
    hidden = layers.Dense(12, activation="tanh", name="hidden")(inputs)
    outputs = layers.Dense(2, name="out")(hidden)
    return models.Model(inputs, outputs)


CASES = {
    "dense relu, softmax, sparse crossentropy, adam": (
        _dense_chain,
        _classification,
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
    ),
    "float64, amsgrad": (
        lambda: _dense_chain("float64"),
        lambda: _classification("float64"),
        dict(optimizer=optimizers.Adam(amsgrad=True), loss="sparse_categorical_crossentropy"),
    ),
    "no bias, sgd with momentum": (
        lambda: _dense_chain(use_bias=False),
        _classification,
        dict(optimizer=optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy"),
    ),
    "functional, tanh, mse, rmsprop": (
        _functional_chain,
        lambda: (_classification()[0], np.random.default_rng(2).normal(size=(70, 2))),
        dict(optimizer="rmsprop", loss="mse", metrics=["mae"]),
    ),
    "conv, batch norm, pooling, dropout": (
        _conv_chain,
        _images,
        dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
    ),
}


def _train(case, planned: bool, monkeypatch):
    build, data, settings = CASES[case]
    with monkeypatch.context() as patch:
        if not planned:
            patch.setattr(Model, "_plan_step", lambda self: None)
        gradstep.utils.set_random_seed(7)
        model = build()
        options = dict(settings)
        optimizer = options.pop("optimizer")
        optimizer = optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
        model.compile(optimizer=optimizer.from_config(optimizer.get_config()), **options)
        x, y = data()
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    slots = [a for arrays in model.optimizer.variables.values() for a in arrays if a is not None]
    return model.get_weights() + slots, history.history


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_gives_the_general_steps_bits(case, monkeypatch):
    planned_arrays, planned_history = _train(case, True, monkeypatch)
    general_arrays, general_history = _train(case, False, monkeypatch)
    assert len(planned_arrays) == len(general_arrays)
    for ours, theirs in zip(planned_arrays, general_arrays, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    assert planned_history == general_history


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_chain_gets_a_plan(case, monkeypatch):
    plans = []
    original = Model._train_step

    def recorded(self, inputs, targets, sample_weights, check_finite=False, plan=None):
        plans.append(plan)
        return original(self, inputs, targets, sample_weights, check_finite, plan)

    monkeypatch.setattr(Model, "_train_step", recorded)
    _train(case, True, monkeypatch)
    # every step of the fit (3 epochs) went through a plan (DenseChain: its own module's tests)
    assert len(plans) == 3 * -(-len(CASES[case][1]()[0]) // 16)
    assert all(isinstance(plan, ChainPlan | DenseChain) for plan in plans)


def _plan(model, x, y):
    model.fit(x, y, epochs=1, verbose=0)  # compiles the losses
    return model._plan_step()


def _compiled(model, loss="sparse_categorical_crossentropy"):
    model.compile(optimizer="sgd", loss=loss)
    return model


def test_graphs_that_are_not_chains_keep_the_general_step():
    x, y = _classification()
    first = gradstep.Input(shape=(6,))
    hidden = layers.Dense(6, name="h")(first)
    added = layers.Add()([first, hidden])
    residual = models.Model(first, layers.Dense(3, activation="softmax", name="o")(added))
    shared_layer = layers.Dense(6, name="same")
    twice = shared_layer(shared_layer(first))
    shared = models.Model(first, layers.Dense(3, activation="softmax", name="o2")(twice))
    for model in (residual, shared):
        assert _plan(_compiled(model), x, y) is None


def test_penalties_the_graph_or_the_model_adds_keep_the_general_step():
    x, y = _classification()
    activity = _dense_chain(activity_regularizer=regularizers.L2(0.1))
    weights = _dense_chain(kernel_regularizer=regularizers.L2(0.1))
    for model in (activity, weights):
        assert _plan(_compiled(model), x, y) is None
    assert isinstance(_plan(_compiled(_dense_chain()), x, y), ChainPlan | DenseChain)


def test_an_overridden_compute_loss_keeps_the_general_step():
    class Distilled(models.Sequential):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return super().compute_loss(x, y, y_pred, sample_weight)

    x, y = _classification()
    model = Distilled(_dense_chain().layers)
    assert _plan(_compiled(model), x, y) is None


def test_a_frozen_layer_is_planned_without_its_weights():
    x, y = _classification()
    model = _dense_chain()
    model.get_layer("hidden").trainable = False
    before = model.get_layer("hidden").get_weights()
    plan = _plan(_compiled(model), x, y)
    assert isinstance(plan, ChainPlan)
    for ours, theirs in zip(before, model.get_layer("hidden").get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_compile_during_fit_is_followed(monkeypatch):
    """A callback that compiles again (a new optimizer) mid-fit: the plan is
    made again, and training matches the general step's."""

    class Recompile(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.compile(optimizer=optimizers.SGD(0.1), loss="mse")

    def run(planned):
        with monkeypatch.context() as patch:
            if not planned:
                patch.setattr(Model, "_plan_step", lambda self: None)
            gradstep.utils.set_random_seed(3)
            model = _functional_chain()
            model.compile(optimizer="adam", loss="mae")
            x = _classification()[0]
            y = np.random.default_rng(4).normal(size=(70, 2))
            history = model.fit(x, y, epochs=3, verbose=0, callbacks=[Recompile()])
            return model.get_weights(), history.history["loss"]

    (planned, planned_loss), (general, general_loss) = run(True), run(False)
    assert planned_loss == general_loss
    for ours, theirs in zip(planned, general, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))


def test_diagnostics_still_watch_a_planned_fit():
    x, y = _classification()
    gradstep.utils.set_random_seed(5)
    model = _compiled(_dense_chain())
    watcher = callbacks.Diagnostics()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[watcher])
    assert len(watcher.values("gradient_norm", "hidden")) == 2
    assert len(watcher.values("dead_fraction", "hidden")) == 2
