"""Fine-tune a loaded masked LM on a user's text: read → plan (``finetune_plan``) → copy → train → evaluate → save.

The shared model is never touched: training runs on a copy (``copy_model``), so every other user of the cached
model keeps exactly the same weights. Quality is measured the masked-LM way — loss, perplexity, top-1/top-5 over
masked positions only, on a validation split taken from the end of the text, with a fixed masking seed — before
and after training, so the two numbers are comparable.

``jobs.FinetuneJob`` runs ``finetune`` in a background thread that a dashboard can poll and stop.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from ..files import check_output_folder, staged_output
from ..forward import masked_logits
from ..loading import wrap_model
from ..model import MaskedLM
from .blocks import TextBlocks
from .finetune_plan import FinetunePlan, FinetuneSettings, plan_finetune
from .loop import TrainingConfig, TrainingProgress, train
from .masking import mask_for
from .metrics import MlmMetrics, evaluate, masked_lm_loss

VALIDATION_SEED = 12345  # fixed, so "before" and "after" are measured on the same masked tokens


def copy_model(mlm: MaskedLM, *, name: str) -> MaskedLM:
    """An independent copy (own weights) of a loaded model, with its own compiled forward and caches."""
    source = mlm.model
    clone = type(source)(source.config)
    clone.build_in_name_scope()
    clone.set_weights(source.get_weights())
    return wrap_model(name, mlm.tokenizer, clone, max_tokens=mlm.max_tokens)


def validation_metrics(
    mlm: MaskedLM, validation: TextBlocks, settings: FinetuneSettings, *, batch_size: int
) -> MlmMetrics:
    """Masked-LM metrics on the validation blocks, always masked with ``VALIDATION_SEED``."""
    masked = mask_for(mlm.tokenizer, validation, probability=settings.mask_probability, seed=VALIDATION_SEED)
    return evaluate(mlm.model, masked, batch_size=batch_size)


def run_config(
    settings: FinetuneSettings,
    *,
    total_steps: int,
    steps_per_epoch: int,
    batch_size: int,
    checkpoint_every: int | None = None,
) -> TrainingConfig:
    """The training run a fine-tune implies: 10 % warm-up, about ten evaluations (at least one per epoch)."""
    return TrainingConfig(
        total_steps=total_steps,
        batch_size=batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=max(1, total_steps // 10),
        mask_probability=settings.mask_probability,
        eval_every=max(1, min(steps_per_epoch, -(-total_steps // 10))),
        seed=settings.seed,
        eval_seed=VALIDATION_SEED,
        checkpoint_every=checkpoint_every,
    )


def model_bytes(mlm: MaskedLM) -> int:
    return sum(weight.shape.num_elements() * weight.dtype.size for weight in mlm.model.weights)


def save_model(mlm: MaskedLM, out_dir: Path) -> None:
    """``save_pretrained`` (safetensors) with the tokenizer, written whole or not at all: a failed save (full
    disk…) raises ``InputError`` and leaves no folder that looks like a model."""
    with staged_output(out_dir, what=SAVED_WHAT, replace=True) as staging:
        mlm.model.save_pretrained(staging, safe_serialization=True)
        mlm.tokenizer.save_pretrained(staging)


@dataclass(frozen=True)
class StepTiming:
    """Measured on this machine: the first call (tracing included) and each call after it."""

    first_seconds: float
    step_seconds: float

    def estimate(self, steps: int) -> float:
        return self.first_seconds + max(steps - 1, 0) * self.step_seconds


def measure_step(mlm: MaskedLM, plan: FinetunePlan, *, repeats: int = 2) -> StepTiming:
    """Time a training step's forward and backward pass (the optimiser update, a few per cent more, is left
    out). Reads the model's weights without changing them."""
    masked = mask_for(
        mlm.tokenizer,
        plan.train.rows(slice(None, plan.batch_size)),
        probability=plan.settings.mask_probability,
        seed=plan.settings.seed,
    )
    model = mlm.model

    @tf.function
    def gradients(input_ids, positions, labels, weights):
        with tf.GradientTape() as tape:
            logits, _ = masked_logits(model, input_ids, tf.ones_like(input_ids), positions, training=True)
            loss = masked_lm_loss(labels, logits, weights)
        return tape.gradient(loss, model.trainable_variables)

    batch = (masked.input_ids, masked.positions, masked.labels, masked.weights)
    started = time.perf_counter()
    gradients(*batch)
    traced = time.perf_counter()
    for _ in range(repeats):
        gradients(*batch)
    return StepTiming(traced - started, (time.perf_counter() - traced) / repeats)


