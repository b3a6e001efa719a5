import io
import sys

import pytest

from gradstep import callbacks


def test_history_records_each_epoch():
    class FakeModel:
        history = None

    history = callbacks.History()
    history.set_model(FakeModel())
    history.on_train_begin()
    history.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})
    history.on_epoch_end(1, {"loss": 0.5, "accuracy": 0.75})
    assert history.history == {"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]}
    assert history.epoch == [0, 1]
    assert history.model.history is history


def test_format_logs_like_keras():
    assert (
        callbacks.format_logs({"loss": 0.12345, "tiny": 0.0001})
        == "loss: 0.1235 - tiny: 1.0000e-04"
    )


class FakeClock:
    """Stands in for ``time.perf_counter``: it tells the time the test sets."""

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


class NotebookStream(io.StringIO):
    """Like a Jupyter cell's output: no tty, but it redraws a line on ``\\r``."""

    __module__ = "ipykernel.iostream"


def _run_epoch(logger, clock, epoch, seconds, steps=4):
    """One epoch of ``steps`` batches that takes ``seconds`` on ``clock``."""
    logger.on_epoch_begin(epoch)
    for step in range(steps):
        logger.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
    clock.now += seconds
    logger.on_epoch_end(epoch, {"loss": 1.0 / steps})


@pytest.mark.parametrize(
    "seconds, printed",
    [
        (12.0, "4/4 - 12s 3s/step - loss: 0.2500"),
        (0.8, "4/4 - 1s 200ms/step - loss: 0.2500"),
        (0.0002, "4/4 - 0s 50us/step - loss: 0.2500"),
        (0.0, "4/4 - 0s 0s/step - loss: 0.2500"),  # Keras's zero: 0s/step
    ],
)
def test_progbar_verbose_2_prints_the_time_and_the_time_per_step_in_its_unit(seconds, printed):
    stream, clock = io.StringIO(), FakeClock(now=100.0)
    logger = callbacks.ProgbarLogger(verbose=2, stream=stream, clock=clock)
    logger.set_params({"epochs": 3, "steps": 4})
    _run_epoch(logger, clock, 0, seconds)
    assert stream.getvalue() == f"Epoch 1/3\n{printed}\n"


def test_progbar_verbose_1_in_a_log_prints_the_finished_bar_once_per_epoch():
    """Not a terminal (a file, CI's log, captured output): no redraws, one line per epoch."""
    stream, clock = io.StringIO(), FakeClock()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream, clock=clock)
    logger.set_params({"epochs": 2, "steps": 4})
    _run_epoch(logger, clock, 0, 3.0)
    _run_epoch(logger, clock, 1, 0.008)
    assert stream.getvalue() == (
        "Epoch 1/2\n"
        "4/4 ━━━━━━━━━━━━━━━━━━━━ 3s 750ms/step - loss: 0.2500\n"
        "Epoch 2/2\n"
        "4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.2500\n"
    )


def test_progbar_line_of_an_epoch_stopped_early_shows_the_part_done():
    stream, clock = io.StringIO(), FakeClock()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream, clock=clock)
    logger.set_params({"epochs": 1, "steps": 4})
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(0, {"loss": 1.0})
    logger.on_train_batch_end(1, {"loss": 0.5})
    clock.now = 2.0
    logger.on_epoch_end(0, {"loss": 0.5})
    assert stream.getvalue().splitlines()[1] == (
        "2/4 ━━━━━━━━━━────────── 2s 1s/step - loss: 0.5000"
    )


@pytest.mark.requires("tqdm", extra="main")
@pytest.mark.parametrize("stream_type", [TerminalStream, NotebookStream])
def test_progbar_verbose_1_on_a_terminal_or_in_a_notebook_draws_a_bar(stream_type):
    stream, clock = stream_type(), FakeClock()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream, clock=clock)
    logger.set_params({"epochs": 1, "steps": 4})
    _run_epoch(logger, clock, 0, 3.0)
    epoch_line, *drawings = stream.getvalue().split("\r")
    assert epoch_line == "Epoch 1/1\n"
    assert drawings[0].startswith("0/4 ──────────────────── ")  # the empty bar, redrawn
    assert drawings[-1] == "4/4 ━━━━━━━━━━━━━━━━━━━━ 3s 750ms/step - loss: 0.2500\n"


