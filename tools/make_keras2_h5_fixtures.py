"""Write legacy Keras 2 ``.h5`` full-model files (tf.keras ``model.save("x.h5")``)
for tests/test_keras_legacy_h5.py, which reads them without TensorFlow:
tests/fixtures/keras2_h5/<name>.h5 and keras2_h5.json (the inputs and
TensorFlow's predictions). ``lambda.h5`` holds a Lambda layer (marshalled
bytecode of ``lambda t: t * 2``), which gradstep must refuse without running it.

Run: /tmp/tfref/bin/python tools/make_keras2_h5_fixtures.py   (TensorFlow 2.15, tf.keras)
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

keras = tf.keras
OUT = Path(__file__).parents[1] / "tests" / "fixtures" / "keras2_h5"


def mlp():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model, (8, 4)


def convnet():
    inputs = keras.Input((6, 6, 2))
    hidden = keras.layers.Conv2D(3, 3, activation="relu")(inputs)
    hidden = keras.layers.MaxPooling2D(2)(hidden)
    hidden = keras.layers.Flatten()(hidden)
    outputs = keras.layers.Dense(2, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model, (8, 6, 6, 2)


def with_lambda():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    return model, (2, 3)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, make in [("mlp", mlp), ("convnet", convnet), ("lambda", with_lambda)]:
        tf.keras.utils.set_random_seed(0)
        model, shape = make()
        inputs = np.random.default_rng(0).normal(size=shape).astype("float32")
        if model.optimizer is not None and model.compiled_loss is not None:
            targets = np.eye(2, dtype="float32")[np.arange(shape[0]) % 2]
            model.fit(inputs, targets, batch_size=4, epochs=1, verbose=0)
        model.save(OUT / f"{name}.h5")
        results[name] = {
            "inputs": inputs.tolist(),
            "predictions": np.asarray(model.predict(inputs, verbose=0)).tolist(),
        }
    with open(OUT.parent / "keras2_h5.json", "w", encoding="utf-8") as handle:
        json.dump(results, handle, separators=(",", ":"))
        handle.write("\n")


if __name__ == "__main__":
    main()
