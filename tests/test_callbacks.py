import io

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


def test_progbar_verbose_2_prints_one_line():
    stream = io.StringIO()
    logger = callbacks.ProgbarLogger(verbose=2, stream=stream)
    logger.set_params({"epochs": 3, "steps": 2})
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(0, {"loss": 1.0})
    logger.on_train_batch_end(1, {"loss": 0.5})
    logger.on_epoch_end(0, {"loss": 0.5})
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Epoch 1/3"
    assert lines[1].startswith("2/2 - 0s ") and lines[1].endswith("/step - loss: 0.5000")


def test_progbar_verbose_1_draws_bar_with_eta():
    pytest.importorskip("tqdm", reason="the bar is drawn by tqdm, part of the main extra")
    stream = io.StringIO()
    logger = callbacks.ProgbarLogger(verbose=1, stream=stream)
    logger.set_params({"epochs": 1, "steps": 4})
    logger.on_epoch_begin(0)
    for step in range(4):
        logger.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
    logger.on_epoch_end(0, {"loss": 0.25})
    final = stream.getvalue().split("\r")[-1]
    assert final.startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ 0s ")
    assert "/step - loss: 0.2500" in final


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match="callbacks must be gradstep.callbacks.Callback"):
        callbacks.CallbackList([object()])


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