def test_progbar_verbose_1_on_a_terminal_without_tqdm_prints_the_finished_bar(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm is the main extra's
    stream, clock = TerminalStream(), FakeClock()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream, clock=clock)
    logger.set_params({"epochs": 1, "steps": 4})
    _run_epoch(logger, clock, 0, 3.0)
    assert stream.getvalue() == (
        "Epoch 1/1\n4/4 ━━━━━━━━━━━━━━━━━━━━ 3s 750ms/step - loss: 0.2500\n"
    )


def test_progbar_prints_evaluate_and_predict_as_one_line_each():
    """Outside fit (no ``epochs``), the test and predict hooks draw their own bar."""
    stream, clock = io.StringIO(), FakeClock()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream, clock=clock)
    logger.set_params({"steps": 2})
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 1.0})
    logger.on_test_batch_end(1, {"loss": 0.5})
    clock.now = 0.01
    logger.on_test_end({"loss": 0.5})
    logger.on_predict_begin()
    logger.on_predict_batch_end(0, {})
    logger.on_predict_batch_end(1, {})
    clock.now = 0.014
    logger.on_predict_end()
    assert stream.getvalue() == (
        "2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - loss: 0.5000\n"
        "2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step\n"
    )


def test_progbar_is_silent_during_fit_validation():
    """In fit (``epochs`` set) the validation's test hooks print nothing, as in Keras."""
    stream = io.StringIO()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream, clock=FakeClock())
    logger.set_params({"epochs": 1, "steps": 2})
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 1.0})
    logger.on_test_end({"loss": 1.0})
    assert stream.getvalue() == ""


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match="callbacks must be gradstep.callbacks.Callback"):
        callbacks.CallbackList([object()])


def test_a_callback_added_after_a_hook_has_run_is_called_by_it_too():
    """The list keeps each hook's caller after its first call; the caller must
    still reach every callback in the list as it is at each call."""

    class Recorder(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_train_batch_begin(self, batch, logs=None):
            self.batches.append(batch)

    first, second = Recorder(), Recorder()
    callback_list = callbacks.CallbackList([first])
    callback_list.on_train_batch_begin(0)
    callback_list.append(second)
    callback_list.on_train_batch_begin(1)
    assert first.batches == [0, 1] and second.batches == [1]


def test_terminate_on_nan_stops_at_the_first_bad_batch():
    class FakeModel:
        stop_training = False

    stream = io.StringIO()
    callback = callbacks.TerminateOnNaN(stream=stream)
    callback.set_model(FakeModel())
    callback.on_epoch_begin(2)
    callback.on_train_batch_end(0, {"loss": 1.0})
    assert not callback.model.stop_training
    callback.on_train_batch_end(1, {"loss": float("inf")})
    assert callback.model.stop_training and callback.terminated_at == (2, 1)
    assert stream.getvalue() == "Batch 1: Invalid loss, terminating training\n"


# --- on real small training runs ----------------------------------------------------------

import csv  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gradstep import layers, models, optimizers  # noqa: E402

KERAS_CALLBACKS = json.loads(
    (Path(__file__).parent / "fixtures" / "keras_callbacks.json").read_text()
)
# Histories agree to float32 round-off, which differs between BLAS kernels (so between
# CPUs) and between gradstep and Keras. Nudging the initial weights by one ulp moves a
# history by at most 6e-7 (relative; tools/measure_roundoff.py), so 2e-5 holds on any
# CPU. Except in early_stopping_baseline: there SGD at rate 0.5 takes an unstable last
# step (the loss rises from 0.131 to 0.137) that amplifies the nudge to 2.1e-5, so that
# history gets 1e-4.
HISTORY_RTOL = {"early_stopping_baseline": 1e-4}
SCHEDULE_FUNCTIONS = {  # the same functions as tools/make_keras_callback_fixtures.py
    "halve_on_odd_epochs": lambda epoch, lr: lr * 0.5 if epoch % 2 else lr,
    "exp_decay_after_3": lambda epoch, lr: lr if epoch < 3 else lr * float(np.exp(-0.1)),
}


def _regression(seed=0, samples=60, features=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features)).astype(np.float32)
    y = (np.sin(x @ rng.normal(size=(features, 1))) + 0.1 * rng.normal(size=(samples, 1))).astype(
        np.float32
    )
    return x, y


