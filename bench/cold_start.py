"""Cold start as a visitor sees it: process start → Home visible, process start → first prediction visible, and
the first explanation after a start.

    python -m bench.cold_start [--root CHECKOUT] [--runs 3] [--json]

Each run starts a fresh `streamlit run streamlit_app.py` (offline, demo model as default) on a free loopback port
and opens one address in headless Chromium as the very first visit: the root address (Home visible: its title
drawn and the script finished) or a Predict link (first prediction visible: the table of candidates drawn).
Times are medians over the runs, from the moment the server process is started. The first explanation is timed
from opening an Explain link (SHAP, top 2 words) to its values being drawn, on a fresh server, twice: opened from
the Home page as soon as Home shows, and opened as the very first visit (which also waits for the server's first
import of TensorFlow); for each, also from the moment the page's title shows. ``--root`` measures another
checkout of the project (e.g. an older commit, to compare before/after in the same session).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from mlm_core.testing.serve import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]

PREDICT_LINK = "/?page=predict&model=demo&text=The+cat+sat+on+the+%5BMASK%5D+and+looked+around."
EXPLAIN_LINK = "/?page=explain&model=demo&text=The+cat+sat+on+the+%5BMASK%5D+and+looked+around."


@contextmanager
def fresh_server(browser, root: Path):
    """(address, new tab) of a freshly started server (offline, demo model as default), stopped afterwards."""
    port = free_port()
    process = start_server(root, port, env={"HF_HUB_OFFLINE": "1", "MLM_EXPLORER_DEFAULT_MODEL": "demo"})
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_until_healthy(url, process):
            raise RuntimeError(f"streamlit did not start from {root}")
        tab = browser.new_page()
        tab.set_default_timeout(180_000)
        yield url, tab
        tab.close()
    finally:
        process.terminate()
        process.wait(30)


def first_visit(browser, root: Path, address: str, ready_selector: str) -> float:
    """Seconds from starting the server process to ``ready_selector`` being visible on the first visit."""
    started = time.perf_counter()
    with fresh_server(browser, root) as (url, tab):
        tab.goto(url + address)
        tab.wait_for_selector(ready_selector, state="visible")
        return time.perf_counter() - started


def first_explanation(browser, root: Path, *, from_home: bool) -> tuple[float, float]:
    """Seconds from opening the Explain link on a fresh server to its explanation being drawn, and from its title
    showing to the same moment; opened right after Home shows (``from_home``) or as the first visit."""
    with fresh_server(browser, root) as (url, tab):
        if from_home:
            tab.goto(url + "/")
            tab.wait_for_selector("h1:has-text('MLM Explorer')", state="visible")
        opened = time.perf_counter()
        tab.goto(url + EXPLAIN_LINK, wait_until="commit")
        tab.wait_for_selector("h1:has-text('Explain a prediction')", state="visible")
        titled = time.perf_counter()
        tab.wait_for_selector("text=Download the values (CSV)", state="visible")
        done = time.perf_counter()
        return done - opened, done - titled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        home = [first_visit(browser, args.root, "/", "h1:has-text('MLM Explorer')") for _ in range(args.runs)]
        predict = [
            first_visit(browser, args.root, PREDICT_LINK, "[data-testid='stDataFrame']") for _ in range(args.runs)
        ]
        explain = {
            way: [first_explanation(browser, args.root, from_home=way == "from_home") for _ in range(args.runs)]
            for way in ("from_home", "first_visit")
        }
        browser.close()
    result = {
        "root": str(args.root),
        "runs": args.runs,
        "home_seconds": statistics.median(home),
        "first_prediction_seconds": statistics.median(predict),
        "home_all": home,
        "predict_all": predict,
        **{
            f"first_explanation_{way}": {
                "from_link_all": [a for a, _ in times],
                "from_title_all": [b for _, b in times],
            }
            for way, times in explain.items()
        },
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.root}: Home visible {result['home_seconds']:.1f} s, first prediction visible "
            f"{result['first_prediction_seconds']:.1f} s (median of {args.runs}; all: "
            f"{', '.join(f'{t:.1f}' for t in home)} / {', '.join(f'{t:.1f}' for t in predict)})"
        )
        for way, times in explain.items():
            opened = {"from_home": "from the Home page", "first_visit": "as the first visit"}[way]
            print(
                f"first explanation, Explain link opened {opened}: "
                f"{', '.join(f'{a:.1f}' for a, _ in times)} s after opening it; "
                f"{', '.join(f'{b:.1f}' for _, b in times)} s after its title showed"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
