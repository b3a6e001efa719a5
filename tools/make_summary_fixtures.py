"""The classic summary tables of functional models, printed by TF-Keras 2.15
(the layout gradstep's ``summary()`` follows, see SEED_FACTS.md).

Produces tests/fixtures/summaries/<case>.txt, one table per case; the test
tests/test_summary.py builds the same models in gradstep and compares the text.
Every layer is named, so that the names do not depend on a counter.

Run in an environment with TensorFlow 2.15 (its Keras is TF-Keras 2.15):
    python3 -m venv /tmp/tfref && /tmp/tfref/bin/pip install "tensorflow-cpu==2.15.*"
    /tmp/tfref/bin/python tools/make_summary_fixtures.py
"""

import os

import tensorflow as tf

keras = tf.keras
layers = keras.layers
HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, os.pardir, "tests", "fixtures", "summaries")


def two_inputs_shared_residual():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    shared = layers.Dense(5, activation="tanh", name="shared")
    branch_a = shared(layers.Dense(3, name="proj_a")(a))
    branch_b = shared(b)
    merged = layers.Add(name="merge")([branch_a, branch_b])
    hidden = layers.Dense(5, activation="relu", name="hidden")(merged)
    residual = layers.Add(name="residual")([hidden, merged])
    out = layers.Dense(2, name="out")(residual)
    return keras.Model([a, b], out, name="two_inputs")


def a_chain():
    inputs = keras.Input(shape=(64,), name="pixels")
    hidden = layers.Dense(512, activation="relu", name="dense")(inputs)
    outputs = layers.Dense(10, activation="softmax", name="dense_1")(hidden)
    return keras.Model(inputs, outputs, name="functional_chain")


def long_names_and_a_flatten_called_twice():
    images = keras.Input(shape=(2, 3), name="images_with_a_rather_long_name")
    vectors = keras.Input(shape=(4,), name="vectors")
    flatten = layers.Flatten(name="flatten_shared_between_branches")
    joined = layers.Concatenate(name="concatenate")([flatten(images), flatten(vectors)])
    outputs = layers.Dense(1, name="a_dense_layer_with_a_long_name")(joined)
    return keras.Model([images, vectors], outputs, name="wrapped")


CASES = {
    "two_inputs_shared_residual": two_inputs_shared_residual,
    "a_chain": a_chain,
    "long_names_and_a_flatten_called_twice": long_names_and_a_flatten_called_twice,
}


def main():
    os.makedirs(FOLDER, exist_ok=True)
    for name, build in CASES.items():
        lines = []
        build().summary(print_fn=lines.append)
        with open(os.path.join(FOLDER, f"{name}.txt"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"wrote {name}.txt (TensorFlow {tf.__version__})")


if __name__ == "__main__":
    main()