def _regression_model(optimizer, seed=0, features=5):
    model = models.Sequential(
        [layers.Dense(8, activation="tanh", input_shape=(features,)), layers.Dense(1)], seed=seed
    )
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def _keras_case_model(case):
    first, *rest = case["layers"]
    model = models.Sequential(seed=0)
    model.add(
        layers.Dense(
            first["units"], activation=first["activation"], input_shape=(first["input_dim"],)
        )
    )
    for spec in rest:
        model.add(layers.Dense(spec["units"], activation=spec["activation"]))
    optimizer = getattr(optimizers, case["optimizer"]["name"])(**case["optimizer"]["config"])
    model.compile(optimizer=optimizer, loss=case["loss"], metrics=case["metrics"])
    model.set_weights([np.asarray(w, dtype=np.float32) for w in case["initial_weights"]])
    return model


def _keras_case_callback(case):
    config = dict(case["callback"]["config"])
    if case["callback"]["class_name"] == "LearningRateScheduler":
        config["schedule"] = SCHEDULE_FUNCTIONS[config["schedule"]]
    return getattr(callbacks, case["callback"]["class_name"])(**config)


@pytest.mark.parametrize("case", KERAS_CALLBACKS["cases"], ids=lambda case: case["name"])
def test_training_with_the_callback_matches_keras(case):
    """Same epochs run, same learning rates logged, same (restored) weights as Keras 3."""
    model = _keras_case_model(case)
    callback = _keras_case_callback(case)
    history = model.fit(
        np.asarray(case["x"], dtype=np.float32),
        np.asarray(case["y"], dtype=case["y_dtype"]),
        batch_size=case["batch_size"],
        epochs=case["epochs"],
        validation_split=case["validation_split"],
        shuffle=False,
        verbose=0,
        callbacks=[callback],
    )
    keys = case["history_keys"]
    assert list(history.history) == keys + ([] if "learning_rate" in keys else ["learning_rate"])
    for key, values in case["history"].items():
        rtol = HISTORY_RTOL.get(case["name"], 2e-5)
        np.testing.assert_allclose(history.history[key], values, rtol=rtol, atol=1e-7, err_msg=key)
    for ours, theirs in zip(model.get_weights(), case["final_weights"], strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs, dtype=np.float32), atol=2e-5)
    for attribute in ("stopped_epoch", "best_epoch"):
        if case[attribute] is not None:
            assert getattr(callback, attribute) == case[attribute]
    np.testing.assert_allclose(model.optimizer.learning_rate, case["final_learning_rate"], 1e-6)


def test_every_fit_records_the_learning_rate_of_each_epoch():
    """Keras 3 records 'learning_rate' only with LearningRateScheduler or
    ReduceLROnPlateau (whose values the Keras runs above match); gradstep in
    every fit: the rate at the end of each epoch, a schedule evaluated at the
    optimizer's iterations, last among the keys as in Keras."""
    x, y = _regression(samples=64)
    history = _regression_model(optimizers.SGD(0.05)).fit(x, y, epochs=3, verbose=0)
    assert list(history.history) == ["loss", "mae", "learning_rate"]
    assert history.history["learning_rate"] == [0.05, 0.05, 0.05]

    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    model = _regression_model(optimizers.Adam(schedule))
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)  # 4 steps an epoch
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025, 0.0125], 1e-15)
    assert history.history["learning_rate"][-1] == model.optimizer.learning_rate


