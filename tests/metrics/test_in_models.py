"""Metric objects in ``compile``: they train and log, with each epoch's value
over the whole epoch (state summed over batches, as Keras), in fit's logs and
History, in evaluate, and through a save and load."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, metrics, models

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype("float32")
Y = (X[:, :1] + 0.3 * RNG.normal(size=(40, 1)) > 0).astype("float32")


def _classifier(metric_list, **compile_kwargs):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="adam", loss="binary_crossentropy", metrics=metric_list, **compile_kwargs
    )
    return model


class BinaryTruePositives(metrics.Metric):
    """Keras's documented example of a subclass, written with NumPy."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.logical_and(np.asarray(y_true) > 0.5, np.asarray(y_pred) > 0.5)
        values = values.astype(self.dtype)
        if sample_weight is not None:
            values = values * np.broadcast_to(np.asarray(sample_weight)[:, None], values.shape)
        self.true_positives.assign(self.true_positives + np.sum(values))

    def result(self):
        return self.true_positives


def test_keras_style_metric_classes_train_and_log_every_epoch():
    model = _classifier(
        [
            metrics.BinaryAccuracy(),
            metrics.Precision(),
            metrics.Recall(thresholds=0.4),
            metrics.AUC(num_thresholds=50),
            metrics.TruePositives(),
            BinaryTruePositives(),
        ]
    )
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    names = model.metrics_names[1:]
    assert len(names) == 6 and "binary_accuracy" in names and "binary_true_positives" in names
    for name in names:
        assert len(history.history[name]) == 2
    auc = next(name for name in names if name.startswith("auc"))
    assert history.history[auc][-1] > 0.5


def test_an_epoch_value_is_the_value_over_the_whole_epoch_not_a_mean_of_batches():
    """Evaluate in batches of 7 must give the metric of all 40 samples at once."""
    model = _classifier([metrics.Precision(), metrics.AUC(), metrics.F1Score(threshold=0.5)])
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    logs = model.evaluate(X, Y, batch_size=7, verbose=0, return_dict=True)
    prediction = model.predict(X, verbose=0)
    for metric in (metrics.Precision(), metrics.AUC(), metrics.F1Score(threshold=0.5)):
        metric.update_state(Y, prediction)
        name = [key for key in logs if key.startswith(metric.name.rsplit("_", 1)[0])][0]
        np.testing.assert_allclose(logs[name], metric.result(), rtol=1e-6)


def test_metric_names_resolve_as_keras_metrics_get_does():
    model = _classifier(["auc", "precision", "Recall", "mse", "binary_crossentropy", metrics.AUC])
    logs = model.fit(X, Y, batch_size=8, epochs=1, verbose=0).history
    assert {"auc", "precision", "Recall", "mse", "binary_crossentropy"} <= set(logs)
    assert any(key.startswith("auc_") for key in logs)


def test_a_subclassed_metric_logs_in_fit_evaluate_and_history():
    model = _classifier([BinaryTruePositives()])
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X, Y))
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    prediction = model.predict(X, verbose=0)
    assert logs["binary_true_positives"] == float(np.sum((Y > 0.5) & (prediction > 0.5)))
    assert set(history.history) >= {"binary_true_positives", "val_binary_true_positives"}
    assert isinstance(history.history["binary_true_positives"][0], float)


def test_a_metric_with_several_thresholds_logs_an_array():
    model = _classifier([metrics.TruePositives(thresholds=[0.3, 0.7], name="true_positives")])
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert logs["true_positives"].shape == (2,)


def test_weighted_metrics_get_the_sample_weights():
    weights = np.where(Y[:, 0] > 0, 2.0, 0.0)
    model = _classifier(None, weighted_metrics=[metrics.Recall(name="recall")])
    logs = model.evaluate(X, Y, sample_weight=weights, verbose=0, return_dict=True)
    prediction = model.predict(X, verbose=0)
    expected = metrics.Recall()
    expected.update_state(Y, prediction, sample_weight=weights)
    assert logs["recall"] == pytest.approx(expected.result())


def test_metric_objects_survive_save_and_load(tmp_path):
    model = _classifier(
        [metrics.AUC(curve="PR", num_thresholds=20), metrics.Precision(thresholds=0.3)]
    )
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    before = model.evaluate(X, Y, verbose=0, return_dict=True)
    after = loaded.evaluate(X, Y, verbose=0, return_dict=True)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_allclose(after[key], before[key], rtol=1e-6)


def test_a_subclassed_metric_comes_back_through_custom_objects(tmp_path):
    class Counted(metrics.MeanAbsoluteError):
        pass

    model = _classifier([Counted(name="counted")])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="custom_objects"):
        models.load_model(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", custom_objects={"Counted": Counted})
    assert "counted" in loaded.evaluate(X, Y, verbose=0, return_dict=True)
