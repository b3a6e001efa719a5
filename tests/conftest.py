"""Shared test helpers: golden fixtures produced by the scripts in tools/."""

import json
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_json_fixture(name: str) -> dict:
    with open(FIXTURES / name, encoding="utf-8") as handle:
        return json.load(handle)


def load_npz_fixture(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / name, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


@pytest.fixture(scope="session")
def keras_numerics() -> dict:
    return load_json_fixture("keras_numerics.json")


@pytest.fixture(scope="session")
def keras_training() -> dict:
    return load_json_fixture("keras_training.json")


@pytest.fixture(scope="session")
def keras_reference_arrays() -> dict[str, np.ndarray]:
    return load_npz_fixture("keras_reference_digits.npz")
