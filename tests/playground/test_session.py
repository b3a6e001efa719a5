import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from gradstep import config as gradstep_config
from gradstep.optimizers import OPTIMIZERS, schedules
from gradstep.playground import session as session_module
from gradstep.playground.session import Session, validate_config

SPIRAL = {
    "dataset": "spiral",
    "activation": "tanh",
    "hidden_layers": [8, 8],
    "features": ["x1", "x2", "sin(x1)", "sin(x2)"],
    "optimizer": "adam",
    "learning_rate": 0.03,
    "seed": 1,
}


def test_a_session_with_defaults_has_a_seed_and_the_task_s_loss():
    session = Session()
    assert session.config["dataset"] == "circle"
    assert session.config["loss"] == "binary_crossentropy"
    assert isinstance(session.seed, int) and session.config["seed"] == session.seed
    assert len(session.train_losses) == 1  # the loss before training


def test_training_on_the_spiral_lowers_the_test_loss():
    session = Session(SPIRAL)
    start = session.test_losses[0]
    session.train(100 * session.steps_per_epoch)
    assert session.epochs == 100 and session.steps == 2000
    assert session.test_losses[-1] < start / 3
    predicted = session.model.predict(session.x_test, verbose=0).ravel() >= 0.5
    accuracy = np.mean(predicted == (session.data.test_targets == 1))
    assert session.frame()["test_accuracy"] == accuracy > 0.9
    assert len(session.train_losses) == 101


def test_epoch_runs_to_the_end_of_the_current_epoch():
    session = Session({**SPIRAL, "batch_size": 30})  # 200 points: 7 batches, the last of 20
    assert session.steps_per_epoch == 7
    session.step()
    session.step()
    assert session.epoch() == 5 and session.epochs == 1 and session.steps == 7
    assert session.epoch() == 7 and session.epochs == 2


def test_rewind_replays_the_run_and_reset_draws_other_weights():
    session = Session({**SPIRAL, "dropout": 0.2})
    session.train(45)
    first_run = (list(session.train_losses), session.learning_rates(), session.frame())
    session.rewind()
    assert session.steps == 0 and session.train_losses == first_run[0][:1]
    session.train(45)
    again = (list(session.train_losses), session.learning_rates(), session.frame())
    assert again == first_run
    used = session.seed
    assert session.reset() != used or session.reset() != used
    session.train(45)
    assert session.train_losses[1] != first_run[0][1]
    assert session.reset(used) == used
    session.train(45)
    assert session.train_losses == first_run[0]


def test_looking_at_the_session_does_not_change_its_run():
    watched, unwatched = Session({**SPIRAL, "dropout": 0.3}), Session({**SPIRAL, "dropout": 0.3})
    for _ in range(30):
        watched.step()
        watched.frame()
        watched.explain(0, 0, 0)
        unwatched.step()
    np.testing.assert_array_equal(
        np.concatenate([w.ravel() for w in watched.model.get_weights()]),
        np.concatenate([w.ravel() for w in unwatched.model.get_weights()]),
    )


def test_twenty_sessions_do_not_see_each_other():
    alone = Session({**SPIRAL, "dropout": 0.1, "seed": 7})
    alone.train(30)
    crowd = [Session({**SPIRAL, "dropout": 0.1, "seed": 7 + i % 3}) for i in range(20)]
    for _ in range(30):
        for session in crowd:
            session.step()
    same_seed = [s for s in crowd if s.seed == 7]
    assert len(same_seed) == 7
    for session in same_seed:
        assert session.train_losses == alone.train_losses
        assert session.frame() == alone.frame()
    assert crowd[1].train_losses[-1] != alone.train_losses[-1]


def test_twenty_sessions_training_in_threads_do_not_see_each_other():
    config = {**SPIRAL, "dropout": 0.2}
    alone = Session({**config, "seed": 3})
    alone.train(120)

    def run(number):
        session = Session({**config, "seed": 3 if number % 2 else 4})
        for _ in range(12):
            session.train(10)
            session.frame(grid=8)
        return session

    with ThreadPoolExecutor(8) as pool:
        sessions = list(pool.map(run, range(20)))
    for session in sessions[1::2]:
        assert session.frame() == alone.frame()
    assert sessions[0].frame()["train_loss"] != alone.frame()["train_loss"]
    # the steps took turns in gradstep, whose process-wide bookkeeping is left as it was
    assert gradstep_config.blas_threads_in_effect() is None


