"""Training corpora of any size: a file, a folder or a glob of UTF-8 ``.txt`` files, read line by line.

Nothing is loaded whole. Lines are tokenised a chunk at a time and cut into blocks as they come
(``blocks.BlockCutter``), so memory holds one chunk of lines and the blocks not yet used. Each line counts as a
document; the blocks follow the files in sorted path order, so block number k is the same on every machine.

One counting pass (``plan_corpus``) learns how many blocks the corpus makes and keeps the last ones for validation —
the same rule as the Fine-tune page (the last ``validation_share`` of the blocks, here at most
``max_validation_blocks``). It depends on the corpus alone, never on the number of workers, so before/after metrics
compare across setups. With a cache folder the plan is stored there (keyed by the files' sizes and modification
times, the tokenizer and the block length) and a rerun — a resumed run — skips the pass.
"""

from __future__ import annotations

import collections
import glob
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .blocks import BlockCutter, TextBlocks
from .plan import too_few_blocks

LINES_PER_CHUNK = 512
MAX_LINE_CHARS = 1 << 20  # a file without line breaks is still read in pieces of this size
_WANTED = "give UTF-8 .txt files (a file, a folder of them, or a glob such as 'corpus/*.txt')"


def corpus_files(spec: str | Path) -> tuple[Path, ...]:
    """The ``.txt`` files of ``spec`` — a file, a folder (searched recursively) or a glob — sorted by path."""
    path = Path(spec)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = [found for found in path.rglob("*.txt") if found.is_file()]
    elif glob.has_magic(str(spec)):
        files = [Path(found) for found in glob.glob(str(spec), recursive=True) if Path(found).is_file()]
    else:
        raise InputError(f"No file '{spec}' — {_WANTED}.")
    if not files:
        raise InputError(f"'{spec}' holds no .txt file — {_WANTED}.")
    for found in files:  # an unreadable or binary file is refused before any model loads or anything trains
        _check_start(found)
    return tuple(sorted(files))


def _check_start(path: Path) -> None:
    """Read the first 64 KB of ``path``: ``InputError`` naming it when it cannot be read or looks binary."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(65536)
    except OSError as error:
        raise InputError(f"Cannot read '{path}': {error.strerror or error} — {_WANTED}.") from error
    if b"\x00" in head:
        raise InputError(f"'{path}' looks binary (it contains NUL bytes) — {_WANTED}.")


def read_lines(files: tuple[Path, ...], *, chunk: int = LINES_PER_CHUNK) -> Iterator[list[str]]:
    """The corpus's non-empty lines, ``chunk`` at a time; ``InputError`` naming the file for binary or non-UTF-8
    data (found when reached: a corpus is never read twice just to check it)."""
    lines: list[str] = []
    for path in files:
        _check_start(path)  # again: the file may have changed since the corpus was listed
        try:
            with open(path, encoding="utf-8-sig") as text:
                while line := text.readline(MAX_LINE_CHARS):
                    if line.strip():
                        lines.append(line)
                    if len(lines) >= chunk:
                        yield lines
                        lines = []
        except UnicodeDecodeError as error:
            byte = error.object[error.start : error.start + 1]
            raise InputError(
                f"'{path}' is not UTF-8 text (undecodable byte {byte!r}) — save it as UTF-8 "
                "(Save as… → Encoding: UTF-8)."
            ) from error
        except OSError as error:
            raise InputError(f"Cannot read '{path}': {error.strerror or error} — {_WANTED}.") from error
    if lines:
        yield lines


def stream_blocks(
    tokenizer, files: tuple[Path, ...], *, block_length: int, limit: int | None = None
) -> Iterator[TextBlocks]:
    """The corpus's blocks in order, a chunk at a time (at most ``limit`` blocks in all)."""
    cutter = BlockCutter(tokenizer, block_length)
    emitted = 0
    for lines in read_lines(files):
        blocks = cutter.add(lines)
        if limit is not None:
            blocks = blocks.rows(slice(None, limit - emitted))
        if len(blocks):
            emitted += len(blocks)
            yield blocks
        if limit is not None and emitted >= limit:
            return


@dataclass(frozen=True)
class CorpusPlan:
    """The corpus's files, ``n_blocks`` blocks of ``block_length`` tokens in all, of which the first ``n_train``
    are trained on and the last ones (``validation``, int32[V, T]) measured."""

    files: tuple[Path, ...]
    block_length: int
    n_blocks: int
    validation: TextBlocks

    @property
    def n_train(self) -> int:
        return self.n_blocks - len(self.validation)

    def train_chunks(self, tokenizer) -> Iterator[TextBlocks]:
        """One pass over the training blocks, streamed."""
        return stream_blocks(tokenizer, self.files, block_length=self.block_length, limit=self.n_train)


def plan_corpus(
    tokenizer,
    files: tuple[Path, ...],
    *,
    block_length: int,
    validation_share: float = 0.1,
    max_validation_blocks: int = 256,
    cache_dir: str | Path | None = None,
) -> CorpusPlan:
    """Count the corpus's blocks (one streamed pass) and keep the validation tail; reuse ``cache_dir``'s plan when
    the files, the tokenizer and the block length are unchanged. ``InputError`` when the corpus makes fewer than
    2 blocks."""
    key = _plan_key(tokenizer, files, block_length, validation_share, max_validation_blocks)
    cached = Path(cache_dir) / f"corpus-plan-{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        with np.load(cached) as saved:
            return CorpusPlan(
                files, block_length, int(saved["n_blocks"]), TextBlocks(saved["input_ids"], saved["word_starts"])
            )
    tail: collections.deque = collections.deque(maxlen=max_validation_blocks)
    cutter = BlockCutter(tokenizer, block_length)
    n_blocks = 0
    for lines in read_lines(files):
        blocks = cutter.add(lines)
        n_blocks += len(blocks)
        tail.extend(zip(blocks.input_ids, blocks.word_starts))
    if n_blocks == 0:
        raise cutter.too_short("The corpus")
    if n_blocks < 2:
        raise too_few_blocks("The corpus", block_length)
    n_validation = min(n_blocks - 1, max_validation_blocks, max(1, round(validation_share * n_blocks)))
    kept = list(tail)[-n_validation:]
    validation = TextBlocks(np.stack([ids for ids, _ in kept]), np.stack([starts for _, starts in kept]))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial.npz")
        np.savez(partial, n_blocks=n_blocks, input_ids=validation.input_ids, word_starts=validation.word_starts)
        partial.replace(cached)  # a crash while writing never leaves a plan that looks complete
    return CorpusPlan(files, block_length, n_blocks, validation)


def _plan_key(tokenizer, files, block_length, validation_share, max_validation_blocks) -> str:
    stats = [(str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns) for path in files]
    described = json.dumps(
        [
            stats,
            tokenizer.name_or_path,
            len(tokenizer),
            tokenizer.__class__.__name__,
            block_length,
            validation_share,
            max_validation_blocks,
        ]
    )
    return hashlib.sha256(described.encode("utf-8")).hexdigest()[:16]
