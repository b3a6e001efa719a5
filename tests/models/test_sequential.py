import re

import numpy as np
import pytest

import gradstep
from gradstep import callbacks, layers, models, optimizers


def _data(n=64, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, np.minimum(y, classes - 1)


def _classifier(seed=0, **compile_kwargs):
    model = models.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(5,)),
            layers.Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        **{
            "optimizer": "adam",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
            **compile_kwargs,
        }
    )
    return model


def test_sequential_is_exported_at_top_level():
    assert gradstep.Sequential is models.Sequential


def test_fit_returns_history_with_per_epoch_lists():
    x, y = _data()
    history = _classifier().fit(x, y, epochs=3, verbose=0)
    assert list(history.history) == ["accuracy", "loss", "learning_rate"]
    assert all(len(values) == 3 for values in history.history.values())
    assert history.epoch == [0, 1, 2]


def test_training_lowers_the_loss():
    x, y = _data(n=200)
    history = _classifier(optimizer=optimizers.Adam(0.01)).fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_validation_split_and_validation_data_add_val_keys():
    x, y = _data()
    history = _classifier().fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert list(history.history) == [
        "accuracy",
        "loss",
        "val_accuracy",
        "val_loss",
        "learning_rate",
    ]
    history = _classifier().fit(x, y, epochs=2, validation_data=(x[:10], y[:10]), verbose=0)
    assert "val_loss" in history.history


def test_evaluate_returns_scalar_or_list_or_dict():
    x, y = _data()
    model = _classifier()
    model.fit(x, y, epochs=1, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert 0 <= accuracy <= 1 and loss > 0
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "accuracy"}
    plain = _classifier(metrics=None)
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_evaluate_loss_is_the_mean_over_all_samples():
    """Equal to float32 round-off, not to the bit: batches of 7 and of 50 are different
    BLAS call shapes, so a row's loss may differ in the last bits, by how much depending
    on the CPU's kernel (at most 1.2e-7 relative under four OpenBLAS kernels)."""
    x, y = _data(n=50)
    model = _classifier()
    batched = model.evaluate(x, y, batch_size=7, verbose=0)
    whole = model.evaluate(x, y, batch_size=50, verbose=0)
    np.testing.assert_allclose(batched, whole, rtol=1e-6)


def test_predict_shape_and_probabilities():
    x, _ = _data(n=70)
    probabilities = _classifier().predict(x, batch_size=32, verbose=0)
    assert probabilities.shape == (70, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_same_seed_same_weights_after_fit():
    x, y = _data()
    first, second = _classifier(seed=7), _classifier(seed=7)
    first.fit(x, y, epochs=2, verbose=0)
    second.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = _classifier(seed=8)
    assert not np.array_equal(other.get_weights()[0], _classifier(seed=7).get_weights()[0])


def test_set_random_seed_makes_unseeded_models_reproducible():
    gradstep.utils.set_random_seed(3)
    first = models.Sequential([layers.Dense(4, input_shape=(2,))]).get_weights()[0]
    gradstep.utils.set_random_seed(3)
    second = models.Sequential([layers.Dense(4, input_shape=(2,))]).get_weights()[0]
    np.testing.assert_array_equal(first, second)


def test_names_are_unique_per_process():
    model = models.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    first, second = (layer.name for layer in model.layers)
    assert first.startswith("dense") and second.startswith("dense_")
    assert first != second
    assert model.name.startswith("sequential")


def test_count_params_layers_and_weights():
    model = _classifier()
    assert model.count_params() == 5 * 16 + 16 + 16 * 3 + 3
    assert len(model.layers) == 2 and len(model.get_weights()) == 4
    new = [w + 1 for w in model.get_weights()]
    model.set_weights(new)
    np.testing.assert_array_equal(model.get_weights()[0], new[0])


def test_input_layer_then_dense_builds():
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    assert model.built and model.layers[0].kernel.shape == (4, 2)


def test_deferred_build_on_first_fit():
    model = models.Sequential([layers.Dense(8, activation="tanh"), layers.Dense(1)])
    assert not model.built
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert model.built and model.layers[0].kernel.shape == (3, 8)


def test_float64_data_trains_in_float64_when_built_from_data():
    model = models.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3))
    model.fit(x, x.sum(axis=1), epochs=1, verbose=0)
    assert model.layers[0].kernel.dtype == np.float64
    assert model.predict(x, verbose=0).dtype == np.float64


