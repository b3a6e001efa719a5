import numpy as np
import pytest

from gradstep import datasets


def test_digits_split_is_stratified_and_scaled():
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797
    assert x_train.dtype == np.float32 and x_train.min() >= 0 and x_train.max() <= 1
    assert set(np.unique(y_test)) == set(range(10))
    train_share = np.bincount(y_train) / len(y_train)
    test_share = np.bincount(y_test) / len(y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_split_is_fixed():
    first = datasets.load("iris")
    second = datasets.load("iris")
    np.testing.assert_array_equal(first[1][1], second[1][1])


@pytest.mark.parametrize(
    "name, task",
    [
        ("iris", "multiclass"),
        ("wine", "multiclass"),
        ("breast_cancer", "binary"),
        ("diabetes", "regression"),
    ],
)
def test_other_datasets_are_standardized_on_the_training_part(name, task):
    (x_train, y_train), (x_test, _) = datasets.load(name)
    assert datasets.task_of(name) == task
    np.testing.assert_allclose(x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x_train.std(axis=0), 1, atol=1e-4)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="Unknown dataset 'mnist'; expected one of: digits"):
        datasets.load("mnist")
