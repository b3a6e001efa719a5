"""The playground in a real browser: headless Chromium driven through
WebDriver (selenium and Debian's chromedriver) against a server this module
starts on 127.0.0.1 and stops."""

import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

# selenium comes with the test extra; without it each test fails, naming the extra
pytestmark = pytest.mark.requires("selenium", extra="test")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    webdriver = Service = By = Select = WebDriverWait = None

SOURCE = Path(__file__).parents[2] / "src"
#: Generous: the machine may be busy with other work.
PATIENCE = 120
#: A network that learns the spiral in a few dozen epochs (from any of the seeds tried).
SPIRAL = {
    "dataset": "spiral",
    "activation": "tanh",
    "features": ["x1", "x2", "sin(x1)", "sin(x2)"],
    "hidden_layers": [8, 8, 4],
    "optimizer": "adam",
    "optimizer_options": {},
    "learning_rate": 0.01,
    "batch_size": 10,
    "seed": 1,
}


def _programs() -> tuple[str, str]:
    browser = next(
        (
            shutil.which(name)
            for name in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(name)
        ),
        None,
    )
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if browser is None or driver is None:
        pytest.fail(
            "the browser tests need Chromium and chromedriver: sh "
            "tools/install_test_dependencies.sh installs Debian's chromium and chromium-driver"
        )
    return browser, driver


@pytest.fixture(scope="module")
def playground_url():
    """`gradstep playground` in a subprocess; its URL with the token."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gradstep", "playground", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SOURCE), "PATH": "/usr/bin:/bin"},
    )
    line = process.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", line)
    if url is None:
        process.kill()
        pytest.fail(f"the playground printed no URL: {line!r} {process.stderr.read()[-2000:]}")
    yield url.group(0)
    process.terminate()
    process.wait(timeout=60)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, chromedriver = _programs()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1500,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, playground_url):
    """The page, loaded fresh, once its first frame is drawn."""
    browser.get(playground_url)
    browser.execute_script("sessionStorage.clear()")
    browser.get(playground_url)
    wait_for(browser, "state.frame !== null")
    return browser


def wait_for(browser, condition: str, timeout: float = PATIENCE):
    """Wait until the JavaScript expression holds on the page; its value."""
    return WebDriverWait(browser, timeout, poll_frequency=0.2).until(
        lambda driver: driver.execute_script(f"return ({condition}) || null;"),
        message=f"waited {timeout} s for {condition}",
    )


def configure(browser, fields: dict) -> None:
    """Set fields through the page's own controls where it has one for them."""
    browser.find_element(By.ID, f"dataset-{fields['dataset']}").click()
    wait_for(browser, f"state.config.dataset === '{fields['dataset']}'")
    Select(browser.find_element(By.ID, "activation")).select_by_value(fields["activation"])
    wait_for(browser, f"state.config.activation === '{fields['activation']}'")
    others = {k: v for k, v in fields.items() if k not in ("dataset", "activation")}
    browser.execute_script("change(arguments[0])", others)
    wait_for(browser, f"state.config.hidden_layers.length === {len(fields['hidden_layers'])}")


def click(browser, element_id: str) -> None:
    browser.find_element(By.ID, element_id).click()


def epoch_losses(browser) -> list[float]:
    click(browser, "epoch")
    wait_for(browser, "state.frame.epoch === 1")
    return browser.execute_script("return state.frame.history.train_loss")


def boundary_image(browser) -> str:
    return browser.execute_script("return document.getElementById('boundary').toDataURL()")


def test_spiral_with_tanh_learns_and_rewinds_to_the_same_first_epoch(page):
    configure(page, SPIRAL)
    assert page.find_element(By.ID, "dataset-spiral").get_attribute("class") == "selected"
    first_epoch = epoch_losses(page)
    image_after_one_epoch = boundary_image(page)

    click(page, "play")
    wait_for(page, "state.running")
    wait_for(page, "state.frame.test_loss < 0.2")
    click(page, "play")  # pause
    wait_for(page, "!state.running")
    assert boundary_image(page) != image_after_one_epoch
    shown = page.find_element(By.ID, "test-loss").text
    assert shown == f"{page.execute_script('return state.frame.test_loss'):.3f}"

    click(page, "rewind")
    wait_for(page, "state.frame.epoch === 0")
    assert epoch_losses(page) == first_epoch


def test_reset_draws_new_weights_and_a_seed_typed_in_gives_its_run_again(page):
    seed_box = page.find_element(By.ID, "seed")
    seed_box.clear()
    seed_box.send_keys("7\n")
    wait_for(page, "state.config.seed === 7 && state.frame.step === 0")
    with_seven = epoch_losses(page)
    click(page, "reset")
    wait_for(page, "state.config.seed !== 7 && state.frame.step === 0")
    assert page.find_element(By.ID, "seed").get_attribute("value") != "7"
    assert epoch_losses(page) != with_seven
    seed_box.clear()
    seed_box.send_keys("7\n")
    wait_for(page, "state.config.seed === 7 && state.frame.step === 0")
    assert epoch_losses(page) == with_seven


