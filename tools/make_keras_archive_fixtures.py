"""Write the golden ``.keras`` archives that Keras 3 saves, for
tests/test_keras_archive_reading.py (which reads them without Keras).

For each layer case of tests/layer_cases/ (or the families named on the
command line): the case's model, built in Keras, compiled with the case's
optimizer (SGD unless it says otherwise: Adam would blow float32 round-off in
gradients that are zero in exact arithmetic up to the size of its step) and
loss, trained one step, saved by ``model.save``. Each archive is kept
as Keras wrote it but re-zipped with DEFLATE (the members' bytes unchanged),
which keeps the fixtures small: tests/fixtures/keras_archives/<family>/<case>.keras.
tests/fixtures/keras_archives/<family>.json holds Keras's predictions for the
case's inputs, and its weights after one more training step from the archive.

The "optimizers" family: a small MLP trained 2 steps with each optimizer whose
state gradstep maps (and with ``use_ema`` and gradient accumulation), saved;
the JSON holds, per archive, the optimizer's class, its ``iterations`` when
saved and the weights after 2 more steps.
One archive, ``as_keras_wrote_it.keras``, is kept byte for byte (stored, not
re-zipped).

Run: KERAS_BACKEND=jax /tmp/ref/bin/python tools/make_keras_archive_fixtures.py [family ...]
"""

import importlib
import io
import json
import os
import pkgutil
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import layer_cases  # noqa: E402
from layer_cases import build, complete, inputs_for, targets_for  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "keras_archives"
OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("Adam", {"learning_rate": 0.01}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 0.5}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("Ftrl", {"learning_rate": 0.05}),
    ("Lion", {"learning_rate": 0.001}),
    ("Lamb", {"learning_rate": 0.01}),
    ("Adafactor", {"learning_rate": 0.01}),
    ("Muon", {"learning_rate": 0.01}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}, "Adam_ema"),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "use_ema": True,
             "ema_overwrite_frequency": 3}, "SGD_ema_overwrite"),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2}, "Adam_accumulation"),
]  # fmt: skip


def rezipped(path: Path) -> bytes:
    """The archive with the same members, DEFLATE-compressed."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for name in source.namelist():
            target.writestr(name, source.read(name))
    return buffer.getvalue()


def save(model, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / f"{name}.raw.keras"
    model.save(raw)
    (folder / f"{name}.keras").write_bytes(rezipped(raw))
    raw.unlink()


def layer_family(family: str) -> None:
    module = importlib.import_module(f"layer_cases.{family}")
    results = {}
    for case in module.CASES:
        case = complete(case)
        keras.utils.set_random_seed(case["seed"])
        model = build(case, keras)
        inputs = inputs_for(case, np)
        # run_eagerly: tiny models, where compiling each step costs far more than running it
        optimizer = getattr(keras.optimizers, case["optimizer"][0])(**case["optimizer"][1])
        model.compile(optimizer=optimizer, loss=case["loss"], run_eagerly=True)
        targets = targets_for(case, np.asarray(model(inputs)).shape, np)
        if case["train"]:
            model.fit(inputs, targets, batch_size=case["batch"], epochs=1, verbose=0)
        save(model, OUT / family, case["name"])
        entry = {"predictions": np.asarray(model(inputs, training=False)).tolist()}
        if case["train"]:
            model.fit(inputs, targets, batch_size=case["batch"], epochs=1, verbose=0)
            entry["weights_after_a_step"] = [w.tolist() for w in model.get_weights()]
        results[case["name"]] = entry
    write_json(OUT / f"{family}.json", results)


def mlp():
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(2),
        ]
    )


def optimizer_family() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(8, 5)).astype("float32")
    targets = rng.normal(size=(8, 2)).astype("float32")
    results = {"inputs": inputs.tolist(), "targets": targets.tolist()}
    for name, options, *label in OPTIMIZERS:
        label = label[0] if label else name
        keras.utils.set_random_seed(0)
        model = mlp()
        model.compile(
            optimizer=getattr(keras.optimizers, name)(**options),
            loss="mse",
            metrics=["mae"],
            run_eagerly=True,
        )
        model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
        save(model, OUT / "optimizers", label)
        iterations = int(np.asarray(model.optimizer.iterations))
        model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
        weights = [w.tolist() for w in model.get_weights()]
        results[label] = {"class_name": name, "iterations": iterations, "weights": weights}
    write_json(OUT / "optimizers.json", results)
    keras.utils.set_random_seed(0)
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    model.save(OUT / "as_keras_wrote_it.keras")


def float32_text(value):
    """``value`` with each float as the shortest decimal that gives back the
    same float32 (Keras's numbers are float32: nothing is lost, and the file
    is about half the size of float64's 17 digits)."""
    if isinstance(value, float):
        return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))
    if isinstance(value, list):
        return [float32_text(item) for item in value]
    if isinstance(value, dict):
        return {key: float32_text(item) for key, item in value.items()}
    return value


def write_json(path: Path, value) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(float32_text(value), handle, separators=(",", ":"))
        handle.write("\n")


def main(families: list[str]) -> None:
    known = [info.name for info in pkgutil.iter_modules(layer_cases.__path__)]
    for family in families or [*known, "optimizers"]:
        print(family, flush=True)
        optimizer_family() if family == "optimizers" else layer_family(family)


if __name__ == "__main__":
    main(sys.argv[1:])
