"""A class on one link: N simulated users open Predict → Attention → Explain links at once (issue 28).

    python -m bench.classroom --users 30 --url http://127.0.0.1:8501 --pid SERVER_PID --json
    python -m bench.classroom --users 30 --start          # starts `streamlit run streamlit_app.py` as the README
    python -m bench.classroom --users 20 --start --long-job 1000   # one more user scores 1,000 pairs meanwhile

Run from the repository root.

Each user speaks Streamlit's own protocol, as the browser does on opening a link: GET the page (the first visit
also fetches the frontend files index.html names, as a browser with an empty cache; later visits are cached),
open the websocket ``/_stcore/stream``, send a ``BackMsg.rerun_script`` whose ``ClientState.query_string`` is the
link's query (``page=predict&model=demo&text=…``; the router reads ``?page=``), and read ``ForwardMsg``s.
A step is **done** when the run it started sends ``script_finished`` = FINISHED_SUCCESSFULLY: every element of the
page has been sent by then (a run ended early for ``st.rerun`` does not count). The step's time runs from the
GET of the page to that message. A step **fails** on an exception element, an ``st.error`` alert, a compile
error, a websocket closed by the server (disconnect) or no finish within ``--step-timeout`` (timeout). Each
link opened is a new page load, so a new websocket and session, as when a student clicks a link.

With ``--long-job N`` one more user opens, ``--long-job-head-start`` seconds before the others, a Score page link
whose text is the good and bad sentences of N minimal pairs (the shipped English suites, repeated), one per line:
the same pseudo-log-likelihood work as a suite of N pairs, started by a link; its time to script_finished is
reported apart (it waits for nothing else).

Users start spread evenly over ``--ramp`` seconds, each with its own sentence. Server CPU (cores used) and RSS are
sampled from /proc for the server's process tree (``--pid``, repeatable; the replica script's PID covers its
replicas and nginx). The whole run stops itself after ``--max-seconds``. Loopback addresses only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .classroom_server import ProcessSampler, load_average, started_server

ROOT = Path(__file__).resolve().parents[1]

STEPS = ("predict", "attention", "explain")
SUBJECTS = (
    "The cat",
    "My sister",
    "The old man",
    "A small dog",
    "The teacher",
    "Our neighbour",
    "The child",
    "The farmer",
    "A tired student",
    "The doctor",
)
PLACES = ("table", "sofa", "bench", "floor", "roof", "bed", "chair", "wall")
ENDINGS = (
    "and looked around.",
    "after dinner.",
    "in the morning.",
    "before the rain.",
    "for a while.",
    "near the window.",
)


def sentence(user: int) -> str:
    """A different sentence with one [MASK] for each user, 9–15 tokens long (all in the first two length buckets)."""
    subject, ending = SUBJECTS[user % len(SUBJECTS)], ENDINGS[(user // len(SUBJECTS)) % len(ENDINGS)]
    rounds = user // (len(SUBJECTS) * len(ENDINGS))
    extra = f" by the {PLACES[(rounds - 1) % len(PLACES)]}" if rounds else ""
    return f"{subject} sat on the [MASK]{extra} {ending}"


def link_query(page: str, text: str, model: str) -> str:
    return urllib.parse.urlencode({"page": page, "model": model, "text": text})


@dataclass
class Step:
    user: int
    step: str
    seconds: float | None = None
    outcome: str = "ok"  # ok | error | disconnect | timeout
    detail: str = ""
    elements: dict = field(default_factory=dict)
    headings: list = field(default_factory=list)
    tables: list = field(default_factory=list)  # each dataframe's first column values (the results shown)
    static_files: int = 0
    static_bytes: int = 0
    session_id: str = ""  # the server's session for this page load (new_session message)
    metrics: list = field(default_factory=list)  # st.metric values as shown
    images: list = field(default_factory=list)  # media URLs of the page's images (held by the session's server)


class Http:
    """Blocking HTTP GETs in a thread pool (a browser keeps ~6 connections per host), with a cookie jar per user
    so a sticky-session proxy sees each user as one client."""

    def __init__(self, workers: int):
        self._pool = ThreadPoolExecutor(max_workers=workers)

    async def get(self, url: str, cookies: dict) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._get, url, cookies)

    @staticmethod
    def _get(url: str, cookies: dict) -> bytes:
        headers = {"Accept-Encoding": "gzip", "User-Agent": "mlm-explorer-classroom-bench"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            return response.read()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


STATIC_REF = re.compile(r'(?:src|href)="\./(static/[^"]+)"')


async def first_visit_files(http: Http, base: str, index: bytes, cookies: dict) -> tuple[int, int]:
    """Fetch the frontend files index.html names (6 at a time, as a browser); (files, bytes)."""
    names = sorted(set(STATIC_REF.findall(index.decode("utf-8", "replace"))))
    gate, sizes = asyncio.Semaphore(6), []

    async def one(name: str) -> None:
        async with gate:
            sizes.append(len(await http.get(f"{base}/{name}", cookies)))

    await asyncio.gather(*(one(name) for name in names))
    return len(names), sum(sizes)


def _first_column(element) -> list:
    """The first column of a dataframe element (the shown results, e.g. Predict's ranks/tokens)."""
    import pyarrow as pa

    data = element.dataframe.arrow_data.data
    if not data:
        return []
    table = pa.ipc.open_stream(data).read_all()
    names = [n for n in table.column_names if not n.startswith("__")]
    column = "token" if "token" in names else names[0] if names else None
    return [str(v) for v in table.column(column).to_pylist()] if column else []


async def open_link(
    http: Http,
    base: str,
    user: int,
    page: str,
    text: str,
    model: str,
    cookies: dict,
    *,
    first: bool,
    timeout: float,
    session_id: str = "",
) -> Step:
    """One page load of a deep link, timed from the GET of the page to its run's script_finished. With
    ``session_id``, the websocket asks to resume that session, as the frontend does when it reconnects."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ContextInfo
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    step, query = Step(user, page), link_query(page, text, model)
    started = time.perf_counter()
    try:
        index = await http.get(f"{base}/?{query}", cookies)
        if first:
            step.static_files, step.static_bytes = await first_visit_files(http, base, index, cookies)
        ws_url = base.replace("http", "ws", 1) + "/_stcore/stream"
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        protocols = ["streamlit", "none", session_id] if session_id else ["streamlit"]
        async with websockets.connect(
            ws_url,
            subprotocols=protocols,
            additional_headers=headers,
            max_size=None,
            open_timeout=timeout,
            ping_interval=None,
        ) as ws:
            request = BackMsg()
            request.rerun_script.query_string = query
            request.rerun_script.context_info.CopyFrom(
                ContextInfo(timezone="UTC", timezone_offset=0, locale="en-US", url=f"{base}/?{query}")
            )
            await ws.send(request.SerializeToString())
            await asyncio.wait_for(_read_run(ws, step, ForwardMsg), timeout=timeout)
        step.seconds = time.perf_counter() - started
    except TimeoutError:
        step.outcome, step.detail = "timeout", f"no script_finished within {timeout:.0f} s"
    except websockets.exceptions.ConnectionClosed as closed:
        step.outcome, step.detail = "disconnect", f"websocket closed: {closed}"
    except OSError as error:
        step.outcome, step.detail = "disconnect", f"{type(error).__name__}: {error}"
    return step


async def _read_run(ws, step: Step, ForwardMsg) -> None:
    while True:
        message = ForwardMsg()
        message.ParseFromString(await ws.recv())
        kind = message.WhichOneof("type")
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            name = element.WhichOneof("type")
            step.elements[name] = step.elements.get(name, 0) + 1
            if name == "heading":
                step.headings.append(element.heading.body)
            elif name == "dataframe":
                step.tables.append(_first_column(element))
            elif name == "metric":
                step.metrics.append(element.metric.body)
            elif name == "imgs":
                step.images.extend(image.url for image in element.imgs.imgs)
            elif name == "exception":
                step.outcome, step.detail = "error", f"exception: {element.exception.message[:200]}"
            elif name == "alert" and element.alert.format == element.alert.ERROR:
                step.outcome, step.detail = "error", f"st.error: {element.alert.body[:200]}"
        elif kind == "new_session":  # a new run begins: what an early-ended run sent does not count
            step.elements, step.headings, step.tables, step.images, step.metrics = {}, [], [], [], []
            step.session_id = message.new_session.initialize.session_id
        elif kind == "script_finished":
            if message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return
            if message.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                step.outcome, step.detail = "error", "script compile error"
                return


def long_job_text(pairs: int) -> str:
    """The good and bad sentences of ``pairs`` minimal pairs from the shipped English suites, one per line."""
    found = []
    for path in sorted((ROOT / "mlm_core" / "suites").glob("en-*.tsv")):
        rows = [
            line.split("\t")
            for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        ]
        found += [(row[0], row[1]) for row in rows[1:] if len(row) >= 2]  # after the header
    chosen = [found[k % len(found)] for k in range(pairs)]
    return "\n".join(sentence for pair in chosen for sentence in pair)


async def long_job(http: Http, base: str, pairs: int, model: str, timeout: float) -> dict:
    """The Score page scoring ``pairs`` pairs' sentences, opened like a link (the GET is of the bare address: a
    100 KB query does not fit an HTTP request line)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    step, query = (
        Step(-1, "long_job"),
        urllib.parse.urlencode({"page": "score", "model": model, "mode": "sentences", "text": long_job_text(pairs)}),
    )
    started = time.perf_counter()
    try:
        cookies: dict = {}
        await http.get(f"{base}/", cookies)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        async with websockets.connect(
            base.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers=headers,
            max_size=None,
            ping_interval=None,
        ) as ws:
            request = BackMsg()
            request.rerun_script.query_string = query
            await ws.send(request.SerializeToString())
            await asyncio.wait_for(_read_run(ws, step, ForwardMsg), timeout=timeout)
        step.seconds = time.perf_counter() - started
    except TimeoutError:
        step.outcome = "timeout"
    except (websockets.exceptions.ConnectionClosed, OSError) as error:
        step.outcome, step.detail = "disconnect", str(error)
    return {
        "pairs": pairs,
        "outcome": step.outcome,
        "detail": step.detail,
        "seconds": None if step.seconds is None else round(step.seconds, 2),
    }


