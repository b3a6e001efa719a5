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
    with pytest.raises(ValueError, match="Unknown dataset 'mnist': expected one of digits, iris"):
        datasets.load("mnist")


def _write_csv(path, rows):
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")


def test_csv_with_categories_and_a_named_target(tmp_path):
    rng = np.random.default_rng(0)
    rows = [["size", "colour", "weight", "kind"]]
    for i in range(60):
        colour = ["red", "green", "blue"][i % 3]
        rows.append(
            [
                round(rng.normal(10, 2), 3),
                colour,
                round(rng.normal(70, 5), 3),
                "cat" if i % 2 else "dog",
            ]
        )
    _write_csv(tmp_path / "pets.csv", rows)
    data = datasets.load_dataset(tmp_path / "pets.csv", target="kind")
    assert data.task == "binary" and data.classes == ["cat", "dog"]
    assert data.feature_names == ["size", "colour=blue", "colour=green", "colour=red", "weight"]
    assert data.x_train.shape == (48, 5) and data.x_test.shape == (12, 5)
    # standardized with the training part's statistics only
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-6)
    assert not np.allclose(data.x_test.mean(axis=0), 0, atol=1e-3)
    assert set(np.unique(data.y_train)) == {0, 1}
    (x_train, y_train), _ = datasets.load(str(tmp_path / "pets.csv"))  # default: last column
    assert x_train.shape == (48, 5)


def test_csv_regression_target_and_bad_target_name(tmp_path):
    rows = [["a", "b", "price"]] + [[i, i % 7, i * 1.5 + 0.25] for i in range(40)]
    _write_csv(tmp_path / "houses.csv", rows)
    data = datasets.load_dataset(tmp_path / "houses.csv", target="price")
    assert data.task == "regression" and data.y_train.dtype == np.float32
    with pytest.raises(
        ValueError,
        match=r"target column 'cost' is not in houses.csv; its columns are \['a', 'b', 'price'\]",
    ):
        datasets.load_dataset(tmp_path / "houses.csv", target="cost")


def test_ragged_csv_names_the_row(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n4,5\n")
    with pytest.raises(ValueError, match="every row needs 2 fields like the header; row 3 has 1"):
        datasets.load_dataset(tmp_path / "bad.csv")


def test_npz_with_x_and_y_and_with_a_given_split(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "xy.npz", x=rng.normal(size=(50, 3)), y=np.arange(50) % 5)
    data = datasets.load_dataset(tmp_path / "xy.npz")
    assert data.task == "multiclass" and data.x_train.shape == (40, 3)
    np.savez(
        tmp_path / "split.npz",
        x_train=np.ones((4, 2)),
        y_train=[0, 1, 0, 1],
        x_test=np.zeros((2, 2)),
        y_test=[1, 0],
    )
    (x_train, y_train), (x_test, y_test) = datasets.load(str(tmp_path / "split.npz"))
    assert x_train.shape == (4, 2) and list(y_test) == [1, 0]
    np.savez(tmp_path / "wrong.npz", features=np.ones(3))
    with pytest.raises(
        ValueError, match=r"expected arrays named x and y .* received \['features'\]"
    ):
        datasets.load_dataset(tmp_path / "wrong.npz")


def test_npy_table_with_target_column(tmp_path):
    table = np.column_stack([np.arange(30.0), np.arange(30) % 2])
    np.save(tmp_path / "table.npy", table)
    data = datasets.load_dataset(tmp_path / "table.npy")
    assert data.task == "binary" and data.x_train.shape == (24, 1)


def test_npz_with_object_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object), y=np.array([1]))
    with pytest.raises(ValueError, match="allow_pickle"):
        datasets.load_dataset(tmp_path / "objects.npz")


def _write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.tobytes())


def test_mnist_from_idx_files_and_npz(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=6, dtype=np.uint8)
    _write_idx(folder / "train-images-idx3-ubyte", images)
    _write_idx(folder / "train-labels-idx1-ubyte", labels)
    import gzip

    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(
            bytes([0, 0, 8, 3])
            + b"".join(int(d).to_bytes(4, "big") for d in (2, 28, 28))
            + images[:2].tobytes()
        )
    _write_idx(folder / "t10k-labels-idx1-ubyte", labels[:2])
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(folder)
    np.testing.assert_allclose(x_train, images / 255.0, rtol=1e-6)
    assert x_test.shape == (2, 28, 28) and list(y_train) == labels.tolist()
    monkeypatch.setenv("GRADSTEP_DATA", str(tmp_path))
    assert datasets.load_mnist()[0][0].shape == (6, 28, 28)
    np.savez(
        tmp_path / "fashion.npz",
        x_train=images,
        y_train=labels,
        x_test=images[:2],
        y_test=labels[:2],
    )
    assert datasets.load_fashion_mnist(tmp_path / "fashion.npz")[1][0].shape == (2, 28, 28)


def test_mnist_missing_or_corrupt_files(tmp_path):
    with pytest.raises(ValueError, match="No mnist files at .* gradstep does not download"):
        datasets.load_mnist(tmp_path / "nowhere")
    bad = tmp_path / "bad-idx"
    bad.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"123")
    with pytest.raises(
        ValueError, match=r"header says shape \(10,\) \(10 bytes of data\), file holds 3"
    ):
        datasets.read_idx(bad)
    bad.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(bad)


def test_keras_style_load_data_gives_the_raw_bytes(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    arrays = dict(x_train=images, y_train=labels, x_test=images[:2], y_test=labels[:2])
    np.savez(tmp_path / "mine.npz", **arrays)
    (x_train, y_train), (x_test, _) = datasets.mnist.load_data(tmp_path / "mine.npz")
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8  # as Keras's
    np.testing.assert_array_equal(x_train, images)
    assert x_test.shape == (2, 28, 28)
    # Keras's own download, found where Keras keeps it; GRADSTEP_DATA comes first.
    keras_cache = tmp_path / "keras"
    keras_cache.mkdir()
    np.savez(keras_cache / "mnist.npz", **arrays)
    np.savez(keras_cache / "fashion_mnist.npz", **arrays)
    monkeypatch.setattr("gradstep.datasets.images._KERAS_CACHE", keras_cache)
    monkeypatch.setenv("GRADSTEP_DATA", str(tmp_path / "nothing-here"))
    np.testing.assert_array_equal(datasets.mnist.load_data()[0][0], images)
    np.testing.assert_array_equal(datasets.fashion_mnist.load_data()[1][1], labels[:2])
    np.testing.assert_allclose(datasets.load_mnist()[0][0], images / 255.0, rtol=1e-6)


def test_a_npz_without_the_four_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "half.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"missing arrays \['y_train', 'x_test', 'y_test'\]"):
        datasets.mnist.load_data(tmp_path / "half.npz")