def test_a_long_run_keeps_a_few_thousand_history_points_evenly_spaced(monkeypatch):
    monkeypatch.setattr(session_module._Series, "MAX_KEPT", 8)
    session = Session({**SPIRAL, "hidden_layers": [2], "batch_size": 200})  # an epoch a step
    session.train(40)
    history = session.frame(grid=2, neuron_grid=2)["history"]
    assert history["epochs"] == [0, 8, 16, 24, 32, 40]  # 9 points became 5, then 6
    assert len(session.train_losses) == 6
    assert history["learning_rate_steps"] == [1, 9, 17, 25, 33]
    assert len(session.learning_rates()) == 5


def test_the_frame_is_json_with_the_boundary_the_neurons_and_the_weights():
    session = Session({**SPIRAL, "hidden_layers": [3, 2]})
    session.train(25)
    frame = json.loads(json.dumps(session.frame(grid=10, neuron_grid=5), allow_nan=False))
    assert frame["step"] == 25 and frame["epoch"] == 1
    assert frame["history"]["train_loss"][0] == pytest.approx(session.train_losses[0], rel=1e-4)
    assert len(frame["history"]["learning_rate"]) == 25
    assert frame["history"]["learning_rate"][0] == pytest.approx(0.03)
    boundary = frame["boundary"]
    assert boundary["grid"] == 10 and len(boundary["values"]) == 100
    assert boundary["bounds"] == [-6.0, 6.0, -6.0, 6.0] and boundary["range"] == [0.0, 1.0]
    assert all(0 <= v <= 1 for v in boundary["values"])
    assert [len(layer) for layer in frame["neurons"]["layers"]] == [3, 2]
    assert all(len(unit) == 25 for layer in frame["neurons"]["layers"] for unit in layer)
    assert len(frame["inputs"]) == 4
    # the first row is the top of the plane: x2 = 6 - 1.2 / 2; x1 runs along it
    assert frame["inputs"][1][:5] == [4.8] * 5 and frame["inputs"][0][:2] == [-4.8, -2.4]
    assert [(w["layer"], len(w["kernel"]), len(w["bias"])) for w in frame["weights"]] == [
        ("hidden_1", 4, 3),
        ("hidden_2", 3, 2),
        ("output", 2, 1),
    ]
    assert [d["layer"] for d in frame["diagnostics"]] == ["hidden_1", "hidden_2", "output"]
    assert all(d["gradient_norm"] > 0 and d["dead_fraction"] is None for d in frame["diagnostics"])
    assert frame["diverged"] is None


def test_the_boundary_is_the_model_s_prediction_over_the_plane():
    session = Session({**SPIRAL, "dropout": 0.2})
    session.train(20)
    frame = session.frame(grid=6)
    x1_min, x1_max, x2_min, x2_max = session.data.bounds
    centres = (np.arange(6) + 0.5) / 6
    plane = np.array(
        [
            [x1_min + c1 * (x1_max - x1_min), x2_max - c2 * (x2_max - x2_min)]
            for c2 in centres
            for c1 in centres
        ]
    )
    from gradstep.playground.datasets import feature_matrix

    predicted = session.model.predict(feature_matrix(plane, SPIRAL["features"]), verbose=0)
    np.testing.assert_allclose(
        frame["boundary"]["values"], predicted.ravel(), atol=5e-5
    )  # 4 decimals


def test_a_new_task_takes_its_own_loss_and_a_wrong_loss_for_the_same_task_is_refused():
    session = Session(SPIRAL)
    config = session.configure({**session.config, "dataset": "plane"})
    assert config["loss"] == "mean_squared_error" and session.task == "regression"
    config = session.configure({**config, "loss": "huber", "dataset": "multi_gaussian"})
    assert config["loss"] == "huber"
    config = session.configure({**config, "dataset": "xor"})
    assert config["loss"] == "binary_crossentropy"
    with pytest.raises(ValueError, match="config.loss must be one of .* for a classification"):
        session.configure({**config, "loss": "huber"})
    assert session.config["loss"] == "binary_crossentropy"


def test_dead_relu_units_are_counted():
    session = Session({**SPIRAL, "activation": "relu", "hidden_layers": [4]})
    kernel, bias = session.model.layers[0].get_weights()
    bias[:2] = -1000.0  # units 0 and 1 never fire
    session.model.layers[0].set_weights([kernel, bias])
    (hidden, output) = session.diagnostics()
    assert hidden["dead_fraction"] == 0.5 and output["dead_fraction"] is None


