"""The Metric base class and its Variable, as Keras 3 defines them."""

import numpy as np
import pytest

from gradstep import metrics


class CountAbove(metrics.Metric):
    def __init__(self, level=0.5, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.level = level
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")
        self.seen = self.add_variable(shape=(2,), initializer="ones", name="seen", dtype="int32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(np.sum(np.asarray(y_pred) > self.level))
        self.seen.assign(self.seen + 1)

    def result(self):
        return self.count

    def get_config(self):
        return {**super().get_config(), "level": self.level}


def test_a_subclass_keeps_state_and_resets_it_to_zero():
    metric = CountAbove()
    assert metric.name == "count_above" or metric.name.startswith("count_above_")
    assert metric.dtype == "float32"
    assert [v.name for v in metric.variables] == ["count", "seen"]
    assert metric.variables[0].dtype == "float32" and metric.variables[1].dtype == "int32"
    assert float(metric(None, np.array([0.2, 0.7, 0.9]))) == 2.0
    metric.update_state(None, np.array([0.6]))
    assert float(metric.result()) == 3.0
    np.testing.assert_array_equal(metric.seen.numpy(), [3, 3])
    metric.reset_state()
    assert float(metric.result()) == 0.0
    np.testing.assert_array_equal(metric.seen.numpy(), [0, 0])


def test_config_round_trip_and_default_names_numbered_as_keras():
    first, second = metrics.Precision(), metrics.Precision()
    base = first.name
    assert second.name.startswith("precision_") and base.startswith("precision")
    clone = CountAbove.from_config(CountAbove(level=0.2, name="c").get_config())
    assert (clone.name, clone.level) == ("c", 0.2)


def test_variables_take_part_in_arithmetic_and_numpy():
    variable = metrics.Mean().total
    variable.assign(2.0)
    assert variable + 1 == 3.0 and np.sqrt(variable * 8) == 4.0 and float(variable) == 2.0
    with pytest.raises(ValueError, match="cannot assign"):
        metrics.Precision(thresholds=[0.2, 0.4]).true_positives.assign(np.zeros(3))


def test_forgetting_super_init_is_named():
    class Broken(metrics.Metric):
        def __init__(self):
            self.total = self.add_variable((), "zeros")

    with pytest.raises(RuntimeError, match="super"):
        Broken()


def test_nested_metrics_variables_are_listed():
    class Pair(metrics.Metric):
        def __init__(self):
            super().__init__(name="pair")
            self.inner = metrics.Mean()

    assert len(Pair().variables) == 2


def test_mean_metric_wrapper_config_names_its_function():
    wrapper = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="acc", threshold=0.3)
    config = wrapper.get_config()
    assert config == {"name": "acc", "dtype": "float32", "fn": "binary_accuracy", "threshold": 0.3}
    clone = metrics.MeanMetricWrapper.from_config(config)
    assert clone.fn is metrics.binary_accuracy and clone.fn_kwargs == {"threshold": 0.3}


def test_get_resolves_names_classes_configs_and_functions():
    assert isinstance(metrics.get("auc"), metrics.AUC)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert metrics.get("mse").name == "mse"
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)
    restored = metrics.get(metrics.serialize(metrics.AUC(curve="PR", name="pr")))
    assert (restored.curve, restored.name) == ("PR", "pr")
    assert metrics.get(metrics.top_k_categorical_accuracy).name == "top_k_categorical_accuracy"
    with pytest.raises(ValueError, match="Unknown metric 'aucc'"):
        metrics.get("aucc")
