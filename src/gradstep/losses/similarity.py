"""Metric-learning losses: embeddings of one class close, of others apart."""

from __future__ import annotations

import numpy as np

from gradstep.losses._ops import _sigmoid, _softplus
from gradstep.losses.base import LOSSES, Loss, _as_predictions


@LOSSES.register("circle")
class Circle(Loss):
    """Circle loss over the pairs of a batch (Sun et al., 2020).

    With ``D = max(1 - E E^T, 0)`` the pairwise cosine distances of the
    (L2-normalized) embeddings ``E``, each pair of the same label (a positive,
    not the sample with itself when ``remove_diagonal``) and of different
    labels (a negative) gets a logit::

        positive: -gamma max(margin + D, 0) (margin - D)
        negative:  gamma max(1 + margin - D, 0) (1 - margin - D)

    and sample ``i``'s loss is
    ``softplus(logsumexp(positive logits of i) + logsumexp(negative logits of i))``.
    Samples whose loss is 0 (no positive or no negative in the batch) are
    left out of the mean, as in Keras. The slope goes through ``E E^T`` to
    every row. Use for metric learning (face or product retrieval): integer
    labels, embeddings from a linear layer followed by L2 normalization.

    Args:
        gamma: the scale of the logits.
        margin: the relaxation of the decision boundary.
        remove_diagonal: leave each sample's pair with itself out of the positives.

    Example:

        >>> import numpy as np
        >>> embeddings = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
        >>> round(float(Circle()([0, 0, 1, 1], embeddings)), 4)
        3.2009
    """

    name = "circle"

    def __init__(
        self,
        gamma=80.0,
        margin=0.4,
        remove_diagonal=True,
        reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(reduction, name)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def prepare(self, y_true, y_pred, targets_checked=False):
        y_pred = _as_predictions(y_pred)
        return _circle_labels(y_true, y_pred), y_pred

    def call(self, labels, y_pred):
        return self._terms(labels, y_pred, labels, y_pred)["loss"]

    def mask(self, labels, per_sample):
        return per_sample > 0

    def call_gradient(self, labels, y_pred):
        return self.call_vjp(labels, y_pred, 1.0)

    def call_vjp(self, labels, y_pred, upstream):
        terms = self._terms(labels, y_pred, labels, y_pred)
        distance, positive, negative = terms["distance"], terms["positive"], terms["negative"]
        margin, gamma = self.margin, self.gamma
        # Slope of each logit with respect to its distance.
        pos_weight_slope = (positive & ((margin + distance) * positive > 0)).astype(float)
        neg_weight_slope = -(negative & ((1 + margin - distance) * negative > 0)).astype(float)
        pos_slope = -gamma * (pos_weight_slope * (margin - distance) - terms["pos_weight"])
        neg_slope = gamma * (neg_weight_slope * (1 - margin - distance) - terms["neg_weight"])
        per_row = (upstream * _sigmoid(terms["sum"]))[:, None]
        wrt_distance = per_row * (terms["pos_share"] * pos_slope + terms["neg_share"] * neg_slope)
        wrt_similarity = -wrt_distance * (terms["similarity"] < 1)
        # similarity = E E^T: each row of E appears on both sides.
        return wrt_similarity @ y_pred + wrt_similarity.T @ y_pred

    def _terms(self, labels, embeddings, ref_labels, ref_embeddings):
        similarity = embeddings @ ref_embeddings.T
        distance = np.maximum(1 - similarity, 0)
        positive = labels[:, None] == ref_labels[None, :]
        negative = ~positive
        if self.remove_diagonal:
            positive &= ~np.eye(len(labels), len(ref_labels), dtype=bool)
        margin, gamma = self.margin, self.gamma
        pos_weight = np.maximum((margin + distance) * positive, 0)
        neg_weight = np.maximum((1 + margin - distance) * negative, 0)
        pos_lse, pos_share = _masked_logsumexp(-gamma * pos_weight * (margin - distance), positive)
        neg_lse, neg_share = _masked_logsumexp(
            gamma * neg_weight * (1 - margin - distance), negative
        )
        total = pos_lse + neg_lse
        return {
            "loss": _softplus(total),
            "sum": total,
            "similarity": similarity,
            "distance": distance,
            "positive": positive,
            "negative": negative,
            "pos_weight": pos_weight,
            "neg_weight": neg_weight,
            "pos_share": pos_share,
            "neg_share": neg_share,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "margin": self.margin,
            "remove_diagonal": self.remove_diagonal,
        }


def _circle_labels(y_true, y_pred) -> np.ndarray:
    if y_pred.ndim != 2:
        raise ValueError(
            f"Circle expects y_pred of shape (batch, embedding size), received {y_pred.shape}"
        )
    labels = np.asarray(y_true)
    if labels.ndim == 2 and labels.shape[-1] == 1:
        labels = labels[:, 0]
    if labels.shape != y_pred.shape[:1]:
        raise ValueError(
            f"Circle expects one integer label per embedding: y_true of shape "
            f"{y_pred.shape[:1]}, received {labels.shape}"
        )
    if labels.dtype.kind == "f" and not (labels == np.round(labels)).all():
        bad = labels[labels != np.round(labels)].flat[0].item()
        raise ValueError(f"y_true must hold integer class labels for Circle, received {bad!r}")
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"y_true must hold integer class labels, received dtype {labels.dtype}")
    return labels.astype(np.int64)


def _masked_logsumexp(values, mask):
    """Row-wise ``log(sum(exp(values)))`` over the masked entries (``-inf`` for a
    row with none), and each entry's share ``exp(value - result)``."""
    masked = np.where(mask, values, -np.inf)
    top = np.max(masked, axis=1, keepdims=True)
    # Subtracting the row max keeps exp() <= 1; an empty row has no max.
    top = np.where(np.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        result = np.log(np.sum(np.exp(masked - top), axis=1)) + top[:, 0]
    finite = np.isfinite(result)[:, None]
    share = np.where(mask & finite, np.exp(masked - np.where(finite, result[:, None], 0)), 0)
    return result, share


def circle(
    y_true,
    y_pred,
    ref_labels=None,
    ref_embeddings=None,
    remove_diagonal=True,
    gamma=80,
    margin=0.4,
):
    """Circle loss of each sample against ``ref_embeddings`` (default the batch itself)."""
    loss = Circle(gamma, margin, remove_diagonal)
    labels, y_pred = loss.prepare(y_true, y_pred)
    ref_embeddings = y_pred if ref_embeddings is None else _as_predictions(ref_embeddings)
    ref_labels = labels if ref_labels is None else _circle_labels(ref_labels, ref_embeddings)
    return loss._terms(labels, y_pred, ref_labels, ref_embeddings)["loss"]
