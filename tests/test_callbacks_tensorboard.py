"""callbacks.TensorBoard writes Keras's tags and steps as event files, read
back here with TensorBoard's own reader."""

import numpy as np
import pytest

from gradstep import callbacks, layers, models

pytestmark = [
    pytest.mark.requires("tensorboardX", extra="tensorboard"),
    pytest.mark.requires("tensorboard", extra="test"),
]


def _events(directory):
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(
        str(directory), size_guidance={"scalars": 0, "histograms": 0}
    )
    reader.Reload()
    scalars = {
        tag: [(event.step, event.value) for event in reader.Scalars(tag)]
        for tag in reader.Tags()["scalars"]
    }
    histograms = {
        tag: [(event.step, event.histogram_value) for event in reader.Histograms(tag)]
        for tag in reader.Tags()["histograms"]
    }
    return scalars, histograms


def _fit(log_dir, epochs=3, **tensorboard_arguments):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    model = models.Sequential(
        [layers.Dense(2, name="hidden", input_shape=(3,)), layers.Dense(1, name="out")], seed=0
    )
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    weights_seen = []
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=epochs,
        validation_split=0.25,
        verbose=0,
        callbacks=[
            callbacks.TensorBoard(log_dir, **tensorboard_arguments),
            callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: weights_seen.append(model.get_weights())
            ),
        ],
    )
    return history.history, weights_seen


def test_epoch_scalars_and_learning_rate_go_to_train_and_validation(tmp_path):
    history, _ = _fit(tmp_path)
    train, train_histograms = _events(tmp_path / "train")
    validation, _ = _events(tmp_path / "validation")
    assert sorted(train) == ["epoch_learning_rate", "epoch_loss", "epoch_mae"]
    assert train_histograms == {}
    for name in ("loss", "mae"):
        assert [step for step, _ in train[f"epoch_{name}"]] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], history[name], 1e-6)
        np.testing.assert_allclose(
            [v for _, v in validation[f"epoch_{name}"]], history[f"val_{name}"], 1e-6
        )
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.01] * 3)
    # After each validation, Keras's "vs iterations" scalars: 2 batches per epoch.
    assert [s for s, _ in validation["evaluation_loss_vs_iterations"]] == [2, 4, 6]


def test_batch_scalars_every_update_freq_batches(tmp_path):
    _fit(tmp_path, update_freq=2)
    train, _ = _events(tmp_path / "train")
    assert [step for step, _ in train["batch_loss"]] == [2, 4, 6]
    _fit(tmp_path / "every", epochs=1, update_freq="batch")
    every, _ = _events(tmp_path / "every" / "train")
    assert [step for step, _ in every["batch_mae"]] == [1, 2]


def test_weight_histograms_every_histogram_freq_epochs(tmp_path):
    _, weights_seen = _fit(tmp_path, histogram_freq=2)
    _, histograms = _events(tmp_path / "train")
    assert sorted(histograms) == [
        "hidden/bias/histogram",
        "hidden/kernel/histogram",
        "out/bias/histogram",
        "out/kernel/histogram",
    ]
    kernel = histograms["hidden/kernel/histogram"]
    assert [step for step, _ in kernel] == [0, 2]
    for (_, histogram), weights in zip(kernel, weights_seen[::2], strict=True):
        assert histogram.num == 6
        assert histogram.min == pytest.approx(weights[0].min())
        assert histogram.max == pytest.approx(weights[0].max())
        assert histogram.sum == pytest.approx(weights[0].sum())


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"profile_batch": 2}, "profile_batch must be 0 \\(gradstep has no profiler"),
        ({"embeddings_freq": 1}, "embeddings_freq must be 0"),
        ({"write_images": True}, "write_images must be False"),
        ({"update_freq": "sometimes"}, "update_freq must be 'epoch', 'batch' or a positive int"),
        ({"histogram_freq": -1}, "histogram_freq"),
    ],
)
def test_what_cannot_be_honoured_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        callbacks.TensorBoard("logs", **arguments)


def test_keras_arguments_that_change_nothing_are_accepted(tmp_path):
    board = callbacks.TensorBoard(
        tmp_path, write_graph=True, embeddings_metadata={"embedding": "meta.tsv"}
    )
    assert board.write_graph and board.update_freq == "epoch"
