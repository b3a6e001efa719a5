"""gradstep.ops against Keras 3: the op names, and the outputs on small inputs.

The fixtures come from Keras itself (tools/make_keras_ops_fixtures.py)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from tests.ops.parity_cases import PARITY_CASES

from gradstep import ops

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
KERAS_NAMES = json.loads((FIXTURES / "keras_ops.json").read_text())["ops"]
KERAS_OUTPUTS = json.loads((FIXTURES / "keras_ops_outputs.json").read_text())["outputs"]


def test_every_keras_op_is_offered_or_left_out_with_a_reason():
    missing = [n for n in KERAS_NAMES if not hasattr(ops, n) and n not in ops.KERAS_OPS_LEFT_OUT]
    assert missing == []
    both = [n for n in ops.KERAS_OPS_LEFT_OUT if hasattr(ops, n)]
    assert both == []
    assert all(isinstance(r, str) and r for r in ops.KERAS_OPS_LEFT_OUT.values())
    assert set(ops.KERAS_OPS_LEFT_OUT) <= set(KERAS_NAMES)


def _compare(name, ours, theirs):
    if isinstance(theirs, list):
        assert isinstance(ours, list | tuple), name
        assert len(ours) == len(theirs), name
        for o, t in zip(ours, theirs, strict=True):
            _compare(name, o, t)
        return
    ours = np.asarray(ours)
    expected = np.asarray(theirs["value"], dtype=np.float64)
    assert ours.shape == expected.shape, f"{name}: shape {ours.shape} != Keras's {expected.shape}"
    kind = np.dtype(theirs["dtype"]).kind
    assert (ours.dtype.kind == "f") == (kind == "f"), f"{name}: {ours.dtype} vs {theirs['dtype']}"
    # float32 inputs: Keras (JAX/XLA) and NumPy sum in different orders; the
    # linear-algebra cases have condition numbers of a few tens.
    np.testing.assert_allclose(
        ours.astype(np.float64), expected, rtol=2e-5, atol=2e-5, err_msg=name
    )


@pytest.mark.parametrize("name, call", PARITY_CASES, ids=[c[0] for c in PARITY_CASES])
def test_forward_matches_keras(name, call):
    assert name in KERAS_OUTPUTS, (
        f"no Keras output for {name}: run tools/make_keras_ops_fixtures.py"
    )
    _compare(name, call(ops), KERAS_OUTPUTS[name])


def test_parity_case_names_are_unique():
    names = [name for name, _ in PARITY_CASES]
    assert len(names) == len(set(names))


def test_compatibility_page_lists_every_left_out_op_with_its_reason():
    page = (FIXTURES.parent.parent / "docs" / "keras-compatibility.md").read_text()
    for name, reason in ops.KERAS_OPS_LEFT_OUT.items():
        assert f"| `{name}` | {reason} |" in page, name
