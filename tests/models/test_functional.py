"""The functional API as in Keras 3: ``Model(inputs, outputs)`` with several
inputs and outputs (lists or dicts), per-output losses and metrics, its
configuration, and the same numbers as the equivalent Sequential."""

import json

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, models

RNG = np.random.default_rng(0)


def _reference_sequential(seed):
    return models.Sequential(
        [
            layers.Dense(64, activation="relu", input_shape=(16,)),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ],
        seed=seed,
    )


def _reference_functional(seed):
    inputs = keras.Input(shape=(16,))
    hidden = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(layers.Dropout(0.2)(hidden))
    return keras.Model(inputs, outputs, seed=seed)


def test_a_functional_chain_trains_to_the_sequential_weights_bit_for_bit():
    """Same seed, same layers: the same initial weights, dropout masks, batch
    order, fused softmax + cross-entropy, and so the same bits after training."""
    x = RNG.normal(size=(96, 16)).astype(np.float32)
    y = RNG.integers(0, 10, size=96)
    runs = []
    for build in (_reference_sequential, _reference_functional):
        model = build(seed=7)
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25)
        runs.append((model.get_weights(), history.history, model.predict(x, verbose=0)))
    (weights_a, history_a, predict_a), (weights_b, history_b, predict_b) = runs
    for a, b in zip(weights_a, weights_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert history_a == history_b
    np.testing.assert_array_equal(predict_a, predict_b)


def test_the_reference_model_as_a_functional_graph_trains_to_the_same_bits_on_digits():
    """SEED_FACTS 5's model, written with the functional API: the same weights
    after training from the same seed, and the same test accuracy."""
    from gradstep import datasets

    (x, y), (x_test, y_test) = datasets.load_digits()
    sequential = models.Sequential(seed=0)
    sequential.add(layers.Dense(512, activation="relu", input_shape=(64,)))
    sequential.add(layers.Dense(10, activation="softmax"))
    pixels = keras.Input(shape=(64,))
    hidden = layers.Dense(512, activation="relu")(pixels)
    functional = keras.Model(pixels, layers.Dense(10, activation="softmax")(hidden), seed=0)
    results = []
    for model in (sequential, functional):
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        model.fit(x, y, batch_size=32, epochs=3, verbose=0)
        results.append((model.get_weights(), model.evaluate(x_test, y_test, verbose=0)))
    for a, b in zip(results[0][0], results[1][0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]


def _two_headed(seed=0):
    features = keras.Input(shape=(5,), name="features")
    extra = keras.Input(shape=(2,), name="extra")
    trunk = layers.Dense(8, activation="relu", name="trunk")(features)
    label = layers.Dense(3, activation="softmax", name="label")(trunk)
    score = layers.Dense(1, name="score")(layers.Concatenate()([trunk, extra]))
    return keras.Model(
        {"features": features, "extra": extra}, {"label": label, "score": score}, seed=seed
    )


def _two_headed_data(count=40):
    x = {"features": RNG.normal(size=(count, 5)), "extra": RNG.normal(size=(count, 2))}
    y = {"label": RNG.integers(0, 3, size=count), "score": RNG.normal(size=(count, 1))}
    return x, y


def test_dicts_of_inputs_and_outputs_name_everything():
    model = _two_headed()
    model.compile(
        optimizer="adam",
        loss={"label": "sparse_categorical_crossentropy", "score": "mse"},
        loss_weights={"score": 0.5, "label": 1.0},
        metrics={"label": ["accuracy"], "score": ["mae"]},
    )
    x, y = _two_headed_data()
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y))
    assert sorted(history.history) == sorted(
        [
            "label_accuracy",
            "label_loss",
            "loss",
            "score_loss",
            "score_mae",
            "learning_rate",
            *(
                f"val_{k}"
                for k in ("label_accuracy", "label_loss", "loss", "score_loss", "score_mae")
            ),
        ]
    )
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["label_loss"] + 0.5 * logs["score_loss"], rel=1e-6)
    assert model.metrics_names == [
        "loss",
        "label_loss",
        "score_loss",
        "label_accuracy",
        "score_mae",
    ]
    assert model.evaluate(x, y, verbose=0) == [logs[name] for name in model.metrics_names]
    predicted = model.predict(x, verbose=0)
    assert sorted(predicted) == ["label", "score"] and predicted["score"].shape == (40, 1)
    lists = model.predict([x["features"], x["extra"]], verbose=0)
    np.testing.assert_array_equal(lists["label"], predicted["label"])