def test_a_hinge_loss_draws_a_probability_and_a_regression_its_values():
    hinge = Session({**SPIRAL, "loss": "hinge"})
    values = hinge.frame(grid=8)["boundary"]["values"]
    assert all(0 <= v <= 1 for v in values)
    plane = Session({"dataset": "plane", "seed": 0, "learning_rate": 0.01})
    assert plane.config["loss"] == "mean_squared_error"
    plane.train(200)
    frame = plane.frame(grid=8)
    assert frame["train_accuracy"] is None and frame["test_accuracy"] is None
    assert frame["boundary"]["range"][0] < -0.5 and frame["boundary"]["range"][1] > 0.5
    assert plane.test_losses[-1] < plane.test_losses[0]


def test_a_diverging_run_stops_and_says_why_and_its_frame_stays_json():
    session = Session(
        {
            **SPIRAL,
            "optimizer": "sgd",
            "learning_rate": 10.0,
            "loss": "mean_squared_error",
            "dataset": "plane",
            "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2"],
        }
    )
    session.train(500)
    assert session.diverged is not None and "Lower the learning rate (10)" in session.diverged
    steps = session.steps
    assert session.step() is None and session.steps == steps
    json.dumps(session.frame(grid=4), allow_nan=False)
    with pytest.raises(ValueError, match="no next step to explain"):
        session.explain(0, 0, 0)


def test_full_batch_optimizers_take_the_whole_set():
    session = Session({**SPIRAL, "optimizer": "gd", "learning_rate": 0.1})
    assert session.batch_size == 200 and session.steps_per_epoch == 1
    session.epoch()
    assert session.epochs == 1


def test_schedule_preview_is_the_rate_of_each_update():
    session = Session(
        {
            **SPIRAL,
            "schedule": "exponential_decay",
            "schedule_options": {"decay_steps": 10, "decay_rate": 0.5},
        }
    )
    preview = session.schedule_preview(21)
    assert preview[0] == pytest.approx(0.03) and preview[10] == pytest.approx(0.015)
    assert preview[20] == pytest.approx(0.0075)
    session.train(21)
    np.testing.assert_allclose(session.learning_rates(), preview, rtol=1e-6)
    assert Session(SPIRAL).schedule_preview(3) == [0.03] * 3
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        session.schedule_preview(0)


def test_explain_shows_the_next_update_of_one_weight():
    session = Session({**SPIRAL, "hidden_layers": [3]})
    session.train(5)
    html = session.explain(1, 2, 0)
    assert html.startswith("<div>") and "Update 6 of Adam, weight output/kernel[2, 0]" in html
    before = session.model.get_weights()[2][2, 0]
    assert f"{before:.6g}"[:5] in html
    with pytest.raises(ValueError, match="layer must be below 2"):
        session.explain(2, 0, 0)
    with pytest.raises(ValueError, match=r"kernel, of shape \(3, 1\), received row 3"):
        session.explain(1, 3, 0)


def test_a_csv_upload_becomes_the_data_and_a_bad_one_changes_nothing():
    session = Session(SPIRAL)
    rows = "".join(f"{i / 10},{(i * 7 % 13) / 3},{1.5 * i}\n" for i in range(40))
    config = session.set_data_from_csv(("u,v,w\n" + rows).encode(), "u", "v", "w")
    assert config["dataset"] == "csv" and config["loss"] == "mean_squared_error"
    assert session.task == "regression" and len(session.x_train) == 20
    session.train(10)
    with pytest.raises(ValueError, match="no column 'z' for target"):
        session.set_data_from_csv(("u,v,w\n" + rows).encode(), "u", "v", "z")
    assert session.task == "regression" and session.steps == 10
    assert session.configure({**session.config, "hidden_layers": [2]})["dataset"] == "csv"
    assert session.points()["train"][0][2] in [1.5 * i for i in range(40)]


