"""What every benchmark row of ``python -m bench`` shares (``BenchContext``, ``BenchResult``, ``time_calls``) and the
rows for predict, attention, fine-tuning and loading: our compiled path against the naive way — Hugging Face's
fill-mask pipeline, a bare ``model.fit``. ``runner.py`` runs every row.

Both run in one process, on the same BERT-base-shaped model (random weights, built locally) and the same
texts, so the ratio is fair. Latency is measured warm: compilation and first traces happen before timing.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

from mlm_core.testing.synthetic import WORDS

PREDICT_LENGTHS = (8, 32, 128)


@dataclass(frozen=True)
class BenchResult:
    name: str
    median_ms: float
    p95_ms: float
    baseline: str | None = None
    baseline_median_ms: float | None = None
    speedup: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def machine_description() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def text_of_length(n_tokens: int) -> str:
    """A sentence that the synthetic WordPiece tokenizer splits into exactly ``n_tokens`` (specials included)."""
    words = [WORDS[i % len(WORDS)] for i in range(n_tokens - 4)]  # + [MASK], ".", [CLS], [SEP]
    return " ".join(words) + " [MASK]."


def time_calls(call: Callable[[], object], repeats: int, warmup: int = 2) -> np.ndarray:
    """Milliseconds of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return np.asarray(times)


class BenchContext:
    """What the rows share: the settings, and one BERT-base-shaped model built on first use."""

    def __init__(self, repeats: int, only: str | None, progress: Callable[[str], None]):
        self.repeats, self.only, self.progress = repeats, only, progress
        self._folder = tempfile.TemporaryDirectory()

    def wants(self, name: str) -> bool:
        return not self.only or name.startswith(self.only)

    @cached_property
    def base(self):
        """(MaskedLM without result cache, HF fill-mask pipeline) over the same random BERT-base weights."""
        from transformers import AutoTokenizer, TFAutoModelForMaskedLM, pipeline

        from mlm_core.analysis import set_memo_size
        from mlm_core.loading import wrap_model
        from mlm_core.testing.synthetic import build_bert

        self.progress("building a BERT-base-shaped model with random weights...")
        folder = self._folder.name
        build_bert(folder, size="base")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = TFAutoModelForMaskedLM.from_pretrained(folder)
        mlm = wrap_model("bench-base", tokenizer, model)
        set_memo_size(mlm, 0)  # measure the forward pass, not our result memo
        # torch_dtype=None: the default "auto" touches torch, which is not installed
        return mlm, pipeline("fill-mask", model=model, tokenizer=tokenizer, framework="tf", torch_dtype=None)


def predict_rows(ctx: BenchContext) -> list[BenchResult]:
    from mlm_core.tasks.predict import predict

    results = []
    for n_tokens in PREDICT_LENGTHS:
        name = f"predict/{n_tokens}"
        if not ctx.wants(name):
            continue
        mlm, fill_mask = ctx.base
        text = text_of_length(n_tokens)
        assert len(mlm.tokenizer(text)["input_ids"]) == n_tokens
        ctx.progress(f"{name}: ours...")
        ours = time_calls(lambda mlm=mlm, text=text: predict(mlm, text, top_k=5), ctx.repeats)
        ctx.progress(f"{name}: transformers pipeline...")
        theirs = time_calls(lambda fill_mask=fill_mask, text=text: fill_mask(text, top_k=5), ctx.repeats)
        results.append(
            BenchResult(
                name,
                float(np.median(ours)),
                float(np.percentile(ours, 95)),
                'transformers pipeline("fill-mask", framework="tf")',
                float(np.median(theirs)),
                float(np.median(theirs) / np.median(ours)),
            )
        )
    return results


