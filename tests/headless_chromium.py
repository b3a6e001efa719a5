"""Open a local HTML page in headless Chromium and read back what a probe script saw."""

import re
import shutil
import subprocess

import pytest

#: Appended to a page: once it has loaded, the title says how many images decoded and
#: how many rows the table with id ``TABLE`` has.
PROBE = (
    "<script>window.addEventListener('load', () => {"
    "const images = [...document.images];"
    "const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;"
    "const rows = document.querySelectorAll('#TABLE tbody tr').length;"
    "document.title = `images ${loaded}/${images.length} rows ${rows}`;});</script>"
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "headless Chromium is needed: sh tools/install_test_dependencies.sh installs it "
        "(the README's test command runs it first)"
    )


def probe_title(page: str, table_id: str, directory) -> str:
    """Load ``page`` with the probe in Chromium; the title the probe set."""
    probed = directory / "probe.html"
    probed.write_text(page.replace("</body>", PROBE.replace("TABLE", table_id) + "</body>"))
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={directory / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    title = re.search(r"<title>(.*?)</title>", result.stdout)
    assert title is not None, result.stderr[-2000:]
    return title.group(1)
