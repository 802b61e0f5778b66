"""Benchmark row ``finetune/stream-demo``: training steps fed by the streamed corpus path (files read, tokenised,
cut, shuffled and masked on the fly in a ``tf.data`` pipeline) against the in-memory path of the Fine-tune page
(the same text cut into blocks up front), same demo model, batch (8 × 64 tokens) and optimiser, in one process.

The two paths alternate over two rounds so that a change of load on the machine hits both; each round trains a
fresh copy of the model. speedup = in-memory ms per step / streamed ms per step = streamed tokens/s ÷ in-memory
tokens/s (the target is ≥ 0.9). The corpus's counting pass (once per corpus, cached with the checkpoints) is not
a training step and is left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .rows import FINETUNE_BLOCK, BenchContext, BenchResult, _our_step_times

STREAM_TEXT_COPIES = 20  # the demo model card 20 times: ~100 kB, several chunks of lines and shuffle windows


def stream_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model
    from mlm_core.training.batches import BlockSource
    from mlm_core.training.blocks import make_blocks
    from mlm_core.training.corpus import plan_corpus
    from mlm_core.training.finetune import copy_model

    name = "finetune/stream-demo"
    if not ctx.wants(name) or not DEMO_MODEL_DIR.is_dir():
        return []
    mlm = load_model("demo")
    steps, warmup = max(10, ctx.repeats), 3
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus.txt"
        corpus.write_text(
            (DEMO_MODEL_DIR / "README.md").read_text(encoding="utf-8") * STREAM_TEXT_COPIES, encoding="utf-8"
        )
        lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
        in_memory = make_blocks(mlm.tokenizer, lines, block_length=FINETUNE_BLOCK)
        plan = plan_corpus(mlm.tokenizer, (corpus,), block_length=FINETUNE_BLOCK, validation_share=0.05)
        streamed = BlockSource(plan.n_train, FINETUNE_BLOCK, lambda: plan.train_chunks(mlm.tokenizer), window=256)
        ours, theirs = [], []
        for round_number in range(2):
            ctx.progress(f"{name}: streamed corpus, round {round_number + 1}...")
            ours.append(_our_step_times(copy_model(mlm, name="streamed"), streamed, steps, warmup))
            ctx.progress(f"{name}: in-memory blocks, round {round_number + 1}...")
            theirs.append(
                _our_step_times(
                    copy_model(mlm, name="in-memory"), in_memory.rows(slice(None, plan.n_train)), steps, warmup
                )
            )
    ours_ms, theirs_ms = np.concatenate(ours), np.concatenate(theirs)
    return [
        BenchResult(
            name,
            float(np.median(ours_ms)),
            float(np.percentile(ours_ms, 95)),
            "in-memory blocks, the Fine-tune page's path (ms per step of 8 × 64, same text and model)",
            float(np.median(theirs_ms)),
            float(np.median(theirs_ms) / np.median(ours_ms)),
        )
    ]
