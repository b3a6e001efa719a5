"""Shared test helpers: golden fixtures produced by the scripts in tools/, and
the `requires` marker for tests of optional dependencies."""

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# The kernels compiled ahead of time (gradstep.kernels.ahead) are neither used
# nor built in the background by the tests, here and in the processes they
# start: which kernels run would otherwise depend on what the machine's cache
# holds. tests/kernels/test_ahead.py builds and checks them in a folder of its own.
os.environ["GRADSTEP_AHEAD"] = "0"


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


@pytest.fixture(autouse=True)
def _no_kernel_loading_in_the_background():
    """Each test starts after kernels an earlier test queued have loaded. numba's
    compiler enters ``warnings.catch_warnings``, whose state Python keeps for the
    whole process: a load running on the loader thread can undo ``pytest.warns``'s
    recording on the test's thread, and the test sees no warning."""
    loading = sys.modules.get("gradstep.kernels.loading")
    if loading is not None:
        assert loading.wait(timeout=300), "a kernel load took over 300 s"
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """A test marked `requires(module, extra=...)` fails, naming the extra, when
    the module does not import. The test extra installs every extra, so a missing
    module is a broken installation, never a reason to skip."""
    for marker in item.iter_markers("requires"):
        (module,), extra = marker.args, marker.kwargs["extra"]
        try:
            importlib.import_module(module)
        except ImportError as error:
            pytest.fail(
                f"{item.name} needs {module}, from the {extra!r} extra ({error}): "
                f"pip install -e '.[{extra}]' (or '.[test]', which installs every extra)",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def keras_functional() -> dict:
    return load_json_fixture("keras_functional.json")
