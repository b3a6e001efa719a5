"""gradstep's ``.keras`` archives, loaded by Keras 3 itself (JAX backend):
every layer case of tests/layer_cases/ (Sequential and functional models),
with its compile settings and the optimizer's state; and training resumed in
Keras from that state gives Keras's own numbers."""

import importlib
import os
import pkgutil
import warnings
import zipfile

import numpy as np
import pytest

import functional_models
import gradstep
import layer_cases
from layer_cases import build, complete, inputs_for, targets_for

# Keras picks its backend when first imported (by the requires marker's check too).
os.environ.setdefault("KERAS_BACKEND", "jax")

pytestmark = [
    pytest.mark.requires("keras", extra="interop"),
    pytest.mark.requires("h5py", extra="h5"),
]

FAMILIES = [info.name for info in pkgutil.iter_modules(layer_cases.__path__)]
CASES = [
    pytest.param(complete(case), id=f"{family}-{case['name']}")
    for family in FAMILIES
    for case in importlib.import_module(f"layer_cases.{family}").CASES
]


@pytest.fixture(scope="module")
def keras():
    return importlib.import_module("keras")


def _trained(case):
    """The case's gradstep model, compiled with Adam and trained one step."""
    model = build(case, gradstep)
    inputs = inputs_for(case, np)
    model.compile(optimizer="adam", loss=case["loss"])
    if case["train"]:
        targets = targets_for(case, model.predict(inputs, verbose=0).shape, np)
        model.fit(inputs, targets, batch_size=case["batch"], epochs=1, verbose=0)
    return model, inputs


@pytest.mark.parametrize("case", CASES)
def test_keras_loads_every_layer_with_gradstep_predictions(keras, tmp_path, case):
    model, inputs = _trained(case)
    path = tmp_path / "model.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's own warnings (e.g. about jit)
        loaded = keras.saving.load_model(path)
    expected = model.predict(inputs, verbose=0)
    np.testing.assert_allclose(np.asarray(loaded(inputs, training=False)), expected, atol=1e-6)
    assert loaded.optimizer.__class__.__name__ == "Adam"
    if case["train"] and model.optimizer.built:
        assert int(loaded.optimizer.iterations.numpy()) == 1


def test_the_archive_holds_keras_members_and_gradstep_s_own(tmp_path):
    model = gradstep.Sequential([gradstep.Input((4,)), gradstep.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert archive.namelist() == [
            "metadata.json",
            "config.json",
            "model.weights.h5",
            "gradstep.safetensors",
        ]


def _sequential_mlp(library, optimizer):
    model = library.Sequential(
        [
            library.Input((5,)),
            library.layers.Dense(4, activation="tanh"),
            library.layers.BatchNormalization(),
            library.layers.Dense(2),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 0.5}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("Ftrl", {"learning_rate": 0.05}),
    ("Lion", {"learning_rate": 0.001}),
    ("Lamb", {"learning_rate": 0.01}),
    ("Adafactor", {"learning_rate": 0.01}),
    ("Muon", {"learning_rate": 0.01}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "use_ema": True,
             "ema_overwrite_frequency": 3}),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2}),
    # PyTorch's momentum form with a constant rate is Keras's rule, the buffer scaled
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "momentum_form": "pytorch"}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True,
             "momentum_form": "pytorch"}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True,
                 "momentum_form": "pytorch"}),
    ("Adam", {"learning_rate": 0.01, "epsilon": 0.0, "epsilon_placement": "pytorch"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "options"), OPTIMIZERS, ids=lambda v: str(v))
