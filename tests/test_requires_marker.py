"""The `requires` marker of conftest.py: a missing optional dependency fails
the test and names its extra; it never skips."""

from pathlib import Path

pytest_plugins = ["pytester"]


def test_a_missing_optional_dependency_fails_and_names_its_extra(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makeini("[pytest]\nmarkers = requires\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requires("gradstep_has_no_such_module", extra="speed")
        def test_fused():
            pass

        @pytest.mark.requires("json", extra="speed")
        def test_present():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_fused needs gradstep_has_no_such_module, from the 'speed' extra (*):"
            " pip install -e '.[[]speed[]]' (or '.[[]test[]]', which installs every extra)"
        ]
    )
