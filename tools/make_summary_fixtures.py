"""The classic summary tables of functional models, printed by TF-Keras 2.15
(the layout gradstep's ``summary()`` follows, see SEED_FACTS.md).

Produces tests/fixtures/summaries/<case>.txt, one table per case; the test
tests/test_summary.py builds the same models in gradstep and compares the text.
Every layer is named, so that the names do not depend on a counter; the
models come from tests/functional_models.py, which the test uses too.

Run in an environment with TensorFlow 2.15 (its Keras is TF-Keras 2.15):
    python3 -m venv /tmp/tfref && /tmp/tfref/bin/pip install "tensorflow-cpu==2.15.*"
    /tmp/tfref/bin/python tools/make_summary_fixtures.py
"""

import os
import sys

import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, os.pardir, "tests", "fixtures", "summaries")
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
import functional_models  # noqa: E402  (the builders the tests use too)

keras = tf.keras


CASES = [
    "two_inputs_shared_residual",
    "a_chain",
    "long_names_and_a_flatten_called_twice",
    "mnist_convnet",
    "batchnorm_mlp",
]


def main():
    os.makedirs(FOLDER, exist_ok=True)
    for name in CASES:
        lines = []
        getattr(functional_models, name)(keras).summary(print_fn=lines.append)
        with open(os.path.join(FOLDER, f"{name}.txt"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"wrote {name}.txt (TensorFlow {tf.__version__})")


if __name__ == "__main__":
    main()
