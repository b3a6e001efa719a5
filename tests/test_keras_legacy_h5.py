"""Keras 2's legacy .h5 full-model files (fixtures written by TensorFlow 2.15's
tf.keras, tools/make_keras2_h5_fixtures.py), read without TensorFlow; a Lambda
layer's bytecode (CVE-2025-9905) is refused, never run."""

import shutil
from pathlib import Path

import numpy as np
import pytest

import gradstep
from conftest import load_json_fixture

pytestmark = pytest.mark.requires("h5py", extra="h5")

FIXTURES = Path(__file__).parent / "fixtures" / "keras2_h5"
EXPECTED = load_json_fixture("keras2_h5.json")


@pytest.mark.parametrize("name", ["mlp", "convnet"])
def test_a_keras2_h5_model_loads_and_predicts_as_tensorflow(name):
    model = gradstep.models.load_model(FIXTURES / f"{name}.h5")
    inputs = np.asarray(EXPECTED[name]["inputs"], np.float32)
    expected = np.asarray(EXPECTED[name]["predictions"], np.float32)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), expected, atol=1e-6)
    assert model.compiled
    targets = np.eye(2, dtype="float32")[np.arange(len(inputs)) % 2]
    history = model.fit(inputs, targets, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_a_lambda_layer_in_a_keras2_h5_file_is_refused_not_run():
    with pytest.raises(ValueError, match="'Lambda': a Lambda layer holds Python code"):
        gradstep.models.load_model(FIXTURES / "lambda.h5")


def test_weights_that_do_not_fit_are_refused(tmp_path):
    import h5py

    path = tmp_path / "bad.h5"
    shutil.copy(FIXTURES / "mlp.h5", path)
    with h5py.File(path, "r+") as file:
        del file["model_weights/dense/dense/kernel:0"]
        file["model_weights/dense/dense/kernel:0"] = np.zeros((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"shape \(5, 3\).*needs shape \(4, 3\)"):
        gradstep.models.load_model(path)


def test_a_truncated_h5_file_is_refused(tmp_path):
    path = tmp_path / "cut.h5"
    path.write_bytes((FIXTURES / "mlp.h5").read_bytes()[:5000])
    with pytest.raises(ValueError, match="Cannot load"):
        gradstep.models.load_model(path)
