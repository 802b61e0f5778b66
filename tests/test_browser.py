"""What a person sees: the real server (`streamlit run`) driven by Debian's Chromium through Playwright.

Nothing here downloads a browser: Chromium comes from apt (`.ci/run` installs it). If it cannot start, the tests
fail with the reason; they never skip. On failure a screenshot goes to test-output/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MLM_EXPLORER_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-output" / "screenshots"
SECRET_TOKEN = "hf_never_in_any_log_0123456789"
SERVER_LOG: dict[str, Path] = {}  # server address → its log file
PAGE_TITLES = {"home": "MLM Explorer", "predict": "Predict the masked word", "attention": "Attention",
               "embeddings": "Embeddings", "explain": "Explain a prediction",
               "finetune": "Fine-tune the model on your text"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run streamlit_app.py` on a free loopback port, offline, with the demo model as default."""
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "streamlit.log").open("w")
    env = dict(os.environ, HF_HUB_OFFLINE="1", MLM_EXPLORER_DEFAULT_MODEL="demo", HF_TOKEN=SECRET_TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    SERVER_LOG[url] = Path(log.name)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"streamlit did not start on port {port}; see {log.name}")
        time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
    except Exception as error:  # a missing or broken browser must fail the suite, not skip it
        playwright.stop()
        pytest.fail(f"Chromium could not start from {CHROMIUM} ({error}); install it with "
                    "'apt-get install -y chromium' or set MLM_EXPLORER_CHROMIUM.")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser, request):
    """A fresh browser context — a new Streamlit session — with a screenshot kept if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def open_view(tab, server: str, **params) -> None:
    tab.goto(f"{server}/?{urlencode(params)}")
    wait_until_idle(tab)


def wait_until_idle(tab) -> None:
    """Until the page has drawn its title and the script has finished running."""
    tab.wait_for_selector("h1")
    tab.wait_for_timeout(500)
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    tab.wait_for_timeout(500)


def slider_values(tab) -> list[str]:
    return [value.strip() for value in tab.locator("[data-testid='stSliderThumbValue']").all_inner_texts()]


@pytest.mark.parametrize("name", list(PAGE_TITLES))
def test_every_page_loads_without_an_exception(page, server, name):
    open_view(page, server, page=name, model="demo")
    assert page.locator("h1").first.inner_text() == PAGE_TITLES[name]
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0


def test_typed_sentence_gets_predictions_and_the_csv_download_holds_them(page, server):
    open_view(page, server, page="predict", model="demo")
    box = page.get_by_role("textbox", name="Text")
    box.fill("Paris is the [MASK] of France.")
    box.press("Control+Enter")
    page.wait_for_function("() => location.search.includes('Paris')")
    wait_until_idle(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download predictions (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "predictions-demo-paris-is-the-mask-of-france.csv"
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "mask,rank,token,probability,sentence"
    assert len(lines) == 6 and all("of France." in line for line in lines[1:])
    assert page.locator("[data-testid='stException']").count() == 0


def test_deep_link_in_a_fresh_session_restores_text_model_and_settings(page, server):
    text = "The old man sat on the bench and fed the birds."
    open_view(page, server, page="attention", model="demo", text=text, layer="3", head="5", stretch="1")
    assert page.get_by_role("textbox", name="Text").input_value() == text
    assert slider_values(page) == ["3", "5"]
    assert page.get_by_role("checkbox", name="Stretch contrast").is_checked()
    assert page.get_by_text("Layer 3, head 5:").count() == 1
    assert page.locator("[data-testid='stSidebar']").get_by_text("Loaded demo").count() == 1


def test_link_to_this_view_gives_an_address_that_reopens_the_view(page, server, browser):
    open_view(page, server, page="embeddings", model="demo", word="bank", layer="2", method="tsne")
    page.get_by_text("Link to this view").click()
    link = page.locator("[data-testid='stPopoverBody'] code").first.inner_text().strip()
    assert "page=embeddings" in link and "layer=2" in link and "method=tsne" in link
    other = browser.new_context().new_page()
    other.goto(link)
    wait_until_idle(other)
    assert other.locator("h1").first.inner_text() == "Embeddings"
    assert other.get_by_role("textbox", name="Word to follow").input_value() == "bank"
    assert slider_values(other) == ["2"]
    other.context.close()



def test_a_binary_upload_on_the_fine_tune_page_is_refused_with_a_message(page, server, tmp_path):
    fake = tmp_path / "holiday.txt"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    open_view(page, server, page="finetune", model="demo")
    page.set_input_files("input[type=file]", str(fake))
    page.get_by_text("looks binary").wait_for()
    wait_until_idle(page)
    assert "'holiday.txt' looks binary" in page.locator("[data-testid='stAlertContentError']").inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("button", name="Start fine-tuning").count() == 0  # nothing can be trained


def test_the_server_log_holds_no_token_and_no_typed_text(server):
    """Last in this file: by now the server has served every test above (typed text, deep links)."""
    text = SERVER_LOG[server].read_text(encoding="utf-8", errors="replace")
    assert SECRET_TOKEN not in text
    assert "Paris is the" not in text and "old man sat" not in text
