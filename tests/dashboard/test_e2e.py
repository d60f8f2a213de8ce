"""End to end in headless Chromium: the real service, the real ``affectlab dashboard`` (a
subprocess), driven by Selenium like a user. Screenshots go to $AFFECTLAB_TEST_ARTIFACTS
(default tests/artifacts/)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.serve.conftest import free_port
from tests.waiting import wait_until_up

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("AFFECTLAB_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
WAIT_S = 30  # per step; the whole test stays under a minute (about 15 s unloaded)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver (.ci/chromium.sh installs them)"),
]


@pytest.fixture
def dashboard(api, tmp_path):
    """``affectlab dashboard`` on a free port, the key in its environment; its URL once healthy."""
    pytest.importorskip("selenium")
    port = free_port()
    log = (tmp_path / "dashboard.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "affectlab.cli", "dashboard", "--api", api.url, "--port", str(port)],
        env={**os.environ, "AFFECTLAB_API_KEY": api.key, "HOME": str(tmp_path)}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        log.flush()
        wait_until_up(f"{url}/_stcore/health", WAIT_S, process, ok=lambda r: r.text == "ok",
                      log=lambda: (log.flush(), (tmp_path / "dashboard.log").read_text()[-2000:])[1])
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--disable-sync",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1400, 1700)  # tall enough that a screenshot shows a whole view
    yield driver
    driver.quit()


def test_a_user_analyses_a_text_and_a_conversation(api, dashboard, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT_S, poll_frequency=0.2)
    started = time.monotonic()

    def panel():
        """The visible tab's content (Streamlit keeps every tab in the DOM)."""
        return next(p for p in browser.find_elements(By.CSS_SELECTOR, '[role="tabpanel"]') if p.is_displayed())

    def in_panel(css: str):
        return lambda _driver: [e for e in panel().find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]

    try:
        browser.get(dashboard)
        text = wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, 'textarea[aria-label="Text"]')))
        assert "version" in wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="stSidebar"]'))).text
        text.send_keys("We won the game! Amazing.")
        wait.until(in_panel('[data-testid="stFormSubmitButton"] button'))[0].click()

        label = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, ".affectlab-label")))
        assert label.text.startswith("Predicted emotion: joy")  # the engine may add a second primary
        wait.until(lambda d: len(in_panel('[data-testid="stPlotlyChart"] .js-plotly-plot')(d)) >= 2)
        assert panel().find_elements(By.CSS_SELECTOR, ".js-plotly-plot .polarlayer .trace")  # the radar
        assert panel().find_elements(By.CSS_SELECTOR, ".js-plotly-plot .heatmaplayer image")  # the word heatmap
        words = [w.text for w in panel().find_elements(By.CSS_SELECTOR, ".affectlab-word")]
        assert words == ["We", "won", "the", "game!", "Amazing."]
        browser.save_screenshot(str(ARTIFACTS / "dashboard-one-text.png"))

        next(t for t in browser.find_elements(By.CSS_SELECTOR, '[role="tab"]') if t.text == "Conversation").click()
        turns = wait.until(lambda d: in_panel('textarea[aria-label^="Turns"]')(d))[0]
        turns.send_keys("Alice: I finally got the job!\nBob: No way, that's amazing.\nAlice: But I have to move away.")
        in_panel('[data-testid="stFormSubmitButton"] button')(browser)[0].click()

        chart = wait.until(in_panel('[data-testid="stPlotlyChart"] .js-plotly-plot'))[0]
        wait.until(lambda _d: len(chart.find_elements(By.CSS_SELECTOR, ".xtick text")) >= 3)
        ticks = [t.get_attribute("textContent") for t in chart.find_elements(By.CSS_SELECTOR, ".xtick text")]
        # the shipped pipeline keeps a neural-ODE forecaster: /v1/trajectory adds the next turn
        assert ticks == ["1 · Alice", "2 · Bob", "3 · Alice", "next (forecast)"]
        assert len(chart.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace")) >= 7  # one band per class
        table = in_panel('[data-testid="stDataFrame"]')(browser)
        assert table, "the turns table is missing"
        browser.save_screenshot(str(ARTIFACTS / "dashboard-conversation.png"))
    except Exception:
        browser.save_screenshot(str(ARTIFACTS / "dashboard-failure.png"))
        (ARTIFACTS / "dashboard-failure.html").write_text(browser.page_source)
        raise
    assert time.monotonic() - started < 60
