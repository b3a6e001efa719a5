"""Keras 3's .weights.h5: gradstep reads the files Keras writes (goldens from
tools/make_keras_h5_fixtures.py, which also checks that Keras reads gradstep's)
and writes the same groups and datasets."""

import json
from pathlib import Path

import numpy as np
import pytest

import gradstep
from gradstep import h5_weights
from keras_weights_models import MODELS

FIXTURES = Path(__file__).parent / "fixtures" / "keras_weights"
pytestmark = pytest.mark.requires("h5py", extra="h5")


def golden(name):
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_gradstep_loads_keras_files_to_keras_weights(name):
    model = MODELS[name](gradstep)
    model.load_weights(FIXTURES / f"{name}.weights.h5")
    want = golden(name)["weights"]
    assert len(model.get_weights()) == len(want)
    for got, expected in zip(model.get_weights(), want, strict=True):
        np.testing.assert_array_equal(got, np.asarray(expected, dtype=np.float32))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_gradstep_writes_keras_paths_and_reads_its_own_file(tmp_path, name):
    import h5py

    model = MODELS[name](gradstep)
    path = tmp_path / f"{name}.weights.h5"
    model.save_weights(path)
    found = []
    with h5py.File(path, "r") as file:
        file.visit(found.append)
        assert file["vars"].attrs["name"] == model.name
    assert sorted(found) == golden(name)["paths"]
    assert h5_weights.dataset_paths(h5_weights.keras_layout(model)) == golden(name)["paths"]
    other = MODELS[name](gradstep)
    other.load_weights(path)
    for got, expected in zip(other.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_snake_case_is_keras():
    assert [
        h5_weights.to_snake_case(name)
        for name in ["Dense", "Conv2D", "InputLayer", "BatchNormalization", "MaxPooling2D"]
    ] == ["dense", "conv2d", "input_layer", "batch_normalization", "max_pooling2d"]


def test_a_file_of_another_architecture_is_refused_and_changes_nothing(tmp_path):
    model = MODELS["dense"](gradstep)
    before = model.get_weights()
    with pytest.raises(ValueError, match="has no group 'layers/conv2d/vars'|layers/"):
        MODELS["convnet"](gradstep).load_weights(FIXTURES / "dense.weights.h5")
    wider = gradstep.Sequential(
        [gradstep.Input((5,)), gradstep.layers.Dense(3), gradstep.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=r"has shape \(4, 3\), but weight 0"):
        wider.load_weights(FIXTURES / "dense.weights.h5")
    (tmp_path / "bad.weights.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        model.load_weights(tmp_path / "bad.weights.h5")
    for got, expected in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_overwrite_false_and_unbuilt_models(tmp_path):
    model = MODELS["dense"](gradstep)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(path, overwrite=False)
    unbuilt = gradstep.Sequential([gradstep.layers.Dense(2)])
    with pytest.raises(ValueError, match="not yet been built"):
        unbuilt.save_weights(path)
    with pytest.raises(ValueError, match="is not built"):
        unbuilt.load_weights(path)
