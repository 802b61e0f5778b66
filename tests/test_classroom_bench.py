"""bench.classroom's simulated user sees what a real browser sees (issue 28): for one user, the same
Predict → Attention → Explain links opened by the bench (Streamlit's websocket protocol) and by Chromium show the
same headings, the same number of download buttons and charts, the same predictions (Chromium: the CSV download)
and the same explanation numbers. Reference: a real Chromium session. Not timed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from browser_support import launch_chromium, running_server, wait_until_idle

from bench.classroom import STEPS, Http, link_query, open_link, sentence

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("classroom") / "server.log", env={"HF_HUB_OFFLINE": "1"}) as found:
        yield found


async def bench_steps(url: str):
    http = Http(8)
    try:
        jar: dict = {}
        return [
            await open_link(http, url, 0, page, sentence(0), "demo", jar, first=page == "predict", timeout=300)
            for page in STEPS
        ]
    finally:
        http.close()


def test_one_simulated_user_sees_what_chromium_shows(server):
    from playwright.sync_api import expect, sync_playwright

    steps = asyncio.run(bench_steps(server.url))
    assert [s.outcome for s in steps] == ["ok"] * 3, [s.detail for s in steps]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
        tab.set_default_timeout(300_000)
        for step in steps:
            tab.goto(f"{server.url}/?{link_query(step.step, sentence(0), 'demo')}")
            wait_until_idle(tab)
            headings = [h.strip() for h in tab.locator("[data-testid='stHeading']").all_inner_texts()]
            assert [h for h in step.headings] == headings
            # The page is done when it shows as many downloads and charts as the bench's run sent.
            expect(tab.locator("[data-testid='stDownloadButton']")).to_have_count(
                step.elements["download_button"], timeout=120_000
            )
            expect(tab.locator("[data-testid='stVegaLiteChart']")).to_have_count(
                step.elements["vega_lite_chart"], timeout=120_000
            )
            if step.step == "predict":
                with tab.expect_download() as download:
                    tab.get_by_text("Download predictions (CSV)").click()
                rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
                assert [row["token"] for row in rows] == step.tables[0]
            if step.step == "explain":
                shown = tab.locator("[data-testid='stMetricValue']").all_inner_texts()
                assert shown[:3] == step.metrics[:3]
        browser.close()
