"""The shapes model calls are padded to: few enough that each compiles once, close enough that little is wasted.

``forward.CompiledForward`` pads a call of a few rows to these buckets (one XLA program per shape); a call of many
rows runs in chunks at its exact length (see ``forward``'s note). Integrated gradients pads the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

# Powers of two and the half-steps between them: a 17-token text pads to 24, not 32 (a third less work on every
# pass), at the price of more shapes to compile, which the dashboard does in the background.
LENGTH_BUCKETS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
# Few buckets (each is one more XLA compilation per length); 4 because a few chosen words' pieces or sentence
# variants are 2–4 rows, which an 8-row call would run twice over.
BATCH_BUCKETS = (1, 4, 8, 64)
BULK_ROWS = BATCH_BUCKETS[-2]  # calls of more rows than this run at their exact shape (see forward's note)
SLOT_BUCKETS = (1, 4, 16, 64)
HEAD_ROW_BUCKETS = (16, 64, 256, 1024)


def bucket(size: int, buckets: Sequence[int], cap: int | None = None) -> int:
    """The smallest bucket that holds ``size`` (and is at most ``cap``); else ``size`` itself, or ``cap``."""
    for candidate in buckets:
        if size <= candidate and (cap is None or candidate <= cap):
            return candidate
    return max(size, cap or 0)


def call_chunks(n_rows: int) -> list[tuple[int, int]]:
    """(start, stop) of the calls N rows run in: one call up to ``BULK_ROWS`` rows (padded to a batch bucket),
    more in calls of the largest batch bucket, the last with the rest (run at their exact shape)."""
    if n_rows <= BULK_ROWS:
        return [(0, n_rows)]
    return [(start, min(start + BATCH_BUCKETS[-1], n_rows)) for start in range(0, n_rows, BATCH_BUCKETS[-1])]


def batch_chunks(n_rows: int) -> list[tuple[int, int]]:
    """(start, stop) of the calls N rows run in through a program compiled per batch bucket (integrated gradients,
    resumed layers): full calls of the largest batch bucket, then the rest in calls of the next bucket down when
    that pads fewer rows (14 rows: 8 + 8 rather than one call padded to 64)."""
    largest, smaller = BATCH_BUCKETS[-1], BATCH_BUCKETS[-2]
    sizes = [largest] * (n_rows // largest)
    rest = n_rows % largest
    if rest > smaller and -(-rest // smaller) * smaller < largest:
        sizes += [smaller] * (rest // smaller) + ([rest % smaller] if rest % smaller else [])
    elif rest:
        sizes.append(rest)
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, start + size))
        start += size
    return bounds