def test_training_resumes_in_keras_with_the_optimizer_state(keras, tmp_path, name, options):
    """Train 3 steps in gradstep, save, load in Keras, train 2 more; the same 2
    steps in gradstep give the same weights (float32 round-off)."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(8, 5)).astype("float32")
    targets = rng.normal(size=(8, 2)).astype("float32")
    gradstep.utils.set_random_seed(0)
    model = _sequential_mlp(gradstep, getattr(gradstep.optimizers, name)(**options))
    model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.saving.load_model(path)
    updates = 2 // options.get("gradient_accumulation_steps", 1)  # 2 batches
    assert int(np.asarray(loaded.optimizer.iterations)) == updates
    model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    loaded.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(np.asarray(theirs), ours, rtol=1e-5, atol=1e-6)


def test_gradstep_only_options_leave_keras_an_uncompiled_model(keras, tmp_path):
    model = _sequential_mlp(gradstep, gradstep.optimizers.Adam(epsilon_placement="pytorch"))
    with pytest.warns(UserWarning, match="uncompiled for Keras: Keras has no"):
        model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert not loaded.compiled
    again = gradstep.models.load_model(tmp_path / "m.keras")
    assert again.optimizer.get_config()["epsilon_placement"] == "pytorch"


GRADSTEP_ONLY = {
    "PyTorch's epsilon placement": (
        gradstep.optimizers.Adagrad(epsilon_placement="pytorch"),
        "epsilon_placement",
    ),
    "PyTorch's momentum form under a schedule": (
        gradstep.optimizers.SGD(
            gradstep.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
            momentum=0.9,
            momentum_form="pytorch",
        ),
        "momentum_form.*under a learning-rate schedule",
    ),
    "a schedule Keras has not": (
        gradstep.optimizers.Adam(gradstep.optimizers.schedules.OneCycle(0.01, 100)),
        "the learning-rate schedule OneCycle",
    ),
    "GD": (gradstep.optimizers.GD(), "the optimizer GD"),
    "LBFGS": (gradstep.optimizers.LBFGS(), "the optimizer LBFGS"),
}


@pytest.mark.parametrize(("optimizer", "message"), GRADSTEP_ONLY.values(), ids=GRADSTEP_ONLY)
def test_settings_that_are_another_algorithm_in_keras_are_left_out(
    keras, tmp_path, optimizer, message
):
    model = _sequential_mlp(gradstep, optimizer)
    with pytest.warns(UserWarning, match=f"uncompiled for Keras: Keras has no.*{message}"):
        model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not keras.saving.load_model(tmp_path / "m.keras").compiled
    again = gradstep.models.load_model(tmp_path / "m.keras")
    assert again.get_compile_config()["optimizer"] == model.get_compile_config()["optimizer"]


def test_keras_reads_weights_h5_of_nested_layers(keras, tmp_path):
    """The HDF5 layout of layers within layers (an LSTM's cell) is Keras's for
    save_weights too."""
    case = complete(
        {"name": "bi", "layers": [("Bidirectional", {"layer": {"class_name": "LSTM",
         "config": {"units": 2}}})], "input_shape": (3, 2)}
    )  # fmt: skip
    ours, theirs = build(case, gradstep), build(case, keras)
    ours.save_weights(tmp_path / "w.weights.h5")
    theirs.load_weights(tmp_path / "w.weights.h5")
    inputs = inputs_for(case, np)
    np.testing.assert_allclose(
        np.asarray(theirs(inputs)), ours.predict(inputs, verbose=0), atol=1e-6
    )


def test_a_loss_of_your_own_leaves_keras_an_uncompiled_model(keras, tmp_path):
    def scaled_error(y_true, y_pred):
        return gradstep.ops.mean((y_true - y_pred) ** 2, axis=-1) * 2.0

    model = gradstep.Sequential([gradstep.Input((3,)), gradstep.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=scaled_error)
    with pytest.warns(UserWarning, match=r"functions of your own \(\['scaled_error'\]\)"):
        model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert not loaded.compiled
    inputs = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(np.asarray(loaded(inputs)), model.predict(inputs, verbose=0))
    again = gradstep.models.load_model(
        tmp_path / "m.keras", custom_objects={"scaled_error": scaled_error}
    )
    assert again.compiled


@pytest.mark.parametrize(
    "builder",
    [
        functional_models.encoder_decoder,
        functional_models.recurrent_states_as_features,
        functional_models.attention_scores_as_features,
    ],
    ids=lambda builder: builder.__name__,
)
def test_keras_loads_layers_called_with_several_outputs_or_initial_states(keras, tmp_path, builder):
    """return_state, initial_state (written as Keras's kwargs) and
    return_attention_scores in a functional model."""
    model = builder(gradstep)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, *t.shape[1:])).astype("float32") for t in model.inputs]
    inputs = arrays if len(arrays) > 1 else arrays[0]
    model.save(tmp_path / "model.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.saving.load_model(tmp_path / "model.keras")
    expected = model.predict(inputs, verbose=0)
    np.testing.assert_allclose(np.asarray(loaded(inputs, training=False)), expected, atol=1e-6)
