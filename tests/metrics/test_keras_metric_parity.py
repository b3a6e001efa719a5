"""Replay Keras 3's metric results (tests/fixtures/metrics.json, written by
tools/make_keras_metric_fixtures.py) through gradstep's metric classes: the
result after each of three batches, after ``reset_state``, the variables'
shapes and ``get_config``.

Keras computes in float32 from float32 inputs; gradstep in float64 from the
same decimal inputs. Counts (confusion matrices) are exact in both, so their
ratios agree to float32 round-off; the running means of errors agree to a few
float32 ulps of their size.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gradstep import losses, metrics

FIXTURE = json.loads((Path(__file__).parent.parent / "fixtures" / "metrics.json").read_text())
CASES = FIXTURE["cases"]


def _case_id(case) -> str:
    settings = ",".join(f"{k}={v}" for k, v in case["kwargs"].items())
    return f"{case['class']}({settings})-{case['kind']}-{case['weighted'] or 'unweighted'}"


def _make(case):
    kwargs = dict(case["kwargs"])
    if "fn" in kwargs:
        kwargs["fn"] = getattr(losses, kwargs["fn"])
    return getattr(metrics, case["class"])(**kwargs)


def _update(metric, batch):
    y_true, y_pred, weights = batch
    weights = None if weights is None else np.asarray(weights)
    if y_true is None:
        metric.update_state(np.asarray(y_pred), sample_weight=weights)
    else:
        metric.update_state(np.asarray(y_true), np.asarray(y_pred), sample_weight=weights)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_results_match_keras_after_each_batch(case):
    metric = _make(case)
    for batch, expected in zip(case["batches"], case["results"], strict=True):
        _update(metric, batch)
        np.testing.assert_allclose(metric.result(), expected, rtol=2e-5, atol=2e-6)
    metric.reset_state()
    np.testing.assert_allclose(metric.result(), case["after_reset"], atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_config_and_variables_match_keras(case):
    metric = _make(case)
    for batch in case["batches"]:
        _update(metric, batch)
    config = metric.get_config()
    config.pop("fn", None)
    expected = dict(case["config"])
    # Keras numbers a second default-named metric (precision_1); so does gradstep.
    assert re.fullmatch(rf"{re.escape(expected.pop('name'))}(_\d+)?", config.pop("name"))
    assert config == expected
    assert [list(v.shape) for v in metric.variables] == case["variable_shapes"]


# MeanMetricWrapper's config names its function: its round trip is in test_reduction.
CONFIGURABLE = [c for c in CASES if c["class"] != "MeanMetricWrapper"]


@pytest.mark.parametrize("case", CONFIGURABLE, ids=[_case_id(c) for c in CONFIGURABLE])
def test_from_config_gives_the_same_metric(case):
    metric = _make(case)
    clone = type(metric).from_config(metric.get_config())
    for batch in case["batches"]:
        _update(metric, batch)
        _update(clone, batch)
    np.testing.assert_array_equal(clone.result(), metric.result())