# --- the catalogue and the config --------------------------------------------------------
def test_the_catalog_holds_every_optimizer_and_schedule_of_gradstep():
    catalog = Session.catalog()
    json.dumps(catalog, allow_nan=False)
    classes = {entry["class_name"] for entry in catalog["optimizers"]}
    assert classes == {OPTIMIZERS.lookup(name).__name__ for name in OPTIMIZERS.names()}
    adam = next(entry for entry in catalog["optimizers"] if entry["name"] == "adam")
    assert adam["learning_rate"] == 0.001
    assert adam["hyperparameters"] == {
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-07,
        "amsgrad": False,
    }
    scheduled = {entry["class_name"] for entry in catalog["schedules"]}
    assert scheduled == {
        schedules.SCHEDULES.lookup(name).__name__ for name in schedules.SCHEDULES.names()
    }
    assert catalog["losses"]["classification"][0] == "binary_crossentropy"
    assert catalog["defaults"]["hidden_layers"] == [4, 2]


@pytest.mark.parametrize("entry", Session.catalog()["optimizers"], ids=lambda e: e["name"])
def test_every_optimizer_trains_a_few_steps(entry):
    session = Session(
        {**SPIRAL, "optimizer": entry["name"], "learning_rate": entry["learning_rate"]}
    )
    session.train(3)
    assert math.isfinite(session.losses()[0])


@pytest.mark.parametrize("entry", Session.catalog()["schedules"], ids=lambda e: e["name"])
def test_every_schedule_has_a_preview(entry):
    session = Session({**SPIRAL, "schedule": entry["name"]})
    preview = session.schedule_preview(50)
    assert len(preview) == 50 and all(math.isfinite(v) and v > 0 for v in preview)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"colour": "red"}, "config has no field 'colour'"),
        ({"dataset": "moons"}, "config.dataset must be one of circle"),
        ({"dataset": "csv"}, "config.dataset is 'csv', but no CSV file was uploaded"),
        ({"hidden_layers": [4, 9]}, "config.hidden_layers holds 9; each layer needs 1 to 8"),
        ({"hidden_layers": "4,2"}, "config.hidden_layers must be a list"),
        ({"activation": "swoosh"}, "config.activation must be one of tanh"),
        ({"loss": "huber"}, "config.loss must be one of binary_crossentropy.* for a classif"),
        ({"optimizer": "adamm"}, "config.optimizer must be one of adadelta"),
        ({"optimizer_options": {"beta": 1}}, "config.optimizer_options has no option 'beta'"),
        (
            {"optimizer": "adam", "optimizer_options": {"amsgrad": 1}},
            "config.optimizer_options.amsgrad must be true or false, received 1",
        ),
        (
            {"optimizer": "sgd", "optimizer_options": {"momentum": -1.0}},
            r"config.optimizer_options: momentum must be a float in \[0, 1\], received -1.0",
        ),
        ({"learning_rate": 0}, r"config.learning_rate must be a float in \(0, 10\]"),
        ({"learning_rate": float("nan")}, "config.learning_rate must be"),
        ({"schedule": "cosine"}, "config.schedule must be one of none, exponential_decay"),
        (
            {"schedule": "cosine_decay", "schedule_options": {"decay_steps": "many"}},
            "config.schedule_options.decay_steps must be an integer, received 'many'",
        ),
        ({"batch_size": 0}, "config.batch_size must be a positive integer, received 0"),
        ({"regularization": "l3"}, "config.regularization must be one of none, l1, l2"),
        ({"dropout": 0.95}, r"config.dropout must be a float in \[0, 0.9\]"),
        ({"seed": -2}, "config.seed must be a non-negative integer"),
        ({"seed": 2**40}, "config.seed must be at most"),
        ({"data_seed": 2**40}, "config.data_seed must be at most 2147483647"),
        ({"batch_size": 10**6}, "config.batch_size must be at most 10000"),
        ({"dataset": ["circle"]}, r"config.dataset must be one of circle.*received \['circle'\]"),
        ({"features": ["x1", "cos(x1)"]}, "config.features holds 'cos\\(x1\\)'"),
        ({"noise": 2}, r"config.noise must be a float in \[0, 1\]"),
    ],
)
def test_a_bad_config_names_its_field(change, message):
    with pytest.raises(ValueError, match=message):
        validate_config({**SPIRAL, **change})


def test_validate_config_fills_defaults_and_keeps_the_input():
    given = {"dataset": "plane", "optimizer_options": {"momentum": 0.9}}
    checked = validate_config(given)
    assert given == {"dataset": "plane", "optimizer_options": {"momentum": 0.9}}
    assert checked["loss"] == "mean_squared_error"
    assert checked["optimizer_options"] == {"momentum": 0.9, "nesterov": False}
    assert checked["seed"] is None and checked["batch_size"] == 10
    with pytest.raises(ValueError, match="config must be a JSON object, received list"):
        validate_config([])
