"""Every layer against Keras 3: the goldens in tests/fixtures/layers/<family>.json
(made by tools/make_keras_layer_fixtures.py from the cases in
tests/layer_cases/<family>.py). From Keras's initial weights, gradstep must give
Keras's inference output, its training-mode output, and after a few training
steps its weights, loss history and evaluate(), to float32 round-off; and
where the golden holds Keras's layer configs, each layer's get_config() has
Keras's keys and values (see ``same_config`` for how the two spell objects).

Round-off: each number is a float32 sum of at most a few hundred products, so
the two libraries may differ by a few units in the last place of the largest
term; the tolerance is 64 float32 epsilons of the largest magnitude compared
(7.6e-6 of it), with a floor at 1e-6 for numbers near zero."""

import importlib
import json
import pathlib

import numpy as np
import pytest

import gradstep
import layer_cases
from gradstep import optimizers
from gradstep.layers.base import snake_case

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "layers"
EPS32 = float(np.finfo(np.float32).eps)


def all_cases():
    for path in sorted(FIXTURES.glob("*.json")):
        family = path.stem
        cases = {c["name"]: c for c in importlib.import_module(f"layer_cases.{family}").CASES}
        for golden in json.loads(path.read_text())["cases"]:
            yield pytest.param(cases[golden["name"]], golden, id=f"{family}-{golden['name']}")


def close(got, want, what: str) -> None:
    want = np.asarray(want, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(
        np.asarray(got, dtype=np.float64),
        want,
        rtol=0,
        atol=max(1e-6, 64 * EPS32 * scale),
        err_msg=what,
    )


#: Keys of Keras's configs that gradstep's layers do not write: gradstep has
#: no quantized layers.
KERAS_ONLY_KEYS = {"quantization_config"}


def same_config(got: dict, want: dict, what: str) -> None:
    """gradstep's config ``got`` against Keras's ``want``: the same keys; the
    dtype's name where gradstep's is set (a layer without weights leaves it
    None); for a serialized object (initializer, regularizer, constraint),
    its class, and the config entries both write; every other value equal."""
    want = {k: v for k, v in want.items() if k not in KERAS_ONLY_KEYS}
    assert set(got) == set(want), f"{what}: config keys {sorted(got)} != Keras's {sorted(want)}"
    for key, value in want.items():
        mine = got[key]
        if key == "dtype":
            name = value["config"]["name"] if isinstance(value, dict) else value
            assert mine in (None, name), f"{what}: dtype {mine!r} != Keras's {name!r}"
        elif isinstance(value, dict) and "class_name" in value:
            _same_object(mine, value, f"{what}: {key}")
        else:
            assert _plain(mine) == value, f"{what}: {key} = {mine!r}, Keras's {value!r}"


def _same_object(mine, want: dict, what: str) -> None:
    if isinstance(mine, str):
        name, config = mine, {}
    else:
        name = mine.get("class_name", mine.get("name"))
        config = mine.get("config", {})
    assert snake_case(name) == snake_case(want["class_name"]), f"{what}: {mine!r} != {want!r}"
    for key in set(config) & set(want["config"]):
        theirs = want["config"][key]
        if key == "dtype":  # Keras writes its dtype policy; the outer config's dtype is compared
            continue
        if key == "name" and want.get("module") == "keras.layers":  # a per-process name
            continue
        if isinstance(theirs, dict) and "class_name" in theirs and isinstance(config[key], dict):
            _same_object(config[key], theirs, f"{what}: {key}")  # a wrapped layer's config
            continue
        assert _equal(config[key], theirs), f"{what}: {mine!r} != {want!r}"


def _plain(value):
    """Tuples as lists, as they come back from JSON."""
    return json.loads(json.dumps(value))


def _equal(mine, keras_value) -> bool:
    """Equal, floats to float32 (Keras keeps a regularizer's factor as a float32)."""
    if isinstance(keras_value, float) and isinstance(mine, int | float):
        return np.float32(mine) == np.float32(keras_value)
    return _plain(mine) == keras_value


# LayerNormalization(rms_scaling=True) repeats Keras's deprecation warning.
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
# Flatten after a masked tensor: the warning Keras gives too (tested in tests/test_graph.py).
@pytest.mark.filterwarnings("ignore:Layer .* does not support masking:UserWarning")
@pytest.mark.parametrize(("case", "golden"), list(all_cases()))
def test_layer_matches_keras(case, golden):
    case = layer_cases.complete(case)
    model = layer_cases.build(case, gradstep)
    dtype = case["input_dtype"]
    x = np.asarray(golden["x"], dtype=dtype)
    y = np.asarray(golden["y"], dtype=np.float32)
    np.testing.assert_array_equal(x, layer_cases.inputs_for(case, np))  # the same data
    initial = [np.asarray(w, dtype=np.float32) for w in golden["initial_weights"]]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in initial]
    model.set_weights(initial)
    close(model.predict(x, verbose=0), golden["predict"], "inference output")
    for index, want in enumerate(golden.get("configs", [])):
        layer = model.get_layer(f"layer_{index}")
        same_config(layer.get_config(), want, f"layer_{index} ({type(layer).__name__})")
    if not case["train"]:
        return
    training_output = golden.get("training_output", golden["predict"])  # left out when equal
    close(model(x, training=True), training_output, "training-mode output")
    model.set_weights(initial)
    class_name, config = case["optimizer"]
    model.compile(
        optimizer=getattr(optimizers, class_name)(**config),
        loss=case["loss"],
        metrics=case["metrics"],
    )
    history = model.fit(
        x, y, batch_size=case["batch"], epochs=case["steps"], shuffle=False, verbose=0
    )
    for got, want in zip(model.get_weights(), golden["weights"], strict=True):
        close(got, want, "weights after training")
    close(history.history["loss"], golden["loss"], "loss history")
    close(model.evaluate(x, y, batch_size=case["batch"], verbose=0), golden["evaluate"], "evaluate")
