import numpy as np
import pytest

from gradstep.playground.datasets import (
    DATASETS,
    FEATURES,
    feature_matrix,
    make_dataset,
    parse_csv,
)

CLASSIFICATION_SETS = ["circle", "xor", "gaussians", "spiral"]


@pytest.mark.parametrize("name", list(DATASETS))
def test_each_set_splits_its_points_in_the_plane(name):
    data = make_dataset(name, samples=300, noise=0.2, test_ratio=0.3, seed=1)
    assert data.train_points.shape == (210, 2)
    assert data.test_points.shape == (90, 2)
    assert data.train_targets.shape == (210,)
    every_point = np.concatenate([data.train_points, data.test_points])
    assert np.all(np.abs(every_point) <= 6.0 + 1.0)  # noise may push a spiral's tip a little out
    assert data.bounds == (-6.0, 6.0, -6.0, 6.0)
    if name in CLASSIFICATION_SETS:
        assert data.task == "classification"
        labels = np.concatenate([data.train_targets, data.test_targets])
        assert set(np.unique(labels)) == {0.0, 1.0}
    else:
        assert data.task == "regression"
        assert np.all(np.abs(data.train_targets) <= 2.4)  # (x1 + x2) / 10, with noise


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_same_seed_gives_the_same_points_and_another_seed_other_points(name):
    first = make_dataset(name, seed=5, noise=0.1)
    again = make_dataset(name, seed=5, noise=0.1)
    other = make_dataset(name, seed=6, noise=0.1)
    np.testing.assert_array_equal(first.train_points, again.train_points)
    np.testing.assert_array_equal(first.test_targets, again.test_targets)
    assert not np.array_equal(first.train_points, other.train_points)


def test_the_labels_follow_the_shapes_without_noise():
    circle = make_dataset("circle", samples=400, seed=0)
    inside = np.hypot(*circle.train_points.T) < 2.5
    np.testing.assert_array_equal(circle.train_targets, inside.astype(float))
    xor = make_dataset("xor", samples=400, seed=0)
    same_sign = xor.train_points[:, 0] * xor.train_points[:, 1] >= 0
    np.testing.assert_array_equal(xor.train_targets, same_sign.astype(float))
    plane = make_dataset("plane", samples=400, seed=0)
    np.testing.assert_allclose(plane.train_targets, plane.train_points.sum(axis=1) / 10)


