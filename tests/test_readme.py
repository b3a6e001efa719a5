"""Every Python example in the README runs."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example_{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(code, capsys):
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README's code


def test_readme_worked_example_prints_the_updated_weights(capsys):
    exec(compile(EXAMPLES[1], "README.md", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out.strip() == "[0.7 1.6]"
