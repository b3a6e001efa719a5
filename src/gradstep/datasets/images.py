"""MNIST-style image files the user has: IDX files (optionally gzipped) or a
Keras-style ``.npz``, found at a given path or in the default places."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_images(name: str, path=None):
    """``(x_train, y_train), (x_test, y_test)`` as the files hold them (uint8
    for MNIST), from ``path`` (a folder of IDX files, or a ``.npz``) or from
    the default places for ``name``."""
    location = _find_images(name, path)
    if location.is_file():
        with np.load(location, allow_pickle=False) as arrays:
            missing = [key for key in _IDX_FILES if key not in arrays]
            if missing:
                raise ValueError(
                    f"{location}: missing arrays {missing} (expected {list(_IDX_FILES)})"
                )
            parts = {key: arrays[key] for key in _IDX_FILES}
    else:
        parts = {key: read_idx(_find_idx(location, file)) for key, file in _IDX_FILES.items()}
    return (parts["x_train"], parts["y_train"]), (parts["x_test"], parts["y_test"])


def _find_images(name: str, path) -> Path:
    if path is not None:
        candidates = [Path(path)]
    else:
        folder = _cache_folder() / name
        candidates = [folder, folder / f"{name}.npz", _KERAS_CACHE / f"{name}.npz"]
    for candidate in candidates:
        if candidate.is_file() and candidate.suffix == ".npz":
            return candidate
        if candidate.is_dir() and any(candidate.glob("*-ubyte*")):
            return candidate
        if candidate.is_dir() and (candidate / f"{name}.npz").is_file():
            return candidate / f"{name}.npz"
    raise ValueError(
        f"No {name} files at {', '.join(repr(str(c)) for c in candidates)}: expected a folder "
        f"with {', '.join(_IDX_FILES.values())} (or .gz), or a .npz with x_train, y_train, "
        "x_test, y_test. gradstep does not download data sets."
    )


def _cache_folder() -> Path:
    return Path(os.environ.get("GRADSTEP_DATA", Path.home() / ".gradstep" / "datasets"))


# Where Keras keeps the files it downloads (read if present, never written).
_KERAS_CACHE = Path.home() / ".keras" / "datasets"


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise ValueError(f"{folder}: missing {stem} (or {stem}.gz)")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, with its header checked."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path.name} is not an IDX file (bad magic number)")
    dims = data[3]
    header_size = 4 + 4 * dims
    if len(data) < header_size:
        raise ValueError(f"{path.name}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header_size != expected:
        raise ValueError(
            f"{path.name}: header says shape {shape} ({expected} bytes of data), "
            f"file holds {len(data) - header_size}"
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=header_size)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )
