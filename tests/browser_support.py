"""Starting the real server and Chromium for browser tests (tests/test_browser.py, tests/test_first_visit.py).

Nothing here downloads a browser: Chromium comes from apt (`.ci/run` installs it). If it cannot start, the tests
fail with the reason; they never skip.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from mlm_core.testing.serve import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]


class Server(NamedTuple):
    url: str
    pid: int


@contextlib.contextmanager
def running_server(log_path: Path, *, env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[Server]:
    """`streamlit run streamlit_app.py` on a free loopback port (extra ``args``, e.g. a baseUrlPath); yields its
    address and process id once /_stcore/health answers, and stops it afterwards."""
    port = free_port()
    log = log_path.open("w")
    process = start_server(ROOT, port, env=env, args=args, output=log)
    base = next((args[i + 1] for i, arg in enumerate(args) if arg == "--server.baseUrlPath"), "")
    url = f"http://127.0.0.1:{port}" + (f"/{base}" if base else "")
    try:
        if not wait_until_healthy(url, process, poll=0.5):
            pytest.fail(f"streamlit did not start on port {port}; see {log_path}")
        yield Server(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def launch_chromium(playwright):
    try:
        return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # noqa: BLE001 — a missing or broken browser must fail the suite, not skip it
        pytest.fail(
            f"Chromium could not start from {CHROMIUM} ({error}); install it with "
            "'apt-get install -y chromium' or set MLM_EXPLORER_CHROMIUM."
        )


def wait_until_idle(tab) -> None:
    """Until the page has drawn its title and the script has finished running."""
    tab.wait_for_selector("h1")
    tab.wait_for_timeout(500)
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    tab.wait_for_timeout(500)
