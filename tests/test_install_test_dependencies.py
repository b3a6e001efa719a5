"""tools/install_test_dependencies.sh, run with a PATH of stand-ins: it finds
Chromium, installs it quietly as root, or stops at once with one line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "tools" / "install_test_dependencies.sh"
REFUSAL = (
    "gradstep's tests need Chromium for the HTML report test: install Debian's 'chromium'"
    " package (apt-get install chromium) and run again\n"
)
# apt-get's stand-in records its calls; installing puts a chromium on PATH.
APT_GET = """
import os, pathlib, sys
here = pathlib.Path(sys.argv[0]).parent
with open(here / "apt-get.log", "a") as log:
    print(os.environ.get("DEBIAN_FRONTEND"), *sys.argv[1:], file=log)
if "install" in sys.argv:
    (here / "chromium").write_text("")
    (here / "chromium").chmod(0o755)
"""


def _program(directory, name, body):
    path = directory / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)


def _run(tmp_path, uid, programs=("apt-get",)):
    """The script with nothing on PATH but `id` (saying uid), `env` and programs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _program(bin_dir, "id", f"print({uid})")
    (bin_dir / "env").symlink_to(shutil.which("env"))
    for name in programs:
        _program(bin_dir, name, APT_GET if name == "apt-get" else "")
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT)], env={"PATH": str(bin_dir)}, capture_output=True, text=True
    )
    log = bin_dir / "apt-get.log"
    return result, log.read_text().splitlines() if log.exists() else []


def test_a_chromium_on_path_is_enough(tmp_path):
    result, apt_calls = _run(tmp_path, uid=0, programs=("apt-get", "chromium"))
    assert (result.returncode, result.stdout, result.stderr, apt_calls) == (0, "", "", [])


def test_root_with_apt_get_installs_debians_chromium_quietly(tmp_path):
    result, apt_calls = _run(tmp_path, uid=0)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert apt_calls == ["noninteractive update -qq", "noninteractive install -y -qq chromium"]


@pytest.mark.parametrize(
    "uid, programs",
    [(1000, ("apt-get",)), (0, ())],
    ids=["not root and no sudo", "root without apt-get"],
)
def test_otherwise_one_line_says_what_to_install(tmp_path, uid, programs):
    result, apt_calls = _run(tmp_path, uid, programs)
    assert (result.returncode, result.stdout, result.stderr, apt_calls) == (1, "", REFUSAL, [])