def test_one_loss_for_every_output_and_an_output_without_a_loss():
    model = _two_headed()
    model.compile(optimizer="sgd", loss="mse")
    x, y = _two_headed_data()
    y["label"] = np.eye(3)[y["label"]]
    logs = model.fit(x, y, verbose=0).history
    assert {"label_loss", "score_loss"} <= set(logs)
    model.compile(optimizer="sgd", loss={"score": "mse"})  # the label head is not trained
    head = model.get_layer("label").get_weights()
    model.fit(x, {"score": y["score"]}, verbose=0)
    for before, after in zip(head, model.get_layer("label").get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    "compile_arguments, message",
    [
        ({"loss": {"labels": "mse"}}, r"loss names output 'labels', which the model does not have"),
        (
            {"loss": ["mse"]},
            r"loss must have one entry per model output \(2: \['label', 'score'\]\)",
        ),
        ({"loss": "mse", "loss_weights": {"scores": 1.0}}, "loss_weights names output 'scores'"),
        ({"loss": "mse", "metrics": {"lab": ["mae"]}}, "metrics names output 'lab'"),
        ({"loss": "mse", "loss_weights": [1.0, "a"]}, "loss_weights entries must be numbers"),
    ],
)
def test_per_output_settings_for_an_output_that_does_not_exist(compile_arguments, message):
    with pytest.raises(ValueError, match=message):
        _two_headed().compile(optimizer="sgd", **compile_arguments)


@pytest.mark.parametrize(
    "x, message",
    [
        (
            {"features": np.ones((4, 5))},
            r"x must have one array per model input, keyed by \['features', 'extra'\]",
        ),
        (
            {"features": np.ones((4, 5)), "extras": np.ones((4, 2))},
            r"no input named 'extras'",
        ),
        ([np.ones((4, 5))], r"x must hold one array per model input \(2: .*received 1 arrays"),
        (np.ones((4, 5)), r"x must hold one array per model input .* received a single ndarray"),
        (
            [np.ones((4, 5)), np.ones((4, 3))],
            r"x\['extra'\] has samples of shape \(3,\), but the model expects \(2,\)",
        ),
        (
            [np.ones((4, 5)), np.ones((3, 2))],
            r"x\['features'\] and x\['extra'\] must have the same number of samples",
        ),
    ],
)
def test_arrays_that_do_not_match_the_inputs_are_refused(x, message):
    with pytest.raises(ValueError, match=message):
        _two_headed().predict(x, verbose=0)


def test_targets_that_do_not_match_the_outputs_are_refused():
    model = _two_headed()
    model.compile(optimizer="sgd", loss="mse")
    x, y = _two_headed_data(4)
    with pytest.raises(ValueError, match=r"y must have one array per model output, keyed by"):
        model.fit(x, {"label": y["label"]}, verbose=0)
    with pytest.raises(ValueError, match=r"y\['score'\] must hold one target of shape \(1,\)"):
        model.fit(x, {"label": np.ones((4, 3)), "score": np.ones((4, 2))}, verbose=0)


def test_config_round_trips_in_keras_form():
    model = _two_headed(seed=3)
    config = model.get_config()
    assert set(config) == {"name", "trainable", "layers", "input_layers", "output_layers"}
    trunk = next(entry for entry in config["layers"] if entry["name"] == "trunk")
    (node,) = trunk["inbound_nodes"]
    assert node["args"][0]["config"]["keras_history"] == ["features", 0, 0]
    assert config["output_layers"] == {"label": ["label", 0, 0], "score": ["score", 0, 0]}
    again = models.Functional.from_config(json.loads(json.dumps(config)), seed=3)
    assert again.get_config() == config
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the same seed draws the same weights


def _layer_entry(name, inputs, class_name="Dense", config=None):
    def tensor(reference):
        return {"class_name": "__keras_tensor__", "config": {"keras_history": reference}}

    args = [[tensor(r) for r in inputs]] if len(inputs) > 1 else [tensor(inputs[0])]
    return {
        "class_name": class_name,
        "name": name,
        "config": {"name": name, **({"units": 2} if config is None else config)},
        "inbound_nodes": [{"args": args, "kwargs": {}}],
    }


def _graph_config(*entries, outputs=("out", 0, 0)):
    source = {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "shape": [3]}}
    return {
        "name": "broken",
        "layers": [source, *entries],
        "input_layers": [["x", 0, 0]],
        "output_layers": [list(outputs)],
    }


