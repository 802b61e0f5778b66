"""The server side of ``python -m bench.classroom``: start the dashboard as the README does, and sample a process
tree's CPU and memory from /proc (Linux) while the users run."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from mlm_core.testing.serve import free_port, start_server, wait_until_healthy

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (others' work on the same cores shows here)."""
    with open("/proc/loadavg") as handle:
        return [float(v) for v in handle.read().split()[:3]]


@contextmanager
def started_server(root: Path, extra_args: list[str]):
    """``streamlit run streamlit_app.py`` from ``root`` as the README starts it (shipped config), headless on a free
    loopback port, offline; (address, [pid]) until the block ends, then stopped."""
    port = free_port()
    process = start_server(root, port, env={"HF_HUB_OFFLINE": "1"}, args=tuple(extra_args))
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_until_healthy(url, process):
            raise RuntimeError(f"streamlit did not start from {root}")
        yield url, [process.pid]
    finally:
        process.terminate()
        process.wait(30)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(name))
    return tree


def process_tree(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants that are alive now."""
    tree, found, todo = _children(), [], list(roots)
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            found.append(pid)
            todo.extend(tree.get(pid, []))
    return found


def cpu_and_rss(pids: list[int]) -> tuple[float, int]:
    """(CPU seconds used so far, resident bytes now), summed over ``pids``."""
    cpu, rss = 0.0, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/statm") as handle:
                rss += int(handle.read().split()[1]) * PAGE
            cpu += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            continue
    return cpu, rss


class ProcessSampler:
    """Samples a process tree every ``interval`` seconds in a thread: RSS peak, cores used (mean and the peak of
    1-second windows)."""

    def __init__(self, roots: list[int], interval: float = 0.25):
        self._roots, self._interval = roots, interval
        self._samples: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="classroom-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            cpu, rss = cpu_and_rss(process_tree(self._roots))
            self._samples.append((time.monotonic(), cpu, rss))
            self._stop.wait(self._interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        samples = self._samples
        (t0, c0, r0), (t1, c1, _) = samples[0], samples[-1]
        windows = [
            (c - cp) / (t - tp) for (t, c, _), (tp, cp, _) in zip(samples[4:], samples) if t - tp > 0
        ]  # 4 × 0.25 s = 1 s windows
        return {
            "rss_start_gb": r0 / 1e9,
            "rss_peak_gb": max(r for _, _, r in samples) / 1e9,
            "rss_end_gb": samples[-1][2] / 1e9,
            "cores_mean": (c1 - c0) / max(t1 - t0, 1e-9),
            "cores_peak": max(windows, default=0.0),
            "processes": len(process_tree(self._roots)),
        }
