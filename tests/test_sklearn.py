"""gradstep's scikit-learn estimators against scikit-learn's own contract."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from gradstep.sklearn import GradstepClassifier, GradstepRegressor


@pytest.mark.parametrize(
    "estimator",
    [
        GradstepClassifier(hidden_layer_sizes=(16,), epochs=40, random_state=0),
        GradstepRegressor(hidden_layer_sizes=(16,), epochs=40, random_state=0),
    ],
    ids=["classifier", "regressor"],
)
def test_passes_check_estimator(estimator):
    check_estimator(estimator, on_skip=None)


def _iris():
    return load_iris(return_X_y=True)


def test_classifier_attributes_and_probabilities():
    x, y = _iris()
    model = GradstepClassifier(
        hidden_layer_sizes=(16, 8), epochs=150, learning_rate=0.01, random_state=0
    ).fit(x, y)
    assert list(model.classes_) == [0, 1, 2] and model.n_features_in_ == 4
    assert len(model.loss_curve_) == 150 == model.n_iter_
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert list(model.history_) == ["loss", "learning_rate"]
    assert model.history_["learning_rate"] == [0.01] * 150
    probabilities = model.predict_proba(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert model.score(x, y) > 0.9


def test_string_labels_and_binary_problems():
    x, y = make_classification(n_samples=80, n_features=5, random_state=0)
    labels = np.where(y == 1, "spam", "ham")
    model = GradstepClassifier(hidden_layer_sizes=(8,), epochs=60, random_state=0).fit(x, labels)
    assert set(model.predict(x)) <= {"spam", "ham"}
    assert model.predict_proba(x).shape == (80, 2)
    assert model.score(x, labels) > 0.85


def test_regressor_in_a_pipeline():
    x, y = load_diabetes(return_X_y=True)
    pipeline = make_pipeline(
        StandardScaler(),
        GradstepRegressor(
            hidden_layer_sizes=(32,), epochs=100, random_state=0, optimizer__learning_rate=0.01
        ),
    )
    assert pipeline.fit(x, y).score(x, y) > 0.4


def test_grid_search_over_optimizer_and_learning_rate_in_two_processes():
    x, y = _iris()
    search = GridSearchCV(
        make_pipeline(
            StandardScaler(), GradstepClassifier(hidden_layer_sizes=(8,), epochs=20, random_state=0)
        ),
        {
            "gradstepclassifier__optimizer": ["sgd", "adam"],
            "gradstepclassifier__learning_rate": [0.001, 0.05],
        },
        cv=3,
        n_jobs=2,
    )
    search.fit(x, y)
    assert search.best_params_ == {
        "gradstepclassifier__optimizer": "adam",
        "gradstepclassifier__learning_rate": 0.05,
    }
    assert search.best_score_ > 0.85


def test_routed_optimizer_settings_reach_the_optimizer_and_survive_clone():
    from sklearn.base import clone

    model = GradstepClassifier(
        optimizer="sgd", optimizer__momentum=0.9, optimizer__nesterov=True, epochs=2, random_state=0
    )
    again = clone(model)
    assert again.get_params()["optimizer__momentum"] == 0.9
    again.set_params(optimizer__momentum=0.5)
    x, y = _iris()
    again.fit(x, y)
    assert again.model_.optimizer.momentum == 0.5 and again.model_.optimizer.nesterov


def test_unknown_keyword_survives_clone_and_is_reported_at_fit():
    from sklearn.base import clone

    model = clone(GradstepClassifier(momentum=0.9))
    assert model.get_params()["momentum"] == 0.9
    model.set_params(momentum=0.5)  # a keyword the constructor received is a parameter
    with pytest.raises(ValueError, match="Invalid parameter 'nesterov'"):
        model.set_params(nesterov=True)  # one it did not receive is not
    with pytest.raises(
        TypeError, match=r"unexpected keyword arguments \['momentum'\].*optimizer__"
    ):
        model.fit(*_iris())


@pytest.mark.parametrize("estimator", [GradstepClassifier, GradstepRegressor])
def test_float64_network_so_a_row_does_not_depend_on_its_batch(estimator):
    """Predicting a few rows gives what predicting all of them gives, to float64
    round-off, whatever BLAS kernel the CPU selects; float32 X is computed in float64."""
    x, y = _iris()
    model = estimator(hidden_layer_sizes=(16,), epochs=5, random_state=0).fit(x, y)
    assert model.model_.dtype == "float64"
    method = getattr(model, "predict_proba", model.predict)
    whole = method(x)
    assert whole.dtype == np.float64
    pieces = np.concatenate([method(x[i : i + 7]) for i in range(0, len(x), 7)])
    np.testing.assert_allclose(pieces, whole, rtol=1e-12, atol=1e-15)
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(method(x32), method(x32.astype(np.float64)))


def test_cross_val_score():
    scores = cross_val_score(
        GradstepClassifier(
            hidden_layer_sizes=(16,), epochs=150, learning_rate=0.01, random_state=0
        ),
        *_iris(),
        cv=3,
    )
    assert scores.mean() > 0.85


def test_partial_fit_continues_training():
    x, y = _iris()
    model = GradstepClassifier(hidden_layer_sizes=(16,), random_state=0)
    model.partial_fit(x, y, classes=[0, 1, 2])
    first = model.loss_curve_[-1]
    for _ in range(20):
        model.partial_fit(x, y)
    assert len(model.loss_curve_) == 21 and model.loss_curve_[-1] < first
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        GradstepClassifier().partial_fit(x, y)
    regressor = GradstepRegressor(hidden_layer_sizes=(8,), random_state=0)
    regressor.partial_fit(x, y.astype(float)).partial_fit(x, y.astype(float))
    assert len(regressor.loss_curve_) == 2


def test_same_random_state_same_predictions():
    x, y = _iris()
    first = GradstepClassifier(epochs=5, random_state=3).fit(x, y).predict_proba(x)
    second = GradstepClassifier(epochs=5, random_state=3).fit(x, y).predict_proba(x)
    np.testing.assert_array_equal(first, second)


def test_early_stopping_holds_out_data_and_keeps_the_best_weights():
    x, y = _iris()
    model = GradstepClassifier(
        hidden_layer_sizes=(16,),
        epochs=300,
        learning_rate=0.1,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=5,
        random_state=0,
    ).fit(x, y)
    assert "val_loss" in model.history_
    assert model.n_iter_ < 300  # stopped early
    best = min(model.history_["val_loss"])
    assert model.history_["val_loss"].index(best) == model.n_iter_ - 1 - 5
