"""How large float32 round-off is in the Keras parity tests, so their tolerances can be
checked against it rather than against one CPU.

For each training case of tests/models/test_keras_parity.py and tests/test_callbacks.py
it prints, as the largest over all epochs and weights:

- spread: how far the history (relative) and the final weights (absolute) move when
  every initial weight moves by at most one ulp, at random: round-off's own scale;
- keras: how far they are from Keras's goldens on this machine.

Run it under several of OpenBLAS's kernels to see the CPU's share, e.g.

    OPENBLAS_CORETYPE=Sandybridge python tools/measure_roundoff.py
"""

import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

TESTS = Path(__file__).parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "models")]
import test_keras_parity as parity  # noqa: E402

import test_callbacks  # noqa: E402
from conftest import load_json_fixture, load_npz_fixture  # noqa: E402

TRIALS = 8
rng = np.random.default_rng(0)


def nudged(weights):
    """Each weight moved to a random neighbour: down one ulp, unchanged or up one ulp."""
    moved = []
    for weight in weights:
        weight = np.asarray(weight, dtype=np.float32)
        direction = rng.integers(-1, 2, size=weight.shape).astype(np.float32)
        moved.append(np.nextafter(weight, weight + direction))
    return moved


def largest_differences(history, weights, other_history, other_weights):
    relative = max(
        float(np.max(np.abs(np.subtract(history[key], other_history[key]) / other_history[key])))
        for key in other_history
        if key != "learning_rate"
    )
    absolute = max(
        float(np.max(np.abs(a - b))) for a, b in zip(weights, other_weights, strict=True)
    )
    return relative, absolute


def report(name, train, initial, keras_history, keras_weights):
    history, weights = train(initial)
    spread = np.max(
        [largest_differences(*train(nudged(initial)), history, weights) for _ in range(TRIALS)],
        axis=0,
    )
    keras = largest_differences(history, weights, keras_history, keras_weights)
    print(f"{name:54} spread {spread[0]:.1e} {spread[1]:.1e}   keras {keras[0]:.1e} {keras[1]:.1e}")


def main():
    print(f"OpenBLAS kernel: {threadpool_info()[0].get('architecture')}")
    print(f"{'':54} history weights     history weights")
    training = load_json_fixture("keras_training.json")
    for name in parity.SMALL_CASES:
        case = parity._case(training, name)
        x = np.asarray(case["x"], dtype=np.float32)
        y = np.asarray(case["y"], dtype=case["y_dtype"])

        def train(initial, case=case, x=x, y=y):
            model, history = parity._train(case, x, y, initial)
            return history.history, model.get_weights()

        report(name, train, case["initial_weights"], case["history"], case["final_weights"])

    case = parity._case(training, "reference_digits_subset")
    arrays = load_npz_fixture("keras_reference_digits.npz")

    def train_digits(initial):
        model, history = parity._train(case, arrays["x"], arrays["y"], initial)
        return history.history, model.get_weights()

    initial = [arrays[f"w{i}"] for i in range(4)]
    final = [arrays[f"f{i}"] for i in range(4)]
    report(case["name"], train_digits, initial, case["history"], final)

    for case in test_callbacks.KERAS_CALLBACKS["cases"]:

        def train_with_callback(initial, case=case):
            model = test_callbacks._keras_case_model(case)
            model.set_weights(initial)
            history = model.fit(
                np.asarray(case["x"], dtype=np.float32),
                np.asarray(case["y"], dtype=case["y_dtype"]),
                batch_size=case["batch_size"],
                epochs=case["epochs"],
                validation_split=case["validation_split"],
                shuffle=False,
                verbose=0,
                callbacks=[test_callbacks._keras_case_callback(case)],
            )
            return history.history, model.get_weights()

        report(
            "callback " + case["name"],
            train_with_callback,
            case["initial_weights"],
            case["history"],
            case["final_weights"],
        )


if __name__ == "__main__":
    main()