def attention_rows(ctx: BenchContext) -> list[BenchResult]:
    """All 144 diagrams of a 20-token text on the BERT-base shape, rendered and zipped."""
    from mlm_core.tasks.attention import attention, zip_all_diagrams

    if not ctx.wants("attention/png-all"):
        return []
    mlm, _ = ctx.base
    result = attention(mlm, text_of_length(20))
    ctx.progress("attention/png-all...")
    times = time_calls(lambda: zip_all_diagrams(result), max(3, ctx.repeats // 4), warmup=1)
    return [BenchResult("attention/png-all", float(np.median(times)), float(np.percentile(times, 95)))]


FINETUNE_BATCH, FINETUNE_BLOCK = 8, 64


def _our_step_times(mlm, blocks, steps: int, warmup: int) -> np.ndarray:
    """Milliseconds per optimiser step of ``mlm_core.training.loop.train`` (what the Fine-tune page runs)."""
    from mlm_core.training.loop import TrainingConfig, train

    stamps = []
    config = TrainingConfig(
        total_steps=warmup + steps,
        batch_size=FINETUNE_BATCH,
        learning_rate=5e-5,
        warmup_steps=1,
        eval_every=warmup + steps,
    )
    train(
        mlm.model,
        mlm.tokenizer,
        blocks,
        None,
        config=config,
        on_progress=lambda progress: stamps.append(time.perf_counter()),
    )
    return np.diff(stamps[warmup - 1 :]) * 1000


def _bare_fit_step_times(mlm, masked, steps: int, warmup: int) -> np.ndarray:
    """Milliseconds per step of a bare Keras ``model.fit`` on the same masked blocks: the model's own loss
    (labels -100 except at masked positions), so logits over the whole vocabulary at every position."""
    import tensorflow as tf
    import tf_keras

    labels = np.full_like(masked.input_ids, -100)
    rows = np.repeat(np.arange(len(masked)), masked.positions.shape[1])
    real = masked.weights.ravel() > 0
    labels[rows[real], masked.positions.ravel()[real]] = masked.labels.ravel()[real]
    data = {"input_ids": masked.input_ids, "attention_mask": np.ones_like(masked.input_ids), "labels": labels}
    dataset = tf.data.Dataset.from_tensor_slices(data).repeat().batch(FINETUNE_BATCH, drop_remainder=True)
    stamps = []

    class Stamps(tf_keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stamps.append(time.perf_counter())

    mlm.model.compile(optimizer=tf_keras.optimizers.Adam(5e-5))
    mlm.model.fit(dataset, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[Stamps()])
    return np.diff(stamps[warmup - 1 :]) * 1000


def finetune_rows(ctx: BenchContext) -> list[BenchResult]:
    """Training throughput: our loop vs a bare model.fit, same model, data, batch (8 × 64 tokens) and optimiser.
    Each runs on its own copy of the model. speedup = their ms per step / ours = our tokens/s / theirs."""
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model
    from mlm_core.training.blocks import make_blocks
    from mlm_core.training.finetune import copy_model
    from mlm_core.training.masking import mask_for

    results = []
    for name in ("finetune/demo", "finetune/base"):
        if not ctx.wants(name) or (name == "finetune/demo" and not DEMO_MODEL_DIR.is_dir()):
            continue
        mlm = load_model("demo") if name == "finetune/demo" else ctx.base[0]
        text = (
            " ".join(WORDS[i % len(WORDS)] for i in range(4000))
            if name == "finetune/base"
            else (DEMO_MODEL_DIR / "README.md").read_text(encoding="utf-8") * 4
        )
        blocks = make_blocks(mlm.tokenizer, [text], block_length=FINETUNE_BLOCK)
        steps, warmup = max(10, ctx.repeats), 3
        ctx.progress(f"{name}: our training loop...")
        ours = _our_step_times(copy_model(mlm, name="ours"), blocks, steps, warmup)
        ctx.progress(f"{name}: bare model.fit...")
        theirs = _bare_fit_step_times(
            copy_model(mlm, name="fit"), mask_for(mlm.tokenizer, blocks, seed=0), steps, warmup
        )
        results.append(
            BenchResult(
                name,
                float(np.median(ours)),
                float(np.percentile(ours, 95)),
                "bare Keras model.fit with the model's own MLM loss (ms per step of 8 × 64)",
                float(np.median(theirs)),
                float(np.median(theirs) / np.median(ours)),
            )
        )
    return results


def load_rows(ctx: BenchContext) -> list[BenchResult]:
    """Loading the shipped demo model from disk (imports already done), cold compiled-program cache."""
    from mlm_core.catalog import DEMO_MODEL_DIR
    from mlm_core.loading import load_model

    if not ctx.wants("load/demo") or not DEMO_MODEL_DIR.is_dir():
        return []
    ctx.progress("load/demo...")
    times = time_calls(lambda: load_model("demo"), max(3, ctx.repeats // 4), warmup=1)
    return [BenchResult("load/demo", float(np.median(times)), float(np.percentile(times, 95)))]
