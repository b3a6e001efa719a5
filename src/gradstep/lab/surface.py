"""Slices of a trained network's loss surface along random directions.

Li et al. (2018), "Visualizing the Loss Landscape of Neural Nets": draw a
random direction ``d`` with the shape of the weights, rescale each filter of
``d`` (for a Dense layer: the weights into one unit, a kernel column) to the
norm of the same filter of the weights, and leave biases out (``d = 0``).
Then evaluate the loss at ``w + a d1`` (a line) or ``w + a d1 + b d2`` (a
plane). Filter normalization makes slices of different networks comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SurfaceSlice:
    """Loss values on a grid of step sizes along one or two directions."""

    alphas: np.ndarray
    betas: np.ndarray | None
    losses: np.ndarray  # (len(alphas),) or (len(alphas), len(betas))
    center_loss: float


def filter_normalized_direction(weights: list[np.ndarray], rng: np.random.Generator):
    """A random direction shaped like ``weights``, each kernel column scaled to the
    norm of the matching column of the weights; 1-D arrays (biases) get zeros."""
    direction = []
    for weight in weights:
        if weight.ndim < 2:
            direction.append(np.zeros_like(weight))
            continue
        random = rng.standard_normal(weight.shape)
        axes = tuple(range(weight.ndim - 1))  # a filter is everything feeding one unit
        scale = np.linalg.norm(weight, axis=axes, keepdims=True) / (
            np.linalg.norm(random, axis=axes, keepdims=True) + 1e-12
        )
        direction.append((random * scale).astype(weight.dtype))
    return direction


def loss_surface(model, x, y, dimensions=1, span=1.0, points=21, seed=0, batch_size=256):
    """The loss of a compiled, trained ``model`` around its weights.

    Args:
        dimensions: 1 for a line, 2 for a plane.
        span: step sizes run over ``[-span, span]``.
        points: grid points per direction.
        seed: seeds the random directions.
    The model's weights are restored afterwards.
    """
    if dimensions not in (1, 2):
        raise ValueError(f"dimensions must be 1 or 2, received {dimensions!r}")
    rng = np.random.default_rng(seed)
    original = model.get_weights()
    directions = [filter_normalized_direction(original, rng) for _ in range(dimensions)]
    alphas = np.linspace(-span, span, points)
    betas = alphas if dimensions == 2 else None

    def loss_at(*steps):
        model.set_weights(
            [
                w + sum(s * d[i] for s, d in zip(steps, directions, strict=True))
                for i, w in enumerate(original)
            ]
        )
        return model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)["loss"]

    try:
        if dimensions == 1:
            losses = np.array([loss_at(a) for a in alphas])
        else:
            losses = np.array([[loss_at(a, b) for b in betas] for a in alphas])
    finally:
        model.set_weights(original)
    center = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)["loss"]
    return SurfaceSlice(alphas, betas, losses, center)


def plot_surface(surface: SurfaceSlice, output=None, title="Loss surface (filter-normalized)"):
    """A line plot (1D) or a contour plot (2D) of the slice; saved to ``output`` if given."""
    from gradstep.lab.landscapes import _pyplot

    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    if surface.betas is None:
        ax.plot(surface.alphas, surface.losses, "-o", markersize=3)
        ax.set_xlabel("step along the direction")
        ax.set_ylabel("loss")
    else:
        grid = ax.contourf(
            surface.betas, surface.alphas, np.log10(surface.losses), levels=30, cmap="viridis"
        )
        figure.colorbar(grid, ax=ax, label="log10 loss")
        ax.plot(0, 0, marker="*", color="gold", markersize=12, markeredgecolor="black")
        ax.set_xlabel("direction 2")
        ax.set_ylabel("direction 1")
    ax.set_title(title)
    figure.tight_layout()
    if output is not None:
        figure.savefig(output)
        plt.close(figure)
    return figure
