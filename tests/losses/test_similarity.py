"""Circle loss: pairs of the batch, masked lonely samples, reference embeddings."""

import numpy as np
import pytest

from gradstep import Sequential, layers, losses


def _unit(rows, size, seed):
    e = np.random.default_rng(seed).normal(size=(rows, size))
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def test_a_sample_without_positives_is_left_out_of_the_mean():
    embeddings = _unit(5, 3, 0)
    labels = np.array([0, 0, 1, 1, 7])
    per_sample = losses.Circle(reduction="none")(labels, embeddings)
    assert per_sample[4] == 0 and (per_sample[:4] > 0).all()
    assert losses.Circle()(labels, embeddings) == pytest.approx(per_sample[:4].mean())


def test_function_form_with_reference_embeddings():
    embeddings, reference = _unit(4, 3, 1), _unit(6, 3, 2)
    labels, reference_labels = np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1, 2, 2])
    against_self = losses.circle(labels, embeddings)
    np.testing.assert_allclose(against_self, losses.Circle(reduction="none")(labels, embeddings))
    against_reference = losses.circle(
        labels, embeddings, reference_labels, reference, remove_diagonal=False
    )
    assert against_reference.shape == (4,) and np.isfinite(against_reference).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"y_pred of shape \(batch, embedding size\)"):
        losses.Circle()([0, 1], np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match=r"one integer label per embedding.*\(3,\)"):
        losses.Circle()([0, 1], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="integer class labels for Circle, received 0.5"):
        losses.Circle()([0.5, 1.0], np.zeros((2, 2)))


def test_circle_pulls_classes_apart_in_training():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), 8)
    x = rng.normal(size=(24, 4)) + labels[:, None]
    model = Sequential([layers.Dense(3, input_shape=(4,))], seed=0)
    model.compile(optimizer="adam", loss=losses.Circle(gamma=8.0))
    history = model.fit(x, labels, epochs=20, batch_size=24, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
