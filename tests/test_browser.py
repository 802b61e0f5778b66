"""What a person sees: the real server (`streamlit run`) driven by Debian's Chromium through Playwright.

Nothing here downloads a browser: Chromium comes from apt (`.ci/run` installs it). If it cannot start, the tests
fail with the reason; they never skip. On failure a screenshot goes to test-output/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_support import ROOT, launch_chromium, running_server, wait_until_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "test-output" / "screenshots"
SECRET_TOKEN = "hf_never_in_any_log_0123456789"
SERVER_LOG: dict[str, Path] = {}  # server address → its log file
SERVER_PID: dict[str, int] = {}
WORDS = ["cat", "dog", "man", "girl", "boat", "house", "tree", "bird"]
PAGE_TITLES = {
    "home": "MLM Explorer",
    "predict": "Predict the masked word",
    "attention": "Attention",
    "layers": "Layers",
    "trace": "Trace",
    "probe": "Probe the layers",
    "embeddings": "Embeddings",
    "explain": "Explain a prediction",
    "score": "Score sentences",
    "bias": "Social bias",
    "finetune": "Fine-tune the model on your text",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_root):
    """The real server, offline, with the demo model as default and the test models' folder as the only allowed
    model root."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = dict(
        HF_HUB_OFFLINE="1",
        MLM_EXPLORER_DEFAULT_MODEL="demo",
        HF_TOKEN=SECRET_TOKEN,
        MLM_EXPLORER_MODEL_ROOTS=str(model_root),
    )
    with running_server(log, env=env) as started:
        SERVER_LOG[started.url] = log
        SERVER_PID[started.url] = started.pid
        yield started.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = launch_chromium(playwright)
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


def slider_values(tab) -> list[str]:
    return [value.strip() for value in tab.locator("[data-testid='stSliderThumbValue']").all_inner_texts()]


@pytest.mark.parametrize("name", list(PAGE_TITLES))
def test_every_page_loads_without_an_exception(page, server, name):
    open_view(page, server, page=name, model="demo")
    assert page.locator("h1").first.inner_text() == PAGE_TITLES[name]
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0


def type_text(tab, box: str, text: str, marker: str) -> None:
    """Type into a text box, submit it, and wait until the address holds ``marker`` and the page has redrawn."""
    field = tab.get_by_role("textbox", name=box)
    field.fill(text)
    field.press("Control+Enter")
    tab.wait_for_function(f"() => location.search.includes('{marker}')")
    wait_until_idle(tab)


def download(tab, button: str):
    with tab.expect_download() as download_info:
        tab.get_by_role("button", name=button).click()
    return download_info.value


