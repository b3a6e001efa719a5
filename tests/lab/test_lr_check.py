import math

import numpy as np
import pytest

from gradstep.lab import lr_check


def test_the_suggestion_is_measured_against_the_sweeps_choice():
    rates = (0.003, 0.03, 0.3)
    check = lr_check.check_suggestion(
        "iris", learning_rates=rates, seeds=2, epochs=3, hidden_units=8, num_steps=30
    )
    assert check["chosen_rate"] in rates
    for name in ("steep", "minimum"):
        median = check["suggestions"][name]["median"]
        assert len(check["suggestions"][name]["values"]) == 2
        assert check["decades_from_chosen"][name] == pytest.approx(
            math.log10(median / check["chosen_rate"])
        )
    assert check["test"]["seeds"] == 2
    table = lr_check.markdown_table([check])
    assert table.splitlines()[2].startswith("| iris | ")
    assert table.count(" decades |") == 2
    assert np.isfinite(check["test"]["metric_mean"])