def test_explicit_float64_dtype():
    model = models.Sequential(
        [layers.Dense(2, input_shape=(3,), dtype="float64"), layers.Dense(1, dtype="float64")]
    )
    assert model.get_weights()[0].dtype == np.float64


def test_dropout_model_trains_and_predicts_deterministically():
    model = models.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ],
        seed=1,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_flatten_model_on_images():
    model = models.Sequential(
        [layers.Input(shape=(8, 8)), layers.Flatten(), layers.Dense(10, activation="softmax")],
        seed=0,
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((12, 8, 8)).astype(np.float32)
    model.fit(x, np.arange(12) % 10, epochs=1, verbose=0)
    assert model.layers[0].output_shape == (None, 64)


@pytest.mark.parametrize(
    "loss, last, y",
    [
        ("binary_crossentropy", "sigmoid", np.array([0, 1] * 8)),
        ("categorical_crossentropy", "softmax", np.eye(2)[[0, 1] * 8]),
        ("mse", None, np.linspace(0, 1, 16)),
    ],
)
def test_other_losses_train(loss, last, y):
    units = 2 if loss == "categorical_crossentropy" else 1
    model = models.Sequential(
        [
            layers.Dense(4, activation="tanh", input_shape=(3,)),
            layers.Dense(units, activation=last),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy" if last else "mae"])
    x = np.random.default_rng(0).normal(size=(16, 3))
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_accuracy_resolves_like_keras():
    from gradstep import losses, metrics

    assert (
        metrics.accuracy_for(losses.BinaryCrossentropy(), (8,), (8, 1)) is metrics.binary_accuracy
    )
    assert (
        metrics.accuracy_for(losses.SparseCategoricalCrossentropy(), (8,), (8, 3))
        is metrics.sparse_categorical_accuracy
    )
    assert (
        metrics.accuracy_for(losses.CategoricalCrossentropy(), (8, 3), (8, 3))
        is metrics.categorical_accuracy
    )


def test_sample_weight_and_class_weight_change_the_loss():
    x, y = _data()
    model = _classifier()
    plain = model.evaluate(x, y, verbose=0)[0]
    weighted = model.evaluate(x, y, verbose=0, sample_weight=np.where(y == 0, 2.0, 0.0))[0]
    assert plain != pytest.approx(weighted)
    history = _classifier().fit(x, y, epochs=1, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    assert np.isfinite(history.history["loss"][0])


def test_stop_training_from_a_callback():
    class StopAfterOne(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    x, y = _data()
    history = _classifier().fit(x, y, epochs=5, verbose=0, callbacks=[StopAfterOne()])
    assert history.epoch == [0]


def test_callback_hooks_are_called_in_order():
    calls = []

    class Recorder(callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                return lambda *args, **kwargs: calls.append(name)
            return super().__getattribute__(name)

    x, y = _data(n=40)
    _classifier().fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=[Recorder()])
    assert calls == [
        "on_train_begin",
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_epoch_end",
        "on_train_end",
    ]


def test_batch_hooks_reach_callbacks_that_define_them_by_any_name():
    """fit skips batch hooks no callback defines; one defined by Keras's older
    name, or on the instance, is still called, with the batch's logs."""
    calls = []

    class Older(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(("older", batch, "loss" in logs))

    instance = callbacks.Callback()
    instance.on_train_batch_begin = lambda batch, logs=None: calls.append(("instance", batch))
    x, y = _data(n=40)
    chosen = [callbacks.Callback(), Older(), instance]
    _classifier().fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=chosen)
    assert calls == [("instance", 0), ("older", 0, True), ("instance", 1), ("older", 1, True)]


def test_initial_epoch():
    x, y = _data()
    history = _classifier().fit(x, y, epochs=3, initial_epoch=1, verbose=0)
    assert history.epoch == [1, 2]


def test_shuffle_false_is_deterministic_regardless_of_seed():
    x, y = _data()
    first, second = _classifier(seed=1), _classifier(seed=2)
    second.set_weights(first.get_weights())
    first.fit(x, y, epochs=2, shuffle=False, verbose=0)
    second.fit(x, y, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])


def test_train_and_test_on_batch_return_what_keras_returns():
    """``[loss, *metrics]`` in ``metrics_names`` order, or a dict with ``return_dict``."""
    x, y = _data()
    model = _classifier()
    loss, accuracy = model.train_on_batch(x, y)
    assert model.metrics_names == ["loss", "accuracy"] and 0 <= accuracy <= 1
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"} and logs["loss"] < loss
    assert model.test_on_batch(x, y) == [
        model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)[key]
        for key in ("loss", "accuracy")
    ]


# The times vary from run to run; tests/test_callbacks.py fixes them with a fake clock.
TIMES = r"\d+s \d+(s|ms|us)/step"
PROGRESS = {1: "2/2 ━━━━━━━━━━━━━━━━━━━━ ", 2: "2/2 - "}


@pytest.mark.parametrize("verbose", [1, 2])
def test_fit_prints_each_epoch_and_its_metrics_on_one_line(verbose, capsys):
    """Captured output is no terminal, so ``verbose=1`` prints its finished bar, not redraws."""
    x, y = _data()
    history = _classifier().fit(x, y, epochs=2, verbose=verbose).history
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"]
    for epoch, line in enumerate(lines[1::2]):
        logs = callbacks.format_logs({k: history[k][epoch] for k in ("accuracy", "loss")})
        assert re.fullmatch(re.escape(PROGRESS[verbose]) + TIMES + " - " + re.escape(logs), line)


@pytest.mark.parametrize("verbose", [1, 2])
def test_evaluate_and_predict_print_one_line_each(verbose, capsys):
    x, y = _data()
    model = _classifier()
    loss, accuracy = model.evaluate(x, y, verbose=verbose)
    model.predict(x, verbose=verbose)
    evaluated, predicted = capsys.readouterr().out.splitlines()
    logs = callbacks.format_logs({"accuracy": accuracy, "loss": loss})
    assert re.fullmatch(re.escape(PROGRESS[verbose]) + TIMES + " - " + re.escape(logs), evaluated)
    assert re.fullmatch(re.escape(PROGRESS[verbose]) + TIMES, predicted)


def test_verbose_0_prints_nothing(capsys):
    x, y = _data()
    model = _classifier()
    model.fit(x, y, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda m, x, y: m.fit(x, y[:-1], verbose=0),
            ValueError,
            r"x and y must have the same number of samples, received x with 64 .* y with 63",
        ),
        (
            lambda m, x, y: m.fit(x[:, :4], y, verbose=0),
            ValueError,
            r"x has samples of shape \(4,\), but the model expects \(5,\)",
        ),
        (
            lambda m, x, y: m.fit(x, y + 5, verbose=0),
            ValueError,
            r"class label \d+, outside the range \[0, 3\)",
        ),
        (lambda m, x, y: m.fit(x, y - 1, verbose=0), ValueError, r"class label -1"),
        (lambda m, x, y: m.fit(x, y + 0.5, verbose=0), ValueError, "integer class labels"),
        (
            lambda m, x, y: m.fit(np.where(x > 1, np.nan, x), y, verbose=0),
            ValueError,
            "x must be finite, received nan",
        ),
        (lambda m, x, y: m.fit(x[:0], y[:0], verbose=0), ValueError, "x is empty"),
        (
            lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0),
            ValueError,
            "batch_size must be a positive integer, received 0",
        ),
        (
            lambda m, x, y: m.fit(x, y, epochs=1.5, verbose=0),
            ValueError,
            "epochs must be a positive integer, received 1.5",
        ),
        (
            lambda m, x, y: m.fit(x, y, validation_split=1.0, verbose=0),
            ValueError,
            r"validation_split must be a float in \[0, 1\)",
        ),
        (lambda m, x, y: m.fit(x, y, verbose=3), ValueError, "verbose must be"),
        (lambda m, x, y: m.fit(x.astype(str), y, verbose=0), TypeError, "x must hold numbers"),
    ],
)
def test_fit_rejects_bad_input_with_a_clear_message(call, error, message):
    x, y = _data()
    with pytest.raises(error, match=message):
        call(_classifier(), x, y)