async def one_user(http: Http, base: str, user: int, delay: float, model: str, timeout: float, results: list) -> None:
    await asyncio.sleep(delay)
    cookies: dict = {}
    for number, page in enumerate(STEPS):
        step = await open_link(
            http, base, user, page, sentence(user), model, cookies, first=number == 0, timeout=timeout
        )
        results.append(step)
        if step.outcome != "ok":
            return  # a student whose page broke does not go on to the next link


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p95 of 30 values is the 29th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-int(share * 100) * len(ordered) // 100) - 1))]


def summarise(steps: list[Step], users: int) -> dict:
    table = {}
    for page in STEPS:
        mine = [s for s in steps if s.step == page]
        times = [s.seconds for s in mine if s.outcome == "ok"]
        table[page] = {
            "done": len(times),
            "p50": percentile(times, 0.50),
            "p95": percentile(times, 0.95),
            "max": max(times, default=None),
            **{kind: sum(s.outcome == kind for s in mine) for kind in ("error", "disconnect", "timeout")},
            "not_reached": users - len(mine),
        }
    return table


async def run(args, base: str, sampler: ProcessSampler | None) -> dict:
    http = Http(workers=max(8, 6 * args.users))
    try:
        for k in range(args.warmup):  # compile the shapes the users' sentences need, off the clock
            for url in args.warm or [base]:  # each replica (sticky routing would send a warm-up user to one)
                await one_user(http, url.rstrip("/"), 10_000 + k, 0.0, args.model, args.step_timeout * 4, [])
        if args.warmup:
            await asyncio.sleep(3.0)  # background compilation starts after 1 s of idle model
        steps: list[Step] = []
        job = None
        if args.long_job:
            job = asyncio.create_task(long_job(http, base, args.long_job, args.model, args.max_seconds))
            await asyncio.sleep(args.long_job_head_start)
        load_before = load_average()
        if sampler:
            sampler.start()
        started = time.perf_counter()
        users = [
            one_user(http, base, user, args.ramp * user / max(args.users - 1, 1), args.model, args.step_timeout, steps)
            for user in range(args.users)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*users), timeout=args.max_seconds)
        except TimeoutError:
            pass  # unfinished steps count as not reached
        wall = time.perf_counter() - started
        server = sampler.stop() if sampler else None
        if job is not None:
            try:
                job = await asyncio.wait_for(job, timeout=max(1.0, args.max_seconds - wall))
            except TimeoutError:
                job = {"pairs": args.long_job, "outcome": "timeout"}
        return {
            "users": args.users,
            "ramp_seconds": args.ramp,
            "wall_seconds": round(wall, 2),
            "url": base,
            "steps": summarise(steps, args.users),
            "server": server,
            "long_job": job,
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "failures": [
                asdict(s) | {"elements": None, "tables": None, "images": None, "metrics": None}
                for s in steps
                if s.outcome != "ok"
            ][:20],
            "static_first_visit": {
                "files": max((s.static_files for s in steps), default=0),
                "bytes": max((s.static_bytes for s in steps), default=0),
            },
        }
    finally:
        http.close()