BAD_CONFIGS = {
    "a node naming a layer that does not exist": (
        _graph_config(_layer_entry("out", [["ghost", 0, 0]])),
        r"refers to layer 'ghost', which the configuration does not define",
    ),
    "a cycle": (
        _graph_config(
            _layer_entry("first", [["second", 0, 0]]),
            _layer_entry("second", [["first", 0, 0]]),
            _layer_entry("out", [["second", 0, 0]]),
        ),
        r"the graph has a loop, or a node whose inputs nothing produces; these layers' calls "
        r"cannot be made: \['first', 'second', 'out'\]",
    ),
    "a dangling reference to a call never made": (
        _graph_config(_layer_entry("out", [["x", 0, 0]]), outputs=("out", 3, 0)),
        "output_layers refers to call 3 of layer 'out', which the configuration never makes",
    ),
    "duplicate names": (
        _graph_config(_layer_entry("out", [["x", 0, 0]]), _layer_entry("out", [["x", 0, 0]])),
        r"the name 'out' is used by two layers",
    ),
    "a shape mismatch": (
        _graph_config(
            _layer_entry("wide", [["x", 0, 0]], config={"units": 4}),
            _layer_entry("out", [["x", 0, 0], ["wide", 0, 0]], class_name="Add", config={}),
        ),
        r"Inputs of layer 'out' must have the same shape .* received shapes "
        r"\[\(None, 3\), \(None, 4\)\]",
    ),
    "an unknown layer class": (
        _graph_config(_layer_entry("out", [["x", 0, 0]], class_name="Popen")),
        "Unknown layer class 'Popen'",
    ),
    "a malformed reference": (
        _graph_config(_layer_entry("out", [["x", "0", 0]])),
        r"an input must be a __keras_tensor__ with keras_history \[layer name, node index",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_a_bad_graph_config_is_refused_naming_the_problem(case):
    config, message = BAD_CONFIGS[case]
    with pytest.raises(ValueError, match=message):
        models.Functional.from_config(config)


def test_save_and_load_a_graph_and_resume_to_the_bit(tmp_path):
    x, y = _two_headed_data(48)

    def build():
        features = keras.Input(shape=(5,), name="features")
        extra = keras.Input(shape=(2,), name="extra")
        shared = layers.Dense(4, activation="tanh", name="shared")
        left = shared(layers.Dense(4, name="widen")(features))
        right = shared(layers.Dense(4, name="project")(extra))
        merged = layers.Dropout(0.3, seed=5, name="drop")(layers.Add()([left, right]))
        label = layers.Dense(3, activation="softmax", name="label")(merged)
        score = layers.Dense(1, name="score")(layers.Concatenate()([merged, extra]))
        model = keras.Model([features, extra], [label, score], seed=11)
        model.compile(
            optimizer="adam",
            loss=["sparse_categorical_crossentropy", "mse"],
            loss_weights=[1.0, 0.3],
            metrics=[["accuracy"], ["mae"]],
        )
        return model

    arrays_x, arrays_y = [x["features"], x["extra"]], [y["label"], y["score"]]
    straight = build()
    straight.fit(arrays_x, arrays_y, epochs=4, batch_size=8, verbose=0)
    interrupted = build()
    interrupted.fit(arrays_x, arrays_y, epochs=2, batch_size=8, verbose=0)
    interrupted.save(tmp_path / "graph.keras")
    resumed = models.load_model(tmp_path / "graph.keras")
    assert resumed.get_config() == interrupted.get_config()
    assert resumed.get_compile_config() == interrupted.get_compile_config()
    resumed.fit(arrays_x, arrays_y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations


def test_a_model_is_a_layer_of_another():
    encoder = models.Sequential([layers.Dense(3, activation="tanh", input_shape=(4,))], name="enc")
    inputs = keras.Input(shape=(4,))
    outputs = layers.Dense(1)(encoder(inputs))
    model = keras.Model(inputs, outputs, seed=0)
    assert encoder in model.layers and model.count_params() == 15 + 4
    encoder.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    frozen = encoder.get_weights()
    model.fit(RNG.normal(size=(16, 4)), RNG.normal(size=(16, 1)), verbose=0)
    for before, after in zip(frozen, encoder.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert [path for path, _ in model.named_weights(trainable_only=True)] == [
        f"{model.layers[-1].name}/kernel",
        f"{model.layers[-1].name}/bias",
    ]


def test_calling_a_model_on_arrays_gives_its_outputs():
    model = _two_headed()
    x, _ = _two_headed_data(3)
    outputs = model(x)
    np.testing.assert_array_equal(outputs["label"], model.predict(x, verbose=0)["label"])


@pytest.mark.parametrize(
    "loss, targets, wrong",
    [
        ("mse", np.ones((8, 5, 1)), np.ones((8, 5, 2))),  # one target per step
        (  # one label per step
            "sparse_categorical_crossentropy",
            np.zeros((8, 5), "int64"),
            np.zeros((8, 4), "int64"),
        ),
    ],
)
def test_targets_for_an_output_of_unknown_length(loss, targets, wrong):
    """Input(shape=(None,)) gives outputs of shape (None, None, k): the
    targets' steps fill the unknown size when they are checked (keras.io's
    masking guide fits such a model); targets that do not fit still fail."""
    tokens = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(10, 4, mask_zero=True)(tokens)
    classes, activation = (1, None) if loss == "mse" else (3, "softmax")
    model = keras.Model(tokens, layers.Dense(classes, activation=activation)(x))
    assert model.outputs[0].shape[1] is None
    model.compile(optimizer="adam", loss=loss)
    x = np.random.default_rng(0).integers(0, 10, size=(8, 5))
    history = model.fit(x, targets, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    with pytest.raises(ValueError, match="y|y_true"):
        model.fit(x, wrong, epochs=1, verbose=0)
