"""The playground's data: 2-D points with a label or a value.

``make_dataset`` draws TensorFlow Playground's toy sets (its ``dataset.ts``,
with NumPy's generator in place of its ``Math.random``): four classification
sets (``circle``, ``xor``, ``gaussians``, ``spiral``; labels 0 and 1 where
Playground has -1 and 1) and two regression sets (``plane``,
``multi_gaussian``), points in [-6, 6]². ``parse_csv`` reads a user's file:
two numeric columns as the point, a third as the target. ``feature_matrix``
turns points into the network's inputs (x1, x2, x1², ...).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from gradstep.validation import check_int, check_real

CLASSIFICATION = "classification"
REGRESSION = "regression"
#: Playground's input plane: x1 and x2 in [-6, 6].
PLANE_BOUNDS = (-6.0, 6.0, -6.0, 6.0)


@dataclass(frozen=True)
class PlaneData:
    """Points split into train and test, with what the targets are.

    Attributes:
        name: the set's name (``"circle"``, ``"csv"``, ...).
        task: ``"classification"`` (targets 0 and 1) or ``"regression"``.
        train_points: float64 array of shape (n_train, 2).
        train_targets: float64 array of shape (n_train,).
        test_points: float64 array of shape (n_test, 2).
        test_targets: float64 array of shape (n_test,).
        bounds: the plane to draw, ``(x1_min, x1_max, x2_min, x2_max)``.
    """

    name: str
    task: str
    train_points: np.ndarray
    train_targets: np.ndarray
    test_points: np.ndarray
    test_targets: np.ndarray
    bounds: tuple[float, float, float, float]


# --- the toy sets, as Playground draws them ----------------------------------------------
def _circle(rng, samples, noise):
    radius = 5.0
    inner = samples // 2
    distances = np.concatenate(
        [
            rng.uniform(0, radius * 0.5, inner),
            rng.uniform(radius * 0.7, radius, samples - inner),
        ]
    )
    angles = rng.uniform(0, 2 * math.pi, samples)
    points = np.stack([distances * np.sin(angles), distances * np.cos(angles)], axis=1)
    shifted = points + rng.uniform(-radius, radius, (samples, 2)) * noise
    labels = np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5
    return points, labels.astype(np.float64)


def _xor(rng, samples, noise):
    padding = 0.3
    points = rng.uniform(-5, 5, (samples, 2))
    points += np.where(points > 0, padding, -padding)
    shifted = points + rng.uniform(-5, 5, (samples, 2)) * noise
    labels = shifted[:, 0] * shifted[:, 1] >= 0
    return points, labels.astype(np.float64)


def _gaussians(rng, samples, noise):
    variance = 0.5 + (4 - 0.5) * noise  # Playground's lerp(0.5, 4, noise)
    half = samples // 2
    positive = rng.normal(2, math.sqrt(variance), (half, 2))
    negative = rng.normal(-2, math.sqrt(variance), (samples - half, 2))
    labels = np.concatenate([np.ones(half), np.zeros(samples - half)])
    return np.concatenate([positive, negative]), labels


def _spiral(rng, samples, noise):
    half = samples // 2
    arms = []
    for count, delta, label in ((half, 0.0, 1.0), (samples - half, math.pi, 0.0)):
        steps = np.arange(count) / count
        radius = steps * 5
        angle = 1.75 * steps * 2 * math.pi + delta
        points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
        points += rng.uniform(-1, 1, (count, 2)) * noise
        arms.append((points, np.full(count, label)))
    return np.concatenate([a[0] for a in arms]), np.concatenate([a[1] for a in arms])


def _plane(rng, samples, noise):
    radius = 6.0
    points = rng.uniform(-radius, radius, (samples, 2))
    shifted = points + rng.uniform(-radius, radius, (samples, 2)) * noise
    values = (shifted[:, 0] + shifted[:, 1]) / 10  # Playground's scale: [-10, 10] -> [-1, 1]
    return points, values


_GAUSSIAN_CENTRES = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1)]
_GAUSSIAN_CENTRES.append((4, -2.5, -1))


def _multi_gaussian(rng, samples, noise):
    radius = 6.0
    points = rng.uniform(-radius, radius, (samples, 2))
    shifted = points + rng.uniform(-radius, radius, (samples, 2)) * noise
    values = np.zeros(samples)
    for cx, cy, sign in _GAUSSIAN_CENTRES:
        distance = np.hypot(shifted[:, 0] - cx, shifted[:, 1] - cy)
        candidate = sign * np.clip(1 - distance / 2, 0, 1)
        values = np.where(np.abs(candidate) > np.abs(values), candidate, values)
    return points, values


#: name -> (task, the drawing function)
DATASETS = {
    "circle": (CLASSIFICATION, _circle),
    "xor": (CLASSIFICATION, _xor),
    "gaussians": (CLASSIFICATION, _gaussians),
    "spiral": (CLASSIFICATION, _spiral),
    "plane": (REGRESSION, _plane),
    "multi_gaussian": (REGRESSION, _multi_gaussian),
}


def make_dataset(name, *, samples=400, noise=0.0, test_ratio=0.5, seed=0) -> PlaneData:
    """One of Playground's sets, shuffled and split as Playground does.

        >>> data = make_dataset("spiral", samples=100, noise=0.1, seed=3)
        >>> data.task, data.train_points.shape, data.test_points.shape
        ('classification', (50, 2), (50, 2))

    Args:
        name: ``circle``, ``xor``, ``gaussians``, ``spiral`` (classification)
            or ``plane``, ``multi_gaussian`` (regression).
        samples: how many points, 10 to 10000.
        noise: Playground's noise, 0 (none) to 1 (its slider goes to 0.5).
        test_ratio: the share of points kept for testing, 0.1 to 0.9.
        seed: the generator's seed (a non-negative integer): the same seed
            gives the same points.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, received {name!r}")
    samples = check_int(samples, "samples", minimum=10)
    if samples > 10000:
        raise ValueError(f"samples must be at most 10000, received {samples}")
    noise = float(check_real(noise, "noise", low=0, high=1))
    test_ratio = _check_test_ratio(test_ratio)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    task, draw = DATASETS[name]
    points, targets = draw(rng, samples, noise)
    return _split(name, task, points, targets, test_ratio, rng, PLANE_BOUNDS)


