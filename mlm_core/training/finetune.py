"""Fine-tune a loaded masked LM on a user's text: read → plan → copy → train → evaluate → save.

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
from dataclasses import asdict, dataclass
from pathlib import Path

import tensorflow as tf

from ..errors import InputError
from ..files import MAX_UPLOAD_MB, check_output_folder, decode_upload, staged_output
from ..forward import masked_logits
from ..loading import wrap_model
from ..model import MaskedLM
from ..params import Interval, check_params
from .blocks import TextBlocks, make_blocks
from .loop import TrainingConfig, TrainingProgress, train
from .masking import mask_for
from .metrics import MlmMetrics, evaluate, masked_lm_loss
from .plan import check_block_length, plan_steps, too_few_blocks

MAX_TEXT_MB = MAX_UPLOAD_MB
VALIDATION_SEED = 12345  # fixed, so "before" and "after" are measured on the same masked tokens


def read_text_file(data: bytes, *, name: str = "The file") -> str:
    """Decode an uploaded training text; raise ``InputError`` for empty, oversized, zip, binary or non-UTF-8 data."""
    text = decode_upload(
        data, name=name, wanted="a plain-text (.txt) file with the text to train on", max_mb=MAX_TEXT_MB
    )
    return check_training_text(text, name=name)


def check_training_text(text: str, *, name: str = "The text") -> str:
    if not text.strip():
        raise InputError(f"{name} has no words — paste or upload the text to fine-tune on.")
    if len(text.encode("utf-8")) > MAX_TEXT_MB * 1_000_000:
        raise InputError(f"{name} is longer than {MAX_TEXT_MB} MB — use a shorter text.")
    return text


@dataclass(frozen=True)
class FinetuneSettings:
    """What the user can choose. ``max_steps`` caps the run whatever the number of epochs."""

    epochs: int = 2
    learning_rate: float = 5e-5
    batch_size: int = 8
    block_length: int = 64
    mask_probability: float = 0.15
    validation_share: float = 0.1
    max_steps: int = 500
    seed: int = 0


FINETUNE_PARAMS = {
    "epochs": Interval(int, 1, 50),
    "learning_rate": Interval(float, 1e-6, 1e-3),
    "batch_size": Interval(int, 1, 64),
    "block_length": Interval(int, 16, 512),
    "mask_probability": Interval(float, 0.05, 0.4),
    "validation_share": Interval(float, 0.05, 0.5),
    "max_steps": Interval(int, 1, 100_000, widget=(1, 5000)),
}


@dataclass(frozen=True)
class FinetunePlan:
    """The text cut into blocks and the run it implies. ``batch_size`` may be lower than asked for a short text."""

    train: TextBlocks
    validation: TextBlocks
    settings: FinetuneSettings
    batch_size: int
    steps_per_epoch: int
    total_steps: int

    def describe(self) -> str:
        epochs = self.total_steps * self.batch_size / len(self.train)
        return (
            f"{len(self.train)} training blocks and {len(self.validation)} validation blocks of "
            f"{self.train.block_length} tokens; {self.total_steps} steps of {self.batch_size} blocks "
            f"({epochs:.3g} epochs)."
        )


def plan_finetune(mlm: MaskedLM, text: str, settings: FinetuneSettings = FinetuneSettings()) -> FinetunePlan:
    """Validate the settings and the text, cut it into blocks, keep the last ``validation_share`` for validation."""
    check_params("fine-tuning", asdict(settings), FINETUNE_PARAMS)
    check_block_length(settings.block_length, mlm)
    check_training_text(text)
    blocks = make_blocks(mlm.tokenizer, [text], block_length=settings.block_length)
    if len(blocks) < 2:
        raise too_few_blocks("The text", settings.block_length)
    n_validation = min(len(blocks) - 1, max(1, round(settings.validation_share * len(blocks))))
    # The validation blocks come from the end of the text, not from between training blocks, so that they share
    # no sentence with what is trained on.
    cut = len(blocks) - n_validation
    train_blocks, validation = blocks.rows(slice(None, cut)), blocks.rows(slice(cut, None))
    steps = plan_steps(
        len(train_blocks),
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        max_steps=settings.max_steps,
        what="The text",
    )
    return FinetunePlan(train_blocks, validation, settings, steps.batch_size, steps.steps_per_epoch, steps.total_steps)


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
    settings: FinetuneSettings = FinetuneSettings(),
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
