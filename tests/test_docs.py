"""Every Python snippet in docs/ runs, and prints exactly the output block shown
after it (a ```text block, introduced by nothing or by one line ending in ':')."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def _snippets():
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
        for i, (language, body, start, end) in enumerate(blocks):
            if language != "python":
                continue
            expected = None
            if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
                between = text[end : blocks[i + 1][2]].strip()
                if not between or (between.endswith(":") and "\n\n" not in between):
                    expected = blocks[i + 1][1]
            line = text[:start].count("\n") + 1
            yield pytest.param(body, expected, id=f"{page.relative_to(DOCS)}:{line}")


@pytest.mark.parametrize("code, expected", list(_snippets()))
def test_doc_snippet_runs_and_prints_what_the_page_says(code, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    if expected is not None:
        assert result.stdout == expected