def test_the_recorded_rate_follows_a_rate_set_during_training():
    x, y = _regression(samples=64)
    model = _regression_model(optimizers.SGD(0.05))
    halve = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: setattr(
            model.optimizer, "learning_rate", 0.05 / 2**epoch
        )
    )
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[halve])
    assert history.history["learning_rate"] == [0.05, 0.025, 0.0125]


def _early_stopping_epoch(values, patience):
    """Keras's rule, replayed on a recorded sequence: the epoch training stops at."""
    best, wait = None, 0
    for epoch, value in enumerate(values):
        wait += 1
        if best is None or value < best:
            best, wait = value, 0
        elif wait >= patience and epoch > 0:
            return epoch
    return None


def test_early_stopping_stops_when_patience_runs_out_and_restores_the_best_weights(capsys):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(64, 8)).astype(np.float32), rng.integers(0, 4, size=64)
    model = models.Sequential(
        [layers.Dense(32, activation="relu", input_shape=(8,)), layers.Dense(4, "softmax")],
        seed=1,
    )
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    snapshots = []
    keep = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: snapshots.append(model.get_weights())
    )
    stopper = callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = model.fit(x, y, validation_split=0.5, epochs=50, verbose=0, callbacks=[keep, stopper])
    val_loss = history.history["val_loss"]
    stop = _early_stopping_epoch(val_loss, patience=2)
    assert stop is not None and len(val_loss) == stop + 1 < 50
    best = int(np.argmin(val_loss))
    assert stopper.stopped_epoch == stop and stopper.best_epoch == best
    for restored, kept in zip(model.get_weights(), snapshots[best], strict=True):
        np.testing.assert_array_equal(restored, kept)
    assert capsys.readouterr().out == (
        f"Epoch {stop + 1}: early stopping\n"
        f"Restoring model weights from the end of the best epoch: {best + 1}.\n"
    )


def test_early_stopping_waits_for_start_from_epoch():
    x, y = _regression()
    # min_delta=10: no epoch ever improves on the first one it watches
    stopper = callbacks.EarlyStopping(monitor="loss", min_delta=10, patience=1, start_from_epoch=3)
    history = _regression_model("sgd").fit(x, y, epochs=10, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 5 and stopper.stopped_epoch == 4


def test_early_stopping_warns_when_the_monitored_value_is_missing():
    x, y = _regression()
    stopper = callbacks.EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*loss,mae"):
        history = _regression_model("sgd").fit(x, y, epochs=2, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 2


def test_reduce_lr_on_plateau_halves_the_rate_after_the_plateau(capsys):
    x, y = _regression()
    model = _regression_model(optimizers.SGD(learning_rate=0.1))
    # min_delta=10: after the first epoch, every epoch is a plateau
    reduce = callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=2, min_delta=10, cooldown=2, min_lr=0.02, verbose=1
    )
    history = model.fit(x, y, epochs=12, verbose=0, callbacks=[reduce])
    # Keras's counting: epoch 0 sets the best, epochs 1 and 2 wait, the rate is halved at
    # the end of epoch 2; epochs 3 and 4 count down the cooldown (the second also
    # waits), epoch 5 halves again; ... until min_lr. The log shows the rate each epoch used.
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02]
    )
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    assert (
        capsys.readouterr().out.split()
        == (
            "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05. "
            "Epoch 6: ReduceLROnPlateau reducing learning rate to 0.025. "
            "Epoch 9: ReduceLROnPlateau reducing learning rate to 0.02."
        ).split()
    )


