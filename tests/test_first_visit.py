"""A shared link as the very first visit after a server starts (as a hosted app is after it wakes up).

Streamlit decides on a server's first session whether the ``pages/`` folder makes this an old-style multipage
app; a first visit to a path address used to run the page file alone (a legacy page list, no model picker, the
link's settings ignored). Each case starts its own server, so the link really is the first visit.
"""

from __future__ import annotations

import pytest
from browser_support import launch_chromium, running_server, wait_until_idle

from pages.frame.registry import PAGES

pytestmark = pytest.mark.browser

TEXT = "Paris is the [MASK] of France."
FIRST_VISITS = [  # (case, address after the server's root, extra server arguments, title, sliders)
    (
        "path form",
        "/predict?page=predict&model=demo&text=Paris+is+the+%5BMASK%5D+of+France.&top_k=7",
        (),
        "Predict the masked word",
        ["7"],
    ),
    (
        "root with ?page=",
        "/?page=attention&model=demo&text=Paris+is+the+%5BMASK%5D+of+France.&layer=2&head=3",
        (),
        "Attention",
        ["2", "3"],
    ),
    (
        "path form without ?page=, under a baseUrlPath",
        "/attention?model=demo&text=Paris+is+the+%5BMASK%5D+of+France.&layer=4",
        ("--server.baseUrlPath", "mlm"),
        "Attention",
        ["4", "1"],
    ),
]
ROUTED_PAGES = [page.title for page in PAGES]  # the router's menu, in order


@pytest.mark.parametrize("case, address, args, title, sliders", FIRST_VISITS, ids=[c[0] for c in FIRST_VISITS])
def test_a_shared_link_opened_first_after_a_start_shows_the_routed_page(tmp_path, case, address, args, title, sliders):
    from playwright.sync_api import sync_playwright

    env = {"HF_HUB_OFFLINE": "1", "MLM_EXPLORER_DEFAULT_MODEL": "demo"}
    with running_server(tmp_path / "streamlit.log", env=env, args=args) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(120_000)
        tab.goto(server.url + address)
        wait_until_idle(tab)
        sidebar = tab.locator("[data-testid='stSidebar']")
        links = [
            text.split("\n")[-1].strip() for text in sidebar.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
        ]
        assert links == ROUTED_PAGES  # the router's pages, not the legacy list ('streamlit app', 'predict', …)
        assert sidebar.get_by_text("Loaded demo").count() == 1  # the shared sidebar with the model picker ran
        assert tab.locator("h1").first.inner_text() == title
        assert tab.get_by_role("textbox", name="Text").input_value() == TEXT
        values = [v.strip() for v in tab.locator("[data-testid='stSliderThumbValue']").all_inner_texts()]
        assert values == sliders
        assert tab.locator("[data-testid='stException']").count() == 0
        browser.close()


def test_the_sidebar_starts_loading_the_default_model_so_the_next_page_finds_it_loaded(model_root, monkeypatch):
    """The Home page needs no model, but its sidebar names the server's default: that model is loaded in the
    background, once, and the page opened next gets the same loaded model instead of loading it again."""
    import threading
    import time

    from app_support import APP, open_page
    from streamlit.testing.v1 import AppTest

    import mlm_core
    from mlm_core.testing.synthetic import build_bert

    spec = str(build_bert(model_root / "preloaded-bert"))
    monkeypatch.setenv("MLM_EXPLORER_DEFAULT_MODEL", spec)
    loads = []
    original = mlm_core.load_model
    monkeypatch.setattr(
        mlm_core, "load_model", lambda *args, **kwargs: loads.append(args[0]) or original(*args, **kwargs)
    )
    home = AppTest.from_file(APP, default_timeout=120).run()
    assert not home.exception and home.title[0].value == "MLM Explorer"
    deadline = time.monotonic() + 120
    while any(t.name == "mlm-explorer-preload" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert loads == [spec]
    predict = open_page("predict", spec, text=TEXT)
    assert not predict.exception and len(predict.dataframe[0].value) == 5  # the predictions table
    assert loads == [spec]  # found loaded, not loaded again