def _check_test_ratio(test_ratio) -> float:
    return float(check_real(test_ratio, "test_ratio", low=0.1, high=0.9))


def _split(name, task, points, targets, test_ratio, rng, bounds) -> PlaneData:
    """Shuffle, then the first ``1 - test_ratio`` of the points train (Playground's split)."""
    order = rng.permutation(len(points))
    points, targets = points[order], targets[order]
    train_count = min(max(1, int(len(points) * (1 - test_ratio))), len(points) - 1)
    return PlaneData(
        name=name,
        task=task,
        train_points=points[:train_count],
        train_targets=targets[:train_count],
        test_points=points[train_count:],
        test_targets=targets[train_count:],
        bounds=tuple(float(b) for b in bounds),
    )


# --- a user's CSV file -------------------------------------------------------------------
MIN_CSV_ROWS = 10


def parse_csv(
    data: bytes,
    x1: str,
    x2: str,
    target: str,
    *,
    max_bytes: int,
    max_rows: int,
    test_ratio=0.5,
    seed=0,
) -> PlaneData:
    """A CSV file with a header row, read as points ``(x1, x2)`` and a target.

    The task is classification when every target is 0 or 1, else regression.

        >>> text = "a,b,label\\n" + "".join(f"{i},{-i},{i % 2}\\n" for i in range(20))
        >>> data = parse_csv(text.encode(), "a", "b", "label", max_bytes=10_000, max_rows=100)
        >>> data.task, len(data.train_points) + len(data.test_points)
        ('classification', 20)

    Args:
        data: the file's bytes (UTF-8, a byte-order mark allowed).
        x1: the header of the column that gives the first coordinate.
        x2: the header of the column that gives the second coordinate.
        target: the header of the column that gives the label or value.
        max_bytes: the largest file accepted.
        max_rows: the most data rows accepted.
        test_ratio: the share of rows kept for testing, 0.1 to 0.9.
        seed: the seed of the shuffle before the split.

    Raises:
        ValueError: a file too large, not UTF-8, without a header, naming a
            column it does not have, with a cell that is not a finite number
            (its row and column named), with fewer than 10 rows or more than
            ``max_rows``.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"the CSV data must be bytes, received {type(data).__name__}")
    if len(data) > max_bytes:
        raise ValueError(f"the CSV file is too large: {len(data)} bytes, the limit is {max_bytes}")
    test_ratio = _check_test_ratio(test_ratio)
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"the CSV file must be UTF-8 text; byte {error.start} is not ({error.reason})"
        ) from None
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header or all(not cell.strip() for cell in header):
        raise ValueError("the CSV file is empty: it needs a header row naming its columns")
    header = [cell.strip() for cell in header]
    columns = [_column(header, chosen, role) for chosen, role in ((x1, "x1"), (x2, "x2"))]
    columns.append(_column(header, target, "target"))
    values = _numbers(rows, header, columns, max_rows)
    points, targets = values[:, :2], values[:, 2]
    task = CLASSIFICATION if np.isin(targets, (0.0, 1.0)).all() else REGRESSION
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    return _split("csv", task, points, targets, test_ratio, rng, _bounds_of(points))


def _column(header: list[str], name, role: str) -> int:
    if not isinstance(name, str) or name.strip() not in header:
        raise ValueError(
            f"the CSV file has no column {name!r} for {role}; its columns are "
            f"{', '.join(repr(h) for h in header)}"
        )
    return header.index(name.strip())


def _numbers(rows, header: list[str], columns: list[int], max_rows: int) -> np.ndarray:
    values = []
    for line, row in enumerate(rows, start=2):  # the header is line 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(values) == max_rows:
            raise ValueError(f"the CSV file has more than {max_rows} rows, the limit")
        values.append([_number(row, column, line, header) for column in columns])
    if len(values) < MIN_CSV_ROWS:
        raise ValueError(
            f"the CSV file needs at least {MIN_CSV_ROWS} data rows, it has {len(values)}"
        )
    return np.array(values, dtype=np.float64)


def _number(row: list[str], column: int, line: int, header: list[str]) -> float:
    name = header[column]
    if column >= len(row):
        raise ValueError(f"the CSV file's line {line} has no cell in column {name!r}")
    cell = row[column].strip()
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(
            f"the CSV file's line {line}, column {name!r} must be a number, received {cell!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"the CSV file's line {line}, column {name!r} must be a finite number, "
            f"received {cell!r}"
        )
    return value


def _bounds_of(points: np.ndarray) -> tuple[float, float, float, float]:
    """The points' extent with a 5% margin (never empty)."""
    bounds = []
    for axis in (0, 1):
        low, high = float(points[:, axis].min()), float(points[:, axis].max())
        margin = 0.05 * (high - low) or 1.0
        bounds += [low - margin, high + margin]
    return tuple(bounds)


# --- the network's inputs ----------------------------------------------------------------
#: The input features Playground offers, by name, from the points' two columns.
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def check_features(chosen, argument: str = "features") -> list[str]:
    """``chosen`` as a list of distinct names from ``FEATURES``, at least one."""
    if not isinstance(chosen, list | tuple) or not chosen:
        raise ValueError(
            f"{argument} must be a non-empty list of names from {list(FEATURES)}, "
            f"received {chosen!r}"
        )
    for name in chosen:
        if name not in FEATURES:
            raise ValueError(
                f"{argument} holds {name!r}, which is not a feature; expected names from "
                f"{list(FEATURES)}"
            )
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"{argument} names a feature twice: {list(chosen)}")
    return list(chosen)


def feature_matrix(points, chosen) -> np.ndarray:
    """The network's inputs: one float32 column per chosen feature, in order.

    >>> feature_matrix(np.array([[2.0, 3.0]]), ["x1*x2", "x1^2"])
    array([[6., 4.]], dtype=float32)
    """
    chosen = check_features(chosen)
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), received shape {points.shape}")
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([FEATURES[name](x1, x2) for name in chosen], axis=1).astype(np.float32)
