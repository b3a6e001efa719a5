"""Model selection on a validation part, and paired differences between configurations.

A sweep must choose among configurations on data it did not train on and that
the final score does not come from. :func:`split_validation` cuts a validation
part out of the training data (stratified for classification), fixed by the
trial's seed alone, so that every configuration of one seed trains and is
judged on the same rows: their differences are paired. The test part is
touched once, for the chosen configuration.

For configurations ``c`` and the chosen one ``b``, each seed ``s`` gives the
paired difference ``d_s = score(c, s) - score(b, s)``. Over ``n`` seeds, its
mean and 95% interval are

    mean(d) ± t(0.975, n - 1) * std(d, ddof=1) / sqrt(n)

(Student's t: the seeds are few, and the differences of one seed share its
data split and initialization, so their spread is what is left to chance).
"""

from __future__ import annotations

import math

import numpy as np

from gradstep.datasets.split import split_indices

#: Student's t quantile at 0.975 for 1 to 30 degrees of freedom.
_T_975 = (
    12.7062,
    4.3027,
    3.1824,
    2.7764,
    2.5706,
    2.4469,
    2.3646,
    2.3060,
    2.2622,
    2.2281,
    2.2010,
    2.1788,
    2.1604,
    2.1448,
    2.1314,
    2.1199,
    2.1098,
    2.1009,
    2.0930,
    2.0860,
    2.0796,
    2.0739,
    2.0687,
    2.0639,
    2.0595,
    2.0555,
    2.0518,
    2.0484,
    2.0452,
    2.0423,
)
_Z_975 = 1.959964

#: What selection can go by: the mean over seeds of the final validation loss, or of
#: the final validation metric (accuracy: the highest; MAE: the lowest).
SELECT_BY = ("val_loss", "val_metric")


def t_quantile_975(degrees_of_freedom: int) -> float:
    """Student's t quantile at 0.975: a table to 30 degrees of freedom, beyond it the
    Cornish-Fisher expansion around the normal quantile (within 1e-5 there)."""
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be at least 1, received {degrees_of_freedom}")
    if degrees_of_freedom <= len(_T_975):
        return _T_975[degrees_of_freedom - 1]
    z, df = _Z_975, degrees_of_freedom
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def split_validation(labels, fraction: float, seed: int, stratify: bool):
    """Row indices ``(train, validation)`` of the training data, fixed by ``seed``.

    ``fraction`` of the rows go to validation, in each class's proportion when
    ``stratify`` (classification), as scikit-learn's ``train_test_split`` cuts them
    (``gradstep.datasets.split``, which gives the same rows without scikit-learn).
    """
    fraction = float(fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_split must be between 0 and 1, received {fraction}")
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot
        labels = labels.argmax(axis=1)
    try:
        train, validation = split_indices(labels, stratify, fraction, int(seed) % 2**32)
    except ValueError as error:
        raise ValueError(
            f"validation_split={fraction} cannot cut a stratified validation part out of "
            f"{len(labels)} training rows: {error}"
        ) from None
    return np.sort(train), np.sort(validation)


def higher_is_better(select_by: str, metric: str) -> bool:
    return select_by == "val_metric" and metric == "accuracy"


def criterion_key(select_by: str) -> str:
    """The trial field a selection by ``select_by`` compares."""
    if select_by not in SELECT_BY:
        raise ValueError(f"select_by must be one of {SELECT_BY}, received {select_by!r}")
    return "final_val_loss" if select_by == "val_loss" else "final_val_metric"


def choose(summary: list[dict], select_by: str, metric: str) -> int | None:
    """Index of the summary row with the best mean criterion (None if none is finite)."""
    key = criterion_key(select_by) + "_mean"
    finite = [(row[key], index) for index, row in enumerate(summary) if math.isfinite(row[key])]
    if not finite:
        return None
    if higher_is_better(select_by, metric):
        return max(finite, key=lambda pair: (pair[0], -pair[1]))[1]
    return min(finite)[1]


def paired_difference(scores, reference) -> dict:
    """Mean and 95% interval of ``scores - reference``, paired by position (seed)."""
    differences = np.asarray(scores, dtype=float) - np.asarray(reference, dtype=float)
    count = len(differences)
    mean = float(np.mean(differences)) if count else math.nan
    if count < 2 or not np.all(np.isfinite(differences)):
        return {"mean": mean, "low": math.nan, "high": math.nan}
    half = t_quantile_975(count - 1) * float(np.std(differences, ddof=1)) / math.sqrt(count)
    return {"mean": mean, "low": mean - half, "high": mean + half}