def test_reduce_lr_on_plateau_refuses_a_factor_of_one_or_more():
    with pytest.raises(ValueError, match="factor >= 1.0. Received factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_reduce_lr_on_plateau_cannot_overwrite_a_schedule():
    """As in Keras: an optimizer built on a schedule has no settable rate."""
    from gradstep.optimizers import schedules

    x, y = _regression()
    schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    model = _regression_model(optimizers.SGD(learning_rate=schedule))
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", min_delta=10, patience=0)
    with pytest.raises(TypeError, match="schedule"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[reduce])


def test_learning_rate_scheduler_sets_the_rate_each_epoch(capsys):
    x, y = _regression()
    model = _regression_model(optimizers.SGD(learning_rate=0.1))
    seen = []
    spy = callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(model.optimizer.learning_rate)
    )
    scheduler = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1)
    history = model.fit(x, y, batch_size=30, epochs=3, verbose=0, callbacks=[scheduler, spy])
    assert seen == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 3])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert (
        "Epoch 2: LearningRateScheduler setting learning rate to 0.05." in capsys.readouterr().out
    )


def test_learning_rate_scheduler_wants_a_number():
    x, y = _regression()
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: "fast")
    with pytest.raises(ValueError, match="should be a float. Got: 'fast'"):
        _regression_model("sgd").fit(x, y, epochs=1, verbose=0, callbacks=[scheduler])


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan_stops_a_diverging_run_at_the_first_bad_batch(capsys):
    x, y = _regression()
    losses = []
    record = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(logs))
    stop = callbacks.TerminateOnNaN()
    model = _regression_model(optimizers.SGD(learning_rate=100.0))
    model.terminate_on_nan = False  # Keras's default: only the callback stops training
    history = model.fit(x, y, batch_size=6, epochs=5, verbose=0, callbacks=[record, stop])
    first_bad = next(i for i, logs in enumerate(losses) if not np.isfinite(logs["loss"]))
    assert len(losses) == first_bad + 1
    epoch, batch = divmod(first_bad, 10)
    assert stop.terminated_at == (epoch, batch)
    assert len(history.history["loss"]) == epoch + 1
    assert capsys.readouterr().out == f"Batch {batch}: Invalid loss, terminating training\n"


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan_raise_error_skips_the_other_callbacks_end():
    x, y = _regression()
    ends = []
    watch = callbacks.LambdaCallback(on_train_end=lambda logs: ends.append(logs))
    model = _regression_model(optimizers.SGD(learning_rate=100.0))
    model.terminate_on_nan = False
    stop = callbacks.TerminateOnNaN(raise_error=True)
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch \d+"):
        model.fit(x, y, batch_size=6, epochs=5, verbose=0, callbacks=[stop, watch])
    assert ends == []


def test_csv_logger_writes_one_row_per_epoch_and_appends(tmp_path):
    x, y = _regression()
    path = tmp_path / "training.csv"
    model = _regression_model("sgd")
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, append=True)])
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [row["epoch"] for row in rows] == ["0", "1", "0"]
    assert float(rows[1]["loss"]) == history.history["loss"][1]
    assert rows[0]["val_loss"] == "NA"


def test_csv_logger_separator(tmp_path):
    x, y = _regression()
    path = tmp_path / "training.tsv"
    _regression_model("sgd").fit(
        x, y, epochs=1, validation_split=0.2, verbose=0, callbacks=[callbacks.CSVLogger(path, "\t")]
    )
    assert path.read_text().splitlines()[0] == "epoch\tloss\tmae\tval_loss\tval_mae"


def test_lambda_callback_calls_each_hook_with_keras_arguments():
    x, y = _regression()
    calls = []
    spy = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch_end {batch}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
        on_predict_begin=lambda logs: calls.append("predict_begin"),
    )
    _regression_model("sgd").fit(
        x, y, batch_size=30, epochs=1, validation_split=0.5, verbose=0, callbacks=[spy]
    )
    assert calls == [
        "train_begin",
        "epoch_begin 0",
        "batch_end 0",
        "epoch_end 0 ['loss', 'mae', 'val_loss', 'val_mae']",
        "train_end",
    ]
    with pytest.raises(ValueError, match="no hook named 'on_epoch_ends'"):
        callbacks.LambdaCallback(on_epoch_ends=print)