def test_noise_flips_some_circle_labels():
    noisy = make_dataset("circle", samples=400, noise=0.5, seed=0)
    inside = np.hypot(*noisy.train_points.T) < 2.5
    flipped = np.mean(noisy.train_targets != inside)
    assert 0.02 < flipped < 0.5


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"name": "moons"}, "dataset must be one of circle, xor"),
        ({"name": "xor", "samples": 5}, "samples must be an integer >= 10, received 5"),
        ({"name": "xor", "samples": 10**6}, "samples must be at most 10000"),
        ({"name": "xor", "noise": -0.1}, "noise must be a float in [0, 1], received -0.1"),
        ({"name": "xor", "noise": float("nan")}, "noise must be a float in [0, 1]"),
        ({"name": "xor", "test_ratio": 1.0}, "test_ratio must be a float in [0.1, 0.9]"),
        ({"name": "xor", "seed": -1}, "seed must be a non-negative integer, received -1"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    name = arguments.pop("name")
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        make_dataset(name, **arguments)


# --- CSV ---------------------------------------------------------------------------------
def _csv(rows, header="a,b,label"):
    return (header + "\n" + "".join(row + "\n" for row in rows)).encode()


GOOD_ROWS = [f"{i * 0.5},{-i},{i % 2}" for i in range(20)]


def test_a_csv_with_0_1_targets_is_a_classification_set():
    data = parse_csv(_csv(GOOD_ROWS), "a", "b", "label", max_bytes=10_000, max_rows=100)
    assert data.name == "csv" and data.task == "classification"
    assert len(data.train_points) == 10 and len(data.test_points) == 10
    every = np.concatenate([data.train_points, data.test_points])
    assert sorted(every[:, 0]) == [i * 0.5 for i in range(20)]
    x1_min, x1_max, x2_min, x2_max = data.bounds
    assert x1_min < 0 < 9.5 < x1_max and x2_min < -19 and x2_max > 0


def test_a_csv_with_other_targets_is_regression_and_columns_are_chosen_by_name():
    rows = [f"{i},{2 * i},{i * 0.25},x" for i in range(12)]
    data = parse_csv(
        _csv(rows, "value,p,q,comment").replace(b"\r", b""),
        "p",
        "q",
        "value",
        max_bytes=10_000,
        max_rows=100,
        test_ratio=0.25,
    )
    assert data.task == "regression"
    every = np.concatenate([data.train_points, data.test_points])
    targets = np.concatenate([data.train_targets, data.test_targets])
    np.testing.assert_allclose(every[:, 0], 2 * targets)
    assert len(data.test_points) == 3


def test_a_byte_order_mark_and_blank_lines_are_accepted():
    data = b"\xef\xbb\xbf" + _csv(GOOD_ROWS[:10] + [""] + GOOD_ROWS[10:])
    assert parse_csv(data, "a", "b", "label", max_bytes=10_000, max_rows=100).task == (
        "classification"
    )


@pytest.mark.parametrize(
    "data, columns, message",
    [
        (b"\xff\xfe\x00a", ("a", "b", "label"), "must be UTF-8 text; byte 0"),
        (b"", ("a", "b", "label"), "is empty: it needs a header row"),
        (_csv(GOOD_ROWS), ("a", "c", "label"), "has no column 'c' for x2; its columns are 'a'"),
        (_csv(GOOD_ROWS), ("a", "b", "y"), "has no column 'y' for target"),
        (
            _csv(GOOD_ROWS[:5] + ["1,two,0"] + GOOD_ROWS[5:]),
            ("a", "b", "label"),
            "line 7, column 'b' must be a number, received 'two'",
        ),
        (
            _csv(GOOD_ROWS + ["1,2,nan"]),
            ("a", "b", "label"),
            "line 22, column 'label' must be a finite number, received 'nan'",
        ),
        (_csv(GOOD_ROWS + ["1,2"]), ("a", "b", "label"), "line 22 has no cell in column 'label'"),
        (_csv(GOOD_ROWS[:9]), ("a", "b", "label"), "needs at least 10 data rows, it has 9"),
        (_csv(GOOD_ROWS * 6), ("a", "b", "label"), "has more than 100 rows, the limit"),
        (_csv(GOOD_ROWS * 100), ("a", "b", "label"), "too large: [0-9]+ bytes, the limit is 5000"),
    ],
)
def test_a_bad_csv_gets_a_message_that_says_what_is_wrong(data, columns, message):
    with pytest.raises(ValueError, match=message):
        parse_csv(data, *columns, max_bytes=5000 if len(data) > 5000 else 10_000, max_rows=100)


def test_csv_data_must_be_bytes():
    with pytest.raises(TypeError, match="must be bytes, received str"):
        parse_csv("a,b,c", "a", "b", "c", max_bytes=100, max_rows=10)


# --- features ----------------------------------------------------------------------------
def test_each_feature_is_computed_from_the_two_coordinates():
    points = np.array([[1.0, 2.0], [-0.5, 3.0]])
    matrix = feature_matrix(points, list(FEATURES))
    x1, x2 = points.T
    expected = np.stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)], axis=1)
    assert matrix.dtype == np.float32
    np.testing.assert_allclose(matrix, expected.astype(np.float32))


@pytest.mark.parametrize(
    "chosen, message",
    [
        ([], "features must be a non-empty list"),
        (["x3"], "features holds 'x3', which is not a feature"),
        (["x1", "x1"], "features names a feature twice"),
        ("x1", "features must be a non-empty list"),
    ],
)
def test_bad_feature_choices_are_named(chosen, message):
    with pytest.raises(ValueError, match=message):
        feature_matrix(np.zeros((2, 2)), chosen)