def _count_label_checks(monkeypatch) -> list[int]:
    """Record how many labels each call of the sparse cross-entropy's label check sees."""
    from gradstep.losses import crossentropy

    sizes, check = [], crossentropy.check_sparse_labels

    def counted(labels, *args):
        sizes.append(np.size(labels))
        return check(labels, *args)

    monkeypatch.setattr(crossentropy, "check_sparse_labels", counted)
    return sizes


def test_fit_checks_the_labels_once_before_training_not_on_every_batch(monkeypatch):
    x, y = _data()
    sizes = _count_label_checks(monkeypatch)
    _classifier().fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert sizes == [len(y)]
    sizes.clear()
    _classifier().train_on_batch(x[:16], y[:16])
    assert sizes == [16]


@pytest.mark.parametrize("train", ["fit", "train_on_batch"])
@pytest.mark.parametrize(
    "bad_labels, message",
    [
        (lambda y: y + 5, r"y_true holds class label \d, outside the range \[0, 3\)"),
        (lambda y: y - 1, r"y_true holds class label -1, outside the range \[0, 3\)"),
        (lambda y: y + 0.5, r"y_true must hold integer class labels in \[0, 3\), received"),
    ],
)
def test_bad_labels_stop_training_before_any_weight_moves(train, bad_labels, message):
    x, y = _data()
    model = _classifier()
    before = model.get_weights()
    prefix = r"y does not fit the loss 'sparse_categorical_crossentropy' and the model's outputs "
    with pytest.raises(ValueError, match=prefix + r"of shape \(None, 3\): " + message):
        getattr(model, train)(x, bad_labels(y), **({"verbose": 0} if train == "fit" else {}))
    for weight, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(weight, original)
    assert model.optimizer.iterations == 0


