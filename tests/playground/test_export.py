import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradstep
from gradstep.models import load_model
from gradstep.playground import export
from gradstep.playground.datasets import feature_matrix
from gradstep.playground.session import Session

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras in this process, for the optimizer test

SOURCE = Path(gradstep.__file__).resolve().parents[1]
BASE = {
    "dataset": "spiral",
    "hidden_layers": [6, 4],
    "features": ["x1", "x2", "sin(x1)"],
    "learning_rate": 0.03,
    "seed": 5,
}
#: Adam with a schedule Keras has not (a table in the Keras program) and an L2 penalty.
ADAM_ONE_CYCLE = {**BASE, "optimizer": "adam", "schedule": "one_cycle"}
ADAM_ONE_CYCLE |= {"regularization": "l2", "regularization_rate": 0.001}


def _trained(config, steps=137):
    session = Session(config)
    session.train(steps)
    return session


def _run(program: str, folder: Path) -> tuple[float, float]:
    """Run a program in a fresh interpreter; the train and test losses it printed."""
    path = folder / "run_playground.py"
    path.write_text(program, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(SOURCE), "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = dict(
        line.split(": ", 1)
        for line in result.stdout.splitlines()
        if line.endswith(tuple("0123456789"))
    )
    return float(printed["train loss"]), float(printed["test loss"])


@pytest.mark.parametrize(
    "config",
    [
        {**BASE, "optimizer": "adam", "dropout": 0.2, "schedule": "cosine_decay"},
        {**BASE, "optimizer": "gd", "learning_rate": 0.5, "regularization": "l1"}
        | {"regularization_rate": 0.001},
        {**BASE, "dataset": "plane", "loss": "huber", "noise": 0.3, "data_seed": 4},
    ],
    ids=["adam-dropout-cosine", "gd-l1", "plane-huber"],
)
def test_the_gradstep_script_reproduces_the_page_s_final_loss(config, tmp_path):
    session = _trained(config)
    program = export.script(session, "gradstep")
    reported = f"The page reported: train loss {session.losses()[0]:.6g}"
    assert reported in " ".join(program.split())
    assert _run(program, tmp_path) == pytest.approx(session.losses(), rel=1e-6)


def test_the_gradstep_script_of_an_uploaded_csv_holds_its_points(tmp_path):
    session = Session({**BASE, "optimizer": "rmsprop", "seed": 11})
    rows = "".join(f"{np.sin(i):.6f},{np.cos(3 * i):.6f},{i % 2}\n" for i in range(60))
    session.set_data_from_csv(("p,q,c\n" + rows).encode(), "p", "q", "c")
    session.train(40)
    program = export.script(session, "gradstep")
    assert "\nTRAIN_POINTS = [\n" in program and "make_dataset" not in program
    assert _run(program, tmp_path) == pytest.approx(session.losses(), rel=1e-6)


@pytest.mark.requires("keras", extra="interop")
def test_the_keras_script_follows_the_page_s_run_from_its_initial_weights(tmp_path):
    session = _trained(ADAM_ONE_CYCLE)
    program = export.script(session, "keras")
    assert "INITIAL_WEIGHTS = [" in program and "class PageSchedule" in program
    train, test = _run(program, tmp_path)
    assert (train, test) == pytest.approx(session.losses(), rel=1e-4)
    assert train < session.train_losses[0] - 0.05


@pytest.mark.requires("torch", extra="interop")
@pytest.mark.parametrize(
    "config",
    [ADAM_ONE_CYCLE, {**BASE, "optimizer_options": {"momentum": 0.9}, "loss": "hinge"}],
    ids=["adam-one-cycle-l2", "sgd-momentum-hinge"],
)
def test_the_pytorch_script_follows_the_page_s_run_from_its_initial_weights(config, tmp_path):
    session = _trained(config)
    train, test = _run(export.script(session, "pytorch"), tmp_path)
    assert (train, test) == pytest.approx(session.losses(), rel=1e-4)
    assert train < session.train_losses[0] - 0.05


@pytest.mark.requires("torch", extra="interop")
def test_the_pytorch_script_trains_with_its_own_dropout(tmp_path):
    session = _trained({**BASE, "dropout": 0.1, "regularization": "l1"}, steps=300)
    program = export.script(session, "pytorch")
    assert "PyTorch draws its own dropout masks" in " ".join(program.split())
    train, _ = _run(program, tmp_path)
    assert train < session.train_losses[0] - 0.05


