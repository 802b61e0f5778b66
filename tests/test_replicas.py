"""deploy/replicas.sh: two replicas behind nginx with sticky sessions, and bench.classroom's protocol client.

What must be sticky: a Streamlit session lives in one replica's memory — its widget and session state (the
fine-tuned copy too) and the files its page refers to (images, downloads under /media/, uploads). The test checks,
for users speaking Streamlit's websocket protocol through nginx, that each user's images are held by exactly one
replica and always served to that user through the proxy, that a reconnect resumes the same session (state kept),
that the page shows the user's own sentence, and that another user's cookie never reaches a session that is not
theirs (0 cross-talk). Not timed. Reference: Streamlit's own protocol (BackMsg/ForwardMsg, the frontend's
reconnect with the session id), read from the installed package.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.classroom import Http, open_link, sentence
from mlm_core.testing.serve import free_port

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[1]

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
USERS = 6


def status(url: str, cookies: dict | None = None) -> int:
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def replica_set():
    if not Path(NGINX).exists() or shutil.which("curl") is None:
        pytest.fail(f"deploy/replicas.sh needs nginx ({NGINX}) and curl: apt-get install -y nginx curl")
    port = free_port()
    while not all(port_is_free(port + k) for k in (1, 2)):
        port = free_port()
    process = subprocess.Popen(
        ["bash", str(ROOT / "deploy" / "replicas.sh"), "2", str(port)],
        cwd=ROOT,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if status_or_none(f"{base}/_stcore/health") == 200:
            break
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"replicas.sh did not come up: {process.stdout.read()}")
    yield base, [f"http://127.0.0.1:{port + k}" for k in (1, 2)], process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def status_or_none(url: str) -> int | None:
    try:
        return status(url)
    except OSError:
        return None


async def visit_all(base: str):
    http = Http(16)
    try:
        jars = [{} for _ in range(USERS)]
        steps = []
        for user, jar in enumerate(jars):  # one after another: a replica's first page may compile
            steps.append(
                await open_link(http, base, user, "attention", sentence(user), "demo", jar, first=False, timeout=240)
            )
        again = [
            await open_link(
                http,
                base,
                user,
                "attention",
                sentence(user),
                "demo",
                jar,
                first=False,
                timeout=240,
                session_id=step.session_id,
            )
            for user, (jar, step) in enumerate(zip(jars, steps))
        ]
        return jars, steps, again
    finally:
        http.close()


def test_each_user_stays_on_one_replica_with_their_session_and_files_and_no_cross_talk(replica_set):
    base, replicas, _ = replica_set
    jars, steps, again = asyncio.run(visit_all(base))
    homes = []
    for user, (jar, step, resumed) in enumerate(zip(jars, steps, again)):
        assert step.outcome == "ok" and resumed.outcome == "ok", (step.detail, resumed.detail)
        assert "mlm_explorer_route" in jar  # the proxy's sticky cookie
        subject = sentence(user).lower().split()[1]  # cat, sister, old, small, teacher, neighbour
        assert subject[:4] in " ".join(step.tables[0])  # the page shows this user's own sentence
        assert resumed.session_id == step.session_id  # the reconnect found the session: its state is kept
        image = step.images[0]
        held_by = [k for k, replica in enumerate(replicas) if status(replica + image) == 200]
        assert len(held_by) == 1  # the session's files live in one replica's memory
        homes.append(held_by[0])
        assert all(status(base + image, jar) == 200 for _ in range(5))  # routed there every time
    for user, step in enumerate(steps):  # another user's cookie reaches another replica's sessions only
        for other, jar in enumerate(jars):
            if homes[other] != homes[user]:
                assert status(base + step.images[0], jar) == 404


def test_the_proxy_serves_compressed_static_files_and_sigterm_stops_everything(replica_set):
    base, replicas, process = replica_set
    index = urllib.request.urlopen(base + "/").read().decode()
    script = index.split('src="./', 1)[1].split('"', 1)[0]
    request = urllib.request.Request(f"{base}/{script}", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    assert all(status_or_none(url + "/_stcore/health") is None for url in [base, *replicas])
