"""Regenerate the lab's pictures in docs/images/ with gradstep itself.

    python tools/make_lab_images.py

Writes docs/images/landscape_rosenbrock.png (optimizer paths) and
docs/images/compare_lr_sensitivity.png (a small digits sweep).
"""

from pathlib import Path

from gradstep.lab import compare, landscapes, report

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    paths = landscapes.walk_all("rosenbrock", ["sgd", "momentum", "adam", "rmsprop"], steps=500)
    landscapes.plot_paths("rosenbrock", paths, output=IMAGES / "landscape_rosenbrock.png")
    sweep = compare.compare(
        "digits",
        optimizers=["sgd", "rmsprop", "adam", "adagrad"],
        learning_rates=[0.001, 0.01, 0.1],
        epochs=10,
        seeds=2,
        progress=False,
    )
    report.plot_sensitivity(sweep, output=IMAGES / "compare_lr_sensitivity.png")


if __name__ == "__main__":
    main()