def test_a_csv_upload_becomes_the_data_and_a_malformed_one_is_explained(page, tmp_path):
    good = tmp_path / "points.csv"
    rows = [f"{(i % 10) - 5},{(i // 10) - 2},{int((i % 10) > 4)}" for i in range(50)]
    good.write_text("left,right,label\n" + "\n".join(rows) + "\n")
    page.find_element(By.ID, "csv-file").send_keys(str(good))
    wait_for(page, "document.getElementById('csv-target').options.length === 3")
    assert Select(page.find_element(By.ID, "csv-target")).first_selected_option.text == "label"
    click(page, "csv-upload")
    wait_for(page, "document.getElementById('csv-message').textContent.startsWith('loaded')")
    wait_for(page, "state.config.dataset === 'csv' && state.data.train.length === 25")

    bad = tmp_path / "bad.csv"
    bad.write_text("left,right,label\n" + "\n".join(rows[:20]) + "\n1,two,0\n")
    page.find_element(By.ID, "csv-file").send_keys(str(bad))
    click(page, "csv-upload")
    message = wait_for(
        page,
        "document.getElementById('csv-message').classList.contains('bad') && "
        "document.getElementById('csv-message').textContent",
    )
    assert "line 22, column 'right' must be a number, received 'two'" in message
    assert page.execute_script("return state.data.train.length") == 25


def test_the_run_exports_as_a_gradstep_script(page):
    click(page, "epoch")
    wait_for(page, "state.frame.epoch === 1")
    page.find_element(By.CSS_SELECTOR, "#exports button[data-export=gradstep]").click()
    text = wait_for(
        page,
        "document.getElementById('script').open && "
        "document.getElementById('script-body').textContent",
    )
    assert "import gradstep" in text
    compile(text, "playground_gradstep.py", "exec")


def test_clicking_a_weight_explains_its_next_update(page):
    edge = wait_for(page, "state.edges.length && state.edges[0]")  # once drawn
    canvas = page.find_element(By.ID, "network")
    scale = page.execute_script(
        "const c = document.getElementById('network');"
        "return c.getBoundingClientRect().width / c.width;"
    )
    x = (edge["x0"] + 0.5) * scale - canvas.size["width"] / 2
    y = edge["y0"] * scale - canvas.size["height"] / 2
    webdriver.ActionChains(page).move_to_element_with_offset(canvas, x, y).click().perform()
    html = wait_for(
        page,
        "document.getElementById('explain').open && "
        "document.getElementById('explain-body').innerHTML",
    )
    assert (edge["layer"], edge["row"], edge["column"]) == (0, 0, 0)
    assert "hidden_1/kernel[0, 0]" in html and "New value" in html


def test_a_message_over_the_limit_closes_the_tab_s_socket_with_a_reason(page):
    page.execute_script("state.socket.send('x'.repeat(2 * 1024 * 1024))")
    status = wait_for(
        page,
        "state.socket.readyState === WebSocket.CLOSED && "
        "document.getElementById('status').textContent",
    )
    assert "over the server's 1 MB limit" in status
    page.get(page.current_url)  # a reload gets a new session: the server kept running
    wait_for(page, "state.frame !== null")


@pytest.mark.parametrize("width, height", [(1024, 768), (800, 1000)])
def test_a_projector_s_or_a_narrow_window_shows_the_page_without_sideways_scrolling(
    page, width, height
):
    """At 1024 x 768 (a classroom projector) the three columns stand side by
    side; narrower, they stack. Either way nothing is cut off at the right."""
    page.set_window_size(width, height)
    try:
        wait_for(page, f"window.innerWidth <= {width}")
        overflow = page.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        tops = page.execute_script(
            "return ['data-panel', 'network-panel', 'output-panel'].map("
            "(id) => document.getElementById(id).getBoundingClientRect().top)"
        )
    finally:
        page.set_window_size(1500, 1000)
    assert overflow <= 0
    side_by_side = len(set(round(top) for top in tops)) == 1
    assert side_by_side == (width > 900)


@pytest.mark.slow
def test_twenty_tabs_train_at_once_each_on_its_own_model(browser, playground_url):
    """Twenty tabs of one Chromium, each its own session, train together.
    Pairs of tabs share a seed: each pair's losses agree, epoch for epoch,
    and differ from the other pairs'; a plain request is answered meanwhile."""
    tabs = 20
    small = {"dataset": "xor", "samples": 400, "hidden_layers": [3], "batch_size": 10}
    handles = []
    for number in range(tabs):
        browser.switch_to.new_window("tab")
        browser.get(playground_url)
        wait_for(browser, "state.frame !== null")
        browser.execute_script("change(arguments[0])", {**small, "seed": number // 2})
        wait_for(browser, f"state.config.seed === {number // 2} && state.frame.step === 0")
        handles.append(browser.current_window_handle)
    for handle in handles:
        browser.switch_to.window(handle)
        click(browser, "play")
    for handle in handles:
        browser.switch_to.window(handle)
        wait_for(browser, "state.running && state.frame.step > 0")

    with urllib.request.urlopen(playground_url, timeout=PATIENCE) as answer:
        assert answer.status == 200  # answered while all twenty train

    for handle in handles:
        browser.switch_to.window(handle)
        wait_for(browser, "state.frame.epoch >= 2")
        click(browser, "play")  # pause
    losses = []  # each tab's train loss by epoch (a long history is thinned)
    for handle in handles:
        browser.switch_to.window(handle)
        wait_for(browser, "!state.running")
        history = browser.execute_script("return state.frame.history")
        losses.append(dict(zip(history["epochs"], history["train_loss"], strict=True)))
        browser.close()
    browser.switch_to.window(browser.window_handles[0])

    for pair in range(tabs // 2):
        first, second = losses[2 * pair], losses[2 * pair + 1]
        common = sorted(set(first) & set(second))
        assert {0, 1, 2} <= set(common), f"seed {pair}'s tabs share only epochs {common[:5]}"
        assert [first[e] for e in common] == [second[e] for e in common], f"seed {pair} differs"
    assert len({(tab[0], tab[1]) for tab in losses}) == tabs // 2