@dataclass(frozen=True)
class FinetuneResult:
    """A finished (or stopped) fine-tune: the trained copy ``model`` of the model named ``base_name``, validation
    metrics ``before`` and ``after`` (same blocks, same masking), ``steps`` of ``total_steps`` trained, the
    training ``history`` (one record per evaluation) and, when saved, ``out_dir``."""

    model: MaskedLM
    base_name: str
    before: MlmMetrics
    after: MlmMetrics
    steps: int
    total_steps: int
    stopped_early: bool
    seconds: float
    tokens_per_second: float
    history: list[dict]
    out_dir: Path | None = None

    def comparison_frame(self):
        import pandas as pd

        rows = [
            ("perplexity", self.before.perplexity, self.after.perplexity),
            ("top-1 accuracy", self.before.top1, self.after.top1),
            ("top-5 accuracy", self.before.top5, self.after.top5),
            ("loss (nats)", self.before.loss, self.after.loss),
        ]
        return pd.DataFrame(rows, columns=["metric", "before", "after"])

    def summary(self) -> dict:
        keys = ("perplexity", "top1", "top5")
        return {
            "out": str(self.out_dir) if self.out_dir else None,
            "before": {key: getattr(self.before, key) for key in keys},
            "after": {key: getattr(self.after, key) for key in keys},
            "tokens_per_second": self.tokens_per_second,
            "steps": self.steps,
            "stopped_early": self.stopped_early,
        }


SAVED_WHAT = "the fine-tuned model"


def check_save_folder(out_dir: str | Path, *, needed_bytes: int = 0) -> Path:
    """Where a fine-tuned model can be saved: a new or empty folder, or an earlier saved model (with its config.json)
    that the new one replaces; ``InputError`` otherwise (see ``files.check_output_folder``)."""
    return check_output_folder(out_dir, what=SAVED_WHAT, replace_marker="config.json", needed_bytes=needed_bytes)


def finetune(
    mlm: MaskedLM,
    text: str,
    settings: FinetuneSettings = FinetuneSettings(),  # noqa: B008 — frozen, so one shared default is safe
    *,
    out_dir: str | Path | None = None,
    name: str | None = None,
    on_progress: Callable[[TrainingProgress], None] = lambda progress: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> FinetuneResult:
    """Fine-tune a copy of ``mlm`` on ``text``; ``mlm`` itself is left unchanged.

    Validation metrics are taken before and after; with ``out_dir`` the result is saved there
    (``save_pretrained``, safetensors, with the tokenizer) and loads back as a local-folder model. The folder is
    checked before training (``check_save_folder``) and written through a staging folder moved into place at the
    end, so a failed save (full disk…) raises ``InputError`` and leaves no half-written model.
    ``should_stop`` is polled after every step; stopping keeps what was trained so far.
    """
    plan = plan_finetune(mlm, text, settings)
    if out_dir is not None:  # before the minutes of training: the folder, and room for the weights
        out_dir = check_save_folder(out_dir, needed_bytes=model_bytes(mlm))
    tuned = copy_model(mlm, name=name or f"{mlm.name} · fine-tuned {uuid.uuid4().hex[:6]}")
    before = validation_metrics(tuned, plan.validation, settings, batch_size=plan.batch_size)
    config = run_config(
        settings, total_steps=plan.total_steps, steps_per_epoch=plan.steps_per_epoch, batch_size=plan.batch_size
    )
    result = train(
        tuned.model,
        tuned.tokenizer,
        plan.train,
        plan.validation,
        config=config,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    after = validation_metrics(tuned, plan.validation, settings, batch_size=plan.batch_size)
    if out_dir is not None:
        save_model(tuned, out_dir)
    return FinetuneResult(
        tuned,
        mlm.name,
        before,
        after,
        result.steps,
        plan.total_steps,
        result.stopped_early,
        result.seconds,
        result.tokens_per_second,
        result.history,
        out_dir,
    )


def progress_frame(progress: list[TrainingProgress]):
    """Long-format loss curve for a chart: one row per step (train) and per evaluation (validation)."""
    import pandas as pd

    rows = [{"step": p.step, "split": "train", "loss": p.loss} for p in progress if p.evaluation is None]
    rows += [
        {"step": p.step, "split": "validation", "loss": p.evaluation.loss} for p in progress if p.evaluation is not None
    ]
    return pd.DataFrame(rows, columns=["step", "split", "loss"])