def test_on_batch_end_is_keras_older_name_for_on_train_batch_end():
    class CountBatches(callbacks.Callback):
        count = 0

        def on_batch_end(self, batch, logs=None):
            self.count += 1

    x, y = _regression()
    counter = CountBatches()
    _regression_model("sgd").fit(x, y, batch_size=20, epochs=2, verbose=0, callbacks=[counter])
    assert counter.count == 6


@pytest.mark.parametrize(
    "monitor, direction",
    [
        ("val_loss", "min"),
        ("accuracy", "max"),
        ("val_sparse_categorical_accuracy", "max"),
        ("mae", "min"),
        ("val_mean_squared_error", "min"),
        ("auc", "max"),
    ],
)
def test_mode_auto_reads_the_direction_from_the_name(monitor, direction):
    watcher = callbacks.MonitorCallback(monitor=monitor)
    watcher._set_monitor_op()
    assert watcher._is_improvement(2.0, 1.0) == (direction == "max")


def test_mode_auto_refuses_a_name_it_cannot_read():
    watcher = callbacks.MonitorCallback(monitor="custom_score")
    with pytest.raises(ValueError, match="Pass mode='max'"):
        watcher._set_monitor_op()
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', received 'up'"):
        callbacks.EarlyStopping(mode="up")


# --- saving callbacks ---------------------------------------------------------------------


def _dropout_model(seed=7):
    model = models.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(5,)),
            layers.Dropout(0.3),
            layers.Dense(1),
        ],
        seed=seed,
    )
    model.compile(optimizers.Adam(0.01), "mse", ["mae"])
    return model


class _Interrupt(callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError(f"interrupted before epoch {epoch}")


def test_backup_and_restore_resumes_an_interrupted_fit_to_identical_weights(tmp_path):
    """Shuffling, dropout and Adam's moments all continue as if nothing happened."""
    x, y = _regression()
    uninterrupted = _dropout_model()
    expected = uninterrupted.fit(x, y, batch_size=16, epochs=6, verbose=0)

    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="interrupted before epoch 3"):
        _dropout_model().fit(
            x,
            y,
            batch_size=16,
            epochs=6,
            verbose=0,
            callbacks=[callbacks.BackupAndRestore(backup), _Interrupt(3)],
        )
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 3

    resumed_model = _dropout_model()
    epochs_run = []
    resumed = resumed_model.fit(
        x,
        y,
        batch_size=16,
        epochs=6,
        verbose=0,
        callbacks=[
            callbacks.BackupAndRestore(backup),
            callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs_run.append(epoch)),
        ],
    )
    assert epochs_run == [3, 4, 5]
    assert resumed.history["loss"] == expected.history["loss"][3:]
    for ours, theirs in zip(resumed_model.get_weights(), uninterrupted.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert resumed_model.optimizer.iterations == uninterrupted.optimizer.iterations
    assert not backup.exists()  # deleted once training finished


def test_backup_and_restore_falls_back_to_the_previous_backup(tmp_path):
    x, y = _regression()
    uninterrupted = _dropout_model()
    uninterrupted.fit(x, y, batch_size=16, epochs=5, verbose=0)
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        _dropout_model().fit(
            x,
            y,
            batch_size=16,
            epochs=5,
            verbose=0,
            callbacks=[callbacks.BackupAndRestore(backup, double_checkpoint=True), _Interrupt(3)],
        )
    (backup / "latest.weights.safetensors").write_bytes(b"not a model")  # a broken backup
    resumed_model = _dropout_model()
    resumed_model.fit(
        x,
        y,
        batch_size=16,
        epochs=5,
        verbose=0,
        callbacks=[callbacks.BackupAndRestore(backup, double_checkpoint=True)],
    )
    for ours, theirs in zip(resumed_model.get_weights(), uninterrupted.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_backup_and_restore_keeps_other_files_of_its_folder(tmp_path):
    x, y = _regression()
    (tmp_path / "notes.txt").write_text("mine")
    _regression_model("sgd").fit(
        x, y, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path, save_freq=2)]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_backup_and_restore_arguments():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore("backup", save_freq="batch")


def test_model_checkpoint_saves_the_best_epochs_only(tmp_path, capsys):
    from gradstep.models import load_model

    x, y = _regression()
    model = _regression_model(optimizers.Adam(0.05))
    predictions = []
    keep = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: predictions.append(model.predict(x, verbose=0))
    )
    checkpoint = callbacks.ModelCheckpoint(
        tmp_path / "ckpt-{epoch:02d}-{val_loss:.3f}.keras", save_best_only=True, verbose=1
    )
    history = model.fit(
        x, y, validation_split=0.3, epochs=12, verbose=0, callbacks=[keep, checkpoint]
    )
    val_loss = history.history["val_loss"]
    improved = [e for e, v in enumerate(val_loss) if v < min(val_loss[:e], default=np.inf)]
    assert len(improved) < len(val_loss)  # the run has epochs that do not improve
    expected_names = [f"ckpt-{e + 1:02d}-{val_loss[e]:.3f}.keras" for e in improved]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected_names
    best = load_model(tmp_path / expected_names[-1])
    np.testing.assert_array_equal(best.predict(x, verbose=0), predictions[improved[-1]])
    out = capsys.readouterr().out
    assert f"Epoch 1: val_loss improved from None to {val_loss[0]:.5f}, saving model to" in out
    assert "did not improve from" in out