def test_typed_sentence_gets_predictions_and_the_csv_download_holds_them(page, server):
    open_view(page, server, page="predict", model="demo")
    type_text(page, "Text", "Paris is the [MASK] of France.", "Paris")
    saved = download(page, "Download predictions (CSV)")
    assert saved.suggested_filename == "predictions-demo-paris-is-the-mask-of-france.csv"
    lines = Path(saved.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "mask,rank,token,probability,sentence"
    assert len(lines) == 6 and all("of France." in line for line in lines[1:])
    assert page.locator("[data-testid='stException']").count() == 0


def test_deep_link_in_a_fresh_session_restores_text_model_and_settings(page, server):
    text = "The old man sat on the bench and fed the birds."
    open_view(page, server, page="attention", model="demo", text=text, layer="3", head="5", stretch="1")
    # A loaded machine can report idle before the linked values reach the widgets: wait for them, within a bound.
    expect(page.get_by_role("textbox", name="Text")).to_have_value(text, timeout=60_000)
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


def test_typed_pairs_on_the_score_page_show_the_preference_and_download_every_piece(page, server):
    open_view(page, server, page="score", model="demo")
    type_text(
        page,
        "Sentences, one per line",
        "The dogs in the garden are barking.\nThe dogs in the garden is barking.",
        "barking",
    )
    assert page.get_by_text("demo prefers sentence 1 to sentence 2").count() == 1
    lines = Path(download(page, "Download the scores (CSV)").path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sentence,position,token,word,log_prob,model"
    assert {line.split(",")[0] for line in lines[1:]} == {"1", "2"} and len(lines) == 1 + 2 * 8
    assert page.locator("[data-testid='stException']").count() == 0


def test_an_uploaded_pairs_file_gets_accuracy_and_a_csv_of_every_pair(page, server, tmp_path):
    pairs = tmp_path / "my-pairs.csv"
    pairs.write_text(
        "good,bad,category\nThe cats sleep.,The cats sleeps.,agreement\n"
        "She has eaten.,She has ate.,past\nThe boy saw himself.,The boy saw herself.,reflexive\n",
        encoding="utf-8",
    )
    open_view(page, server, page="score", model="demo", mode="pairs")
    page.get_by_text("my file").click()
    wait_until_idle(page)
    page.set_input_files("input[type=file]", str(pairs))
    page.get_by_text("Accuracy · demo").wait_for()
    wait_until_idle(page)
    accuracy = page.locator("[data-testid='stMetricValue']").first.inner_text()
    assert re.fullmatch(r"(0\.0|33\.3|66\.7|100\.0)%", accuracy), accuracy
    saved = download(page, "Download every pair (CSV)")
    assert saved.suggested_filename == "pairs-demo-my-pairs-csv.csv"
    lines = Path(saved.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "good,bad,category,pll_good,pll_bad,difference,preferred,model"
    assert [line.split(",")[2] for line in lines[1:]] == ["agreement", "past", "reflexive"]
    right = sum(line.split(",")[6] == "good" for line in lines[1:])
    assert accuracy == f"{100 * right / 3:.1f}%"
    assert page.locator("[data-testid='stException']").count() == 0


def predictions_csv(tab) -> list[list[str]]:
    rows = Path(download(tab, "Download predictions (CSV)").path()).read_text(encoding="utf-8").splitlines()[1:]
    return [row.rsplit(",", 2) for row in rows]  # … token, probability, sentence (sentences hold no comma here)


def test_eight_sessions_at_once_get_their_own_results_while_another_fine_tunes(
    server, browser, bert_dir, camembert_dir, tmp_path
):
    import mlm_core

    models = [str(bert_dir), str(camembert_dir), "demo"]
    cases = [(models[k % 3], f"the {WORDS[k]} sat on the [MASK] near the water .") for k in range(8)]
    notes = tmp_path / "diary.txt"
    notes.write_text(
        " ".join(f"On day {n} the {WORDS[n % 8]} walked to the market and the rain stopped." for n in range(2000)),
        encoding="utf-8",
    )  # ≈ 120 steps: outlasts the eight
    trainer = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    trainer.set_default_timeout(180_000)
    open_view(trainer, server, page="finetune", model="demo")
    trainer.set_input_files("input[type=file]", str(notes))
    trainer.get_by_role("button", name="Start fine-tuning").click()
    trainer.get_by_text(re.compile(r"Step \d+ of \d+")).first.wait_for()  # training is under way

    loaded = {model: mlm_core.load_model(model) for model in models}
    tabs = []
    for model, text in cases:  # all eight load at once; the server runs their scripts side by side
        tab = browser.new_context(accept_downloads=True).new_page()
        tab.set_default_timeout(180_000)
        tab.goto(f"{server}/?{urlencode({'page': 'predict', 'model': model, 'text': text})}")
        tabs.append(tab)
    for (model, text), tab in zip(cases, tabs):
        wait_until_idle(tab)
        rows = predictions_csv(tab)
        expected = mlm_core.predict(loaded[model], text, top_k=5).masks[0].candidates
        assert [row[2] for row in rows] == [c.sentence for c in expected], (model, text)
        assert [float(row[1]) for row in rows] == pytest.approx([c.probability for c in expected], abs=1e-4)
        assert tab.locator("[data-testid='stSidebar']").get_by_text(f"Loaded {model}").count() == 1
        assert tab.locator("[data-testid='stException']").count() == 0
        tab.context.close()

    still_training = trainer.get_by_text(re.compile(r"Step \d+ of \d+")).first
    assert still_training.is_visible()  # the fine-tune ran all along beside the eight sessions
    progress = still_training.inner_text()
    assert trainer.locator("[data-testid='stException']").count() == 0
    trainer.get_by_role("button", name="Stop — keep what is trained so far").click()
    trainer.get_by_text("Before and after, on the validation text").wait_for()
    trainer.context.close()
    with open(f"/proc/{SERVER_PID[server]}/status", encoding="utf-8") as status:
        peak = next(line for line in status if line.startswith("VmHWM")).split()[1]
    print(
        f"\nserver peak RSS with 9 sessions (3 models, one fine-tuning): {int(peak) / 1024:.0f} MB; "
        f"fine-tune was at '{progress}' when the eight had their results"
    )


def test_the_server_log_holds_no_token_and_no_typed_text(server):
    """Last in this file: by now the server has served every test above (typed text, deep links)."""
    text = SERVER_LOG[server].read_text(encoding="utf-8", errors="replace")
    assert SECRET_TOKEN not in text
    assert "Paris is the" not in text and "old man sat" not in text
