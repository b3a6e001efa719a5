"""Screenshots of the playground at three stages, for docs/playground.md.

Starts ``gradstep playground`` on 127.0.0.1, drives headless Chromium through
selenium and Debian's chromedriver, and writes

- docs/images/playground-1-start.png: the spiral chosen, before training (the
  learning-rate schedule already drawn);
- docs/images/playground-2-training.png: a few epochs in;
- docs/images/playground-3-trained.png: trained, the test points shown.

Every step is a button press with a fixed seed, so the pictures are the same
run each time.

    PYTHONPATH=$PWD/src python tools/make_playground_screenshots.py
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).parents[1]
IMAGES = ROOT / "docs" / "images"
#: The run in the pictures (a fixed seed: the same pictures each time).
RUN = {
    "dataset": "spiral",
    "noise": 0.1,
    "activation": "tanh",
    "features": ["x1", "x2", "sin(x1)", "sin(x2)"],
    "hidden_layers": [8, 8, 4],
    "optimizer": "adam",
    "optimizer_options": {},
    "learning_rate": 0.01,
    "schedule": "cosine_decay",
    "schedule_options": {"decay_steps": 2000, "alpha": 0.1},
    "batch_size": 10,
    "seed": 1,
}


def start_playground() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gradstep", "playground", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    url = re.search(r"http://\S+", process.stdout.readline())
    if url is None:
        process.kill()
        raise SystemExit("gradstep playground printed no URL")
    return process, url.group(0)


def start_browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--window-size=1440,1180",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def wait_for(browser, condition: str, timeout: float = 120):
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(
        lambda driver: driver.execute_script(f"return ({condition}) || null;")
    )


def epochs(browser, count: int) -> None:
    for _ in range(count):
        target = browser.execute_script("return state.frame.epoch") + 1
        browser.find_element(By.ID, "epoch").click()
        wait_for(browser, f"state.frame.epoch === {target}")


def shoot(browser, name: str) -> None:
    browser.execute_script("return new Promise(r => requestAnimationFrame(() => r()))")
    path = IMAGES / name
    browser.save_screenshot(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    process, url = start_playground()
    with tempfile.TemporaryDirectory() as profile:
        browser = start_browser(profile)
        try:
            browser.get(url)
            wait_for(browser, "state.frame !== null")
            browser.find_element(By.ID, "dataset-spiral").click()
            wait_for(browser, "state.config.dataset === 'spiral'")
            Select(browser.find_element(By.ID, "activation")).select_by_value("tanh")
            browser.execute_script("change(arguments[0])", RUN)
            wait_for(browser, "state.config.schedule === 'cosine_decay' && state.frame.step === 0")
            shoot(browser, "playground-1-start.png")
            epochs(browser, 4)
            shoot(browser, "playground-2-training.png")
            epochs(browser, 56)
            browser.find_element(By.ID, "show-test").click()
            shoot(browser, "playground-3-trained.png")
        finally:
            browser.quit()
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