@pytest.mark.requires("keras", extra="interop")
@pytest.mark.parametrize("entry", Session.catalog()["optimizers"], ids=lambda e: e["name"])
def test_every_optimizer_but_lbfgs_is_written_as_keras_s(entry):
    import keras

    session = Session({**BASE, "optimizer": entry["name"]})
    if entry["name"] == "lbfgs":
        with pytest.raises(ValueError, match="Keras has no L-BFGS optimizer"):
            export.script(session, "keras")
        return
    program = export.script(session, "keras")
    statement = program[program.index("\noptimizer = ") :].split("\nmodel.compile")[0]
    namespace = {"keras": keras, "schedule": 0.01}
    exec(statement, namespace)
    optimizer = namespace["optimizer"]
    assert isinstance(optimizer, keras.optimizers.Optimizer)


@pytest.mark.parametrize(
    "config",
    [
        {**ADAM_ONE_CYCLE, "dropout": 0.1, "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2"]},
        {"dataset": "plane", "loss": "log_cosh", "optimizer": "rmsprop", "hidden_layers": []},
        {"optimizer": "gd", "schedule": "exponential_decay", "regularization": "l1"}
        | {"regularization_rate": 0.01, "activation": "leaky_relu"},
    ],
    ids=["adam", "rmsprop-linear-model", "gd"],
)
def test_the_programs_are_clean_python(config, tmp_path):
    session = _trained({"seed": 2, **config}, steps=12)
    for kind in ("gradstep", "keras", "pytorch"):
        (tmp_path / f"{kind}_run.py").write_text(export.script(session, kind), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I"]
        + ["--line-length", "100", "."],
        cwd=tmp_path,  # where gradstep is a library, as for whoever downloads the program
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_optimizer_pytorch_has_not_is_refused_by_name():
    session = Session({**BASE, "optimizer": "lion"})
    with pytest.raises(ValueError, match="no counterpart of 'lion'"):
        export.script(session, "pytorch")


@pytest.mark.requires("h5py", extra="h5")
def test_the_keras_file_holds_the_trained_model(tmp_path):
    session = _trained(BASE)
    name, media_type, content = export.export(session, "keras-model")
    assert (name, media_type) == ("playground.keras", "application/octet-stream")
    path = tmp_path / name
    path.write_bytes(content)
    loaded = load_model(path)
    points = feature_matrix(session.data.test_points, BASE["features"])
    np.testing.assert_array_equal(
        loaded.predict(points, verbose=0), session.model.predict(points, verbose=0)
    )


@pytest.mark.requires("keras", extra="interop")
@pytest.mark.requires("h5py", extra="h5")
@pytest.mark.parametrize("config", [BASE, ADAM_ONE_CYCLE], ids=["sgd", "adam-one-cycle-l2"])
def test_keras_itself_loads_the_keras_file_and_predicts_as_the_model(config, tmp_path):
    import keras

    session = _trained(config)
    name, _, content = export.export(session, "keras-model")
    path = tmp_path / name
    path.write_bytes(content)
    loaded = keras.saving.load_model(path)
    points = feature_matrix(session.data.test_points, config["features"])
    np.testing.assert_allclose(
        np.asarray(loaded.predict(points, verbose=0)),
        session.model.predict(points, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.requires("onnxruntime", extra="interop")
def test_the_onnx_file_predicts_as_the_model(tmp_path):
    import onnxruntime

    session = _trained(BASE)
    path = export.onnx_file(session, tmp_path / "model.onnx")
    run = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    points = feature_matrix(session.data.test_points, BASE["features"])
    (predicted,) = run.run(None, {run.get_inputs()[0].name: points})
    np.testing.assert_allclose(predicted, session.model.predict(points, verbose=0), rtol=1e-5)


def test_each_script_is_offered_as_a_python_file():
    session = _trained(BASE, steps=3)
    for kind in ("gradstep", "keras", "pytorch"):
        name, media_type, content = export.export(session, kind)
        assert name.endswith(".py") and media_type == "text/x-python"
        compile(content.decode(), name, "exec")
    with pytest.raises(ValueError, match="kind must be one of gradstep, keras, pytorch"):
        export.export(session, "tflite")


def test_a_script_needs_the_seed_and_the_data_of_an_uploaded_file():
    config = dict(Session(BASE).config)
    with pytest.raises(ValueError, match="config.seed must be set"):
        export.gradstep_script({**config, "seed": None}, 5, 10)
    with pytest.raises(ValueError, match="needs its data"):
        export.gradstep_script({**config, "dataset": "csv"}, 5, 10)
