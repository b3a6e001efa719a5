import numpy as np
import pytest

from gradstep.lab.explain import explain_step, worked_examples


def test_worked_example_one_weight():
    """SEED_FACTS 2: error -4, input 3: slope 2 * -4 * 3 = -24; weight 2 -> 2.24."""
    step = worked_examples()[0]
    assert step.error_before == -4
    (detail,) = step.details
    assert (detail.slope_at_node, detail.value_feeding, detail.activation_slope) == (-8, 3, 1)
    assert detail.slope == -24
    assert detail.new_weight == pytest.approx(2.24, abs=1e-15)
    assert "2 - 0.01 * -24 = 2.24" in step.text()


def test_worked_example_two_weights():
    """SEED_FACTS 2: prediction 11, error 5, gradient [30, 40], weights [0.7, 1.6], error 2.5."""
    step = worked_examples()[1]
    assert step.prediction[0] == 11 and step.error_before == 5
    np.testing.assert_array_equal(step.slopes[0].ravel(), [30, 40])
    np.testing.assert_allclose(step.new_weights[0].ravel(), [0.7, 1.6], rtol=1e-15)
    assert step.error_after == pytest.approx(2.5, abs=1e-12)
    text = step.text()
    for line in (
        "error = prediction - target = 5",
        "10 x 3 x 1 = 30",
        "10 x 4 x 1 = 40",
        "1 - 0.01 * 30 = 0.7",
        "2 - 0.01 * 40 = 1.6",
        "Error after the step: 2.5",
    ):
        assert line in text


def test_relu_hidden_layer_products_match_the_chain_rule():
    """The lessons' exercise shape: ReLU network, input [3, 2], target 5."""
    step = explain_step(weights=[[[1, -1], [1, 1]], [[2], [-1]]], inputs=[3, 2], target=5)
    assert list(step.node_values[1]) == [5, 0]  # relu(3 - 2 ... ) per node
    assert step.error_before == 5
    by_weight = {(d.layer, d.source, d.node): d for d in step.details}
    assert by_weight[(1, 1, 1)].slope == 2 * 5 * 2 * 3  # 2*error x weight 2 x input 3 x relu' 1
    assert by_weight[(1, 1, 2)].activation_slope == 0  # the dead ReLU node passes no slope
    assert step.loss_after < step.loss_before


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"weights": [[1.0, 2.0, 3.0]], "inputs": [3, 4], "target": 6},
            r"weights of layer 1 must have 2 rows .* received shape \(3, 1\)",
        ),
        (
            {"weights": [1.0, 2.0], "inputs": [3, 4], "target": [6, 7]},
            r"target must have 1 value\(s\)",
        ),
    ],
)
def test_bad_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        explain_step(**kwargs)


def test_other_loss_and_activation():
    step = explain_step(
        weights=[0.5],
        inputs=[2.0],
        target=0.0,
        output_activation="sigmoid",
        loss="binary_crossentropy",
        learning_rate=0.1,
    )
    assert step.loss_after < step.loss_before
