"""Package-wide promises: NumPy is the only import of the core; no pickle."""

import re
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).parents[1] / "src" / "gradstep"


def test_import_gradstep_imports_numpy_only():
    code = (
        "import sys, gradstep; heavy = ['sklearn', 'matplotlib', 'numba', 'scipy', 'pandas', "
        "'tqdm', 'threadpoolctl', 'torch', 'keras']; print([m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_pickle_anywhere_in_the_package():
    pattern = re.compile(r"\b(pickle|cPickle|dill|joblib\.load|allow_pickle\s*=\s*True)\b")
    offenders = [
        f"{path.name}:{number}"
        for path in SOURCE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
