"""The real dashboard on a loopback port, for browser tests and the benchmarks that start a server (the app never
imports this).

``start_server`` runs ``streamlit run streamlit_app.py`` headless on a free 127.0.0.1 port; ``wait_until_healthy``
polls Streamlit's health endpoint. Chromium comes from the system (Debian's package), never downloaded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("MLM_EXPLORER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    root: Path, port: int, *, env: dict[str, str], args: tuple[str, ...] = (), output=subprocess.DEVNULL
) -> subprocess.Popen:
    """``streamlit run streamlit_app.py`` from ``root`` on 127.0.0.1:``port`` with ``env`` added to ours."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            *args,
        ],
        cwd=root,
        env=dict(os.environ, **env),
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def wait_until_healthy(url: str, process: subprocess.Popen, *, timeout: float = 120.0, poll: float = 0.05) -> bool:
    """True once ``url``/_stcore/health answers; False when the process ends or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(poll)
    return False
