"""``python -m bench``: every row, each timed against the naive way in the same process, and the table."""

from __future__ import annotations

from collections.abc import Callable

from .explain import explain_rows, gradient_rows
from .finetune import stream_rows
from .layers import layers_rows
from .probe import probe_rows
from .rows import BenchContext, BenchResult, attention_rows, finetune_rows, load_rows, predict_rows
from .score import score_rows
from .trace import trace_rows
from .words import words_rows


def run_benchmarks(
    *, repeats: int = 20, only: str | None = None, progress: Callable[[str], None] = lambda line: None
) -> list[BenchResult]:
    """Every benchmark row (optionally only names starting with ``only``), measured in this process."""
    ctx = BenchContext(repeats, only, progress)
    return (
        predict_rows(ctx)
        + attention_rows(ctx)
        + layers_rows(ctx)
        + trace_rows(ctx)
        + explain_rows(ctx)
        + gradient_rows(ctx)
        + score_rows(ctx)
        + words_rows(ctx)
        + probe_rows(ctx)
        + finetune_rows(ctx)
        + stream_rows(ctx)
        + load_rows(ctx)
    )


def format_table(results: list[BenchResult]) -> str:
    width = max([16] + [len(r.name) + 1 for r in results])  # e.g. faithfulness/base-12w
    lines = [f"{'name':<{width}}{'median ms':>11}{'p95 ms':>9}{'baseline ms':>13}{'speedup':>9}"]
    for r in results:
        base = f"{r.baseline_median_ms:.1f}" if r.baseline_median_ms is not None else "-"
        speed = f"{r.speedup:.2f}x" if r.speedup is not None else "-"
        lines.append(f"{r.name:<{width}}{r.median_ms:>11.1f}{r.p95_ms:>9.1f}{base:>13}{speed:>9}")
    for baseline in dict.fromkeys(r.baseline for r in results if r.baseline):
        lines.append(f"baseline: {baseline}")
    return "\n".join(lines)
