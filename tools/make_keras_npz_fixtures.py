"""Write golden ``.keras`` archives whose weights Keras 3 stored as
``model.weights.npz``, for tests/test_keras_npz.py (which reads them
without Keras).

Keras's public ``model.save`` always writes HDF5 weights; its own loader also
takes an npz member, which ``keras.src.saving.saving_lib.save_model(model,
path, weights_format="npz")`` writes (each layer's variables as a dict
pickled in a 0-d object array). Each model below is built with a fixed seed,
compiled, trained one epoch and saved that way, then re-zipped with DEFLATE
(each member's bytes, the npz's included, as Keras wrote them):
tests/fixtures/keras_npz/<name>.keras.
tests/fixtures/keras_npz/expected.json holds, per model, its inputs and
targets, Keras's predictions, and its weights after one more epoch.

Run with each backend whose Variables pickle differently:
  KERAS_BACKEND=jax /tmp/ref/bin/python tools/make_keras_npz_fixtures.py
  KERAS_BACKEND=torch /work/main/.venv/bin/python tools/make_keras_npz_fixtures.py
  KERAS_BACKEND=numpy /work/main/.venv/bin/python tools/make_keras_npz_fixtures.py
(PyTorch: a few of the models, named <model>_torch_backend; the NumPy backend
cannot train: it writes one untrained model, predictions only).
"""

import io
import json
import os
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.saving import saving_lib  # noqa: E402

OUT = Path(__file__).parents[1] / "tests" / "fixtures" / "keras_npz"
BACKEND = keras.backend.backend()


def dense():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)]
    )
    return model, [(5, 4)], [(5, 2)], ("SGD", {"learning_rate": 0.05, "momentum": 0.9})


def functional():
    left, right = keras.Input((3,), name="left"), keras.Input((2,), name="right")
    joined = keras.layers.Concatenate()([keras.layers.Dense(4, activation="tanh")(left), right])
    first = keras.layers.Dense(2, name="first")(joined)
    second = keras.layers.Dense(1, activation="sigmoid", name="second")(joined)
    model = keras.Model([left, right], [first, second])
    return model, [(4, 3), (4, 2)], [(4, 2), (4, 1)], ("Adam", {"learning_rate": 0.01})


def conv():
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    return model, [(3, 6, 6, 2)], [(3, 2)], ("SGD", {"learning_rate": 0.05})


def rnn():
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)]
    )  # fmt: skip
    return model, [(3, 5, 3)], [(3, 1)], ("RMSprop", {"learning_rate": 0.01})


def batch_norm():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)]
    )
    return model, [(6, 4)], [(6, 2)], ("SGD", {"learning_rate": 0.05})


def embedding():
    model = keras.Sequential(
        [
            keras.Input((4,), dtype="int32"),
            keras.layers.Embedding(10, 3),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(2),
        ]
    )
    return model, [(5, 4)], [(5, 2)], ("Adam", {"learning_rate": 0.01})


MODELS = {"dense": dense, "functional": functional, "conv": conv, "rnn": rnn,
          "batch_norm": batch_norm, "embedding": embedding}  # fmt: skip


TORCH_MODELS = ["dense", "conv", "rnn"]


def data(shapes, rng, integers=False):
    if integers:
        return [rng.integers(0, 10, size=shape).astype("int32") for shape in shapes]
    return [rng.normal(size=shape).astype("float32") for shape in shapes]


def unpack(arrays):
    return arrays[0] if len(arrays) == 1 else arrays


def trained(name, label):
    keras.utils.set_random_seed(0)
    model, input_shapes, target_shapes, (optimizer, options) = MODELS[name]()
    rng = np.random.default_rng(1)
    inputs = data(input_shapes, rng, integers=name == "embedding")
    targets = data(target_shapes, rng)
    model.compile(optimizer=getattr(keras.optimizers, optimizer)(**options), loss="mse")
    model.fit(unpack(inputs), unpack(targets), batch_size=8, epochs=1, shuffle=False, verbose=0)
    save(model, label)
    entry = {
        "inputs": [x.tolist() for x in inputs],
        "targets": [y.tolist() for y in targets],
        "predictions": [
            keras.ops.convert_to_numpy(p).tolist() for p in _as_list(model(unpack(inputs)))
        ],
    }
    model.fit(unpack(inputs), unpack(targets), batch_size=8, epochs=1, shuffle=False, verbose=0)
    entry["weights_after_an_epoch"] = [w.tolist() for w in model.get_weights()]
    return entry


def untrained_on_numpy_backend():
    keras.utils.set_random_seed(0)
    model, input_shapes, _, _ = dense()
    inputs = data(input_shapes, np.random.default_rng(1))
    save(model, "dense_numpy_backend")
    predictions = [np.asarray(model(inputs[0])).tolist()]
    return {"inputs": [x.tolist() for x in inputs], "predictions": predictions}


def save(model, label: str) -> None:
    raw = OUT / f"{label}.raw.keras"
    saving_lib.save_model(model, raw, weights_format="npz")
    (OUT / f"{label}.keras").write_bytes(rezipped(raw))
    raw.unlink()


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


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "expected.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if BACKEND == "numpy":
        results["dense_numpy_backend"] = untrained_on_numpy_backend()
    else:
        # Keras on PyTorch pickles torch tensors (a nested format): a few models suffice
        names = sys.argv[1:] or (TORCH_MODELS if BACKEND == "torch" else MODELS)
        for name in names:
            label = f"{name}_torch_backend" if BACKEND == "torch" else name
            print(label, flush=True)
            results[label] = trained(name, label)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(float32_text(results), handle, separators=(",", ":"), sort_keys=True)
        handle.write("\n")


def float32_text(value):
    """Each float as the shortest decimal that gives back the same float32."""
    if isinstance(value, float):
        return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))
    if isinstance(value, list):
        return [float32_text(item) for item in value]
    if isinstance(value, dict):
        return {key: float32_text(item) for key, item in value.items()}
    return value


if __name__ == "__main__":
    main()