def test_model_checkpoint_every_few_batches_and_weights_only(tmp_path):
    x, y = _regression()
    model = _regression_model("sgd")
    checkpoint = callbacks.ModelCheckpoint(
        tmp_path / "w-{epoch}-{batch}.weights.safetensors", save_weights_only=True, save_freq=3
    )
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[checkpoint])
    # 6 batches per epoch, a save every 3 batches (batch numbers from 1, as in Keras)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "w-1-3.weights.safetensors",
        "w-1-6.weights.safetensors",
        "w-2-3.weights.safetensors",
        "w-2-6.weights.safetensors",
    ]
    twin = _regression_model("sgd", seed=99)
    twin.load_weights(tmp_path / "w-2-6.weights.safetensors")
    for ours, theirs in zip(twin.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_model_checkpoint_wants_a_gradstep_file_name():
    with pytest.raises(ValueError, match=r"must end in \.keras, .*Received: filepath=best\.h5"):
        callbacks.ModelCheckpoint("best.h5")


def test_the_validation_inside_fit_calls_the_test_hooks_as_in_keras():
    """Keras's fit validates through evaluate with the same callbacks: each
    validated epoch runs on_test_begin, the test batches and on_test_end,
    before on_epoch_end; the progress bar stays silent for it."""
    x, y = _regression(samples=60)
    calls = []
    spy = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_test_begin=lambda logs: calls.append("test_begin"),
        on_test_batch_begin=lambda batch, logs: calls.append(f"test_batch_begin {batch}"),
        on_test_batch_end=lambda batch, logs: calls.append(f"test_batch_end {batch}"),
        on_test_end=lambda logs: calls.append(f"test_end {sorted(logs)}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch}"),
    )
    stream = io.StringIO()
    progress = callbacks.ProgbarLogger(verbose=2, stream=stream)
    _regression_model("sgd").fit(
        x,
        y,
        batch_size=20,
        epochs=2,
        validation_split=0.5,
        validation_freq=2,
        verbose=0,
        callbacks=[spy, progress],
    )
    assert calls == [
        "epoch_begin 0",
        "epoch_end 0",
        "epoch_begin 1",
        "test_begin",
        "test_batch_begin 0",
        "test_batch_end 0",
        "test_batch_begin 1",
        "test_batch_end 1",
        "test_end ['loss', 'mae']",
        "epoch_end 1",
    ]
    assert stream.getvalue().count("\n") == 4  # "Epoch i/2" and one line per epoch