def print_table(result: dict) -> None:
    server = result["server"] or {}
    print(
        f"{result['users']} users, ramp {result['ramp_seconds']} s, wall {result['wall_seconds']} s, "
        f"load average before {result['load_average_before']} after {result['load_average_after']}"
    )
    for page, row in result["steps"].items():
        fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
        print(
            f"  {page:<9} p50 {fmt(row['p50'])} s  p95 {fmt(row['p95'])} s  max {fmt(row['max'])} s  "
            f"done {row['done']}  errors {row['error']}  disconnects {row['disconnect']}  "
            f"timeouts {row['timeout']}  not reached {row['not_reached']}"
        )
    if server:
        print(
            f"  server: RSS peak {server['rss_peak_gb']:.2f} GB (start {server['rss_start_gb']:.2f} GB), "
            f"cores used {server['cores_mean']:.2f} mean / {server['cores_peak']:.2f} peak (1 s windows)"
        )
    if result.get("long_job"):
        print(f"  long job: {result['long_job']}")
    for failure in result["failures"][:5]:
        print(f"  failure: user {failure['user']} {failure['step']}: {failure['outcome']} {failure['detail']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--url", help="a running server or proxy on a loopback address, e.g. http://127.0.0.1:8501")
    parser.add_argument(
        "--pid", type=int, action="append", default=[], help="server process to sample with its children (repeatable)"
    )
    parser.add_argument(
        "--start",
        action="store_true",
        help="start `streamlit run streamlit_app.py` from this checkout as the README does",
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra argument for the started server, e.g. --server-arg=--runner.postScriptGC=true",
    )
    parser.add_argument("--model", default="demo")
    parser.add_argument("--ramp", type=float, default=3.0, help="users start spread over this many seconds")
    parser.add_argument("--warmup", type=int, default=2, help="users run off the clock first (compilation)")
    parser.add_argument(
        "--warm",
        action="append",
        default=[],
        metavar="URL",
        help="warm up this address instead of --url (repeatable: each replica's own port)",
    )
    parser.add_argument("--step-timeout", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="the whole run stops after this")
    parser.add_argument(
        "--long-job",
        type=int,
        default=0,
        metavar="PAIRS",
        help="one more user scores this many minimal pairs' sentences on the Score page meanwhile",
    )
    parser.add_argument("--long-job-head-start", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.start and not args.url:
        parser.error("give --url of a running server (and --pid to sample it) or --start")
    with started_server(ROOT, args.server_arg) if args.start else _given(args.url, args.pid) as (base, pids):
        host = urllib.parse.urlparse(base).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("the bench only talks to loopback addresses")
        sampler = ProcessSampler(pids) if pids else None
        result = asyncio.run(run(args, base.rstrip("/"), sampler))
    result["command"] = " ".join(sys.argv)
    print(json.dumps(result)) if args.json else print_table(result)
    failed = any(row[k] for row in result["steps"].values() for k in ("error", "disconnect", "timeout"))
    return 1 if failed else 0


class _given:
    def __init__(self, url: str, pids: list[int]):
        self.value = (url, pids)

    def __enter__(self):
        return self.value

    def __exit__(self, *exc) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())