def test_one_hot_targets_of_the_wrong_width():
    model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(5,))])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, _ = _data()
    with pytest.raises(ValueError, match=r"same shape .* y_true \(64, 4\) and y_pred \(64, 3\)"):
        model.fit(x, np.eye(4)[np.zeros(64, dtype=int)], verbose=0)


def test_fit_before_compile():
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(RuntimeError, match=r"You must call compile\(\) before fit\(\)"):
        model.fit(np.zeros((2, 2)), np.zeros(2))


def test_unknown_names_in_compile_suggest_the_closest():
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        model.compile(optimizer="adm", loss="mse")
    with pytest.raises(ValueError, match="Did you mean 'mse'"):
        model.compile(optimizer="sgd", loss="mes")


def test_summary_before_build_is_a_clear_error():
    with pytest.raises(ValueError, match="has not been built yet"):
        models.Sequential([layers.Dense(1)]).summary()


def test_seed_facts_baseline_network_is_improved_until_the_error_is_zero():
    """SEED_FACTS 2: a network predicting 9 for target 13 (error -4) is improved by
    changing its weights until the error is 0."""
    model = models.Sequential([layers.Dense(1, input_shape=(2,), use_bias=False)], seed=0)
    model.set_weights([np.array([[2.0], [1.0]])])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.01), loss="mse")
    x, y = np.array([[3.0, 3.0]]), np.array([[13.0]])
    assert model.predict(x, verbose=0)[0, 0] - 13 == -4
    model.fit(x, y, epochs=100, verbose=0)
    assert abs(model.predict(x, verbose=0)[0, 0] - 13) < 1e-4
