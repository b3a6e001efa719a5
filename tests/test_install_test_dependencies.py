"""tools/install_test_dependencies.sh, run with a PATH of stand-ins: it finds
Chromium and chromedriver, installs them quietly as root, or stops at once
with one line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "tools" / "install_test_dependencies.sh"
REFUSAL = (
    "gradstep's tests need Chromium and its WebDriver for the HTML report and playground"
    " tests: install Debian's 'chromium' and 'chromium-driver' packages"
    " (apt-get install chromium chromium-driver) and run again\n"
)
# apt-get's stand-in records its calls; installing puts chromium and chromedriver on PATH.
APT_GET = """
import os, pathlib, sys
here = pathlib.Path(sys.argv[0]).parent
with open(here / "apt-get.log", "a") as log:
    print(os.environ.get("DEBIAN_FRONTEND"), *sys.argv[1:], file=log)
if "install" in sys.argv:
    for program in ("chromium", "chromedriver"):
        (here / program).write_text("")
        (here / program).chmod(0o755)
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


def test_a_chromium_and_chromedriver_on_path_are_enough(tmp_path):
    result, apt_calls = _run(tmp_path, uid=0, programs=("apt-get", "chromium", "chromedriver"))
    assert (result.returncode, result.stdout, result.stderr, apt_calls) == (0, "", "", [])


@pytest.mark.parametrize(
    "present", [("apt-get",), ("apt-get", "chromium")], ids=["neither", "no chromedriver"]
)
def test_root_with_apt_get_installs_debians_chromium_and_driver_quietly(tmp_path, present):
    result, apt_calls = _run(tmp_path, uid=0, programs=present)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert apt_calls == [
        "noninteractive update -qq",
        "noninteractive install -y -qq chromium chromium-driver",
    ]


@pytest.mark.parametrize(
    "uid, programs",
    [(1000, ("apt-get",)), (0, ())],
    ids=["not root and no sudo", "root without apt-get"],
)
def test_otherwise_one_line_says_what_to_install(tmp_path, uid, programs):
    result, apt_calls = _run(tmp_path, uid, programs)
    assert (result.returncode, result.stdout, result.stderr, apt_calls) == (1, "", REFUSAL, [])
