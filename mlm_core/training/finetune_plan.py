"""What a fine-tune is asked to do, checked before anything is copied or trained: the text (typed, or read from an
upload), the settings against their ranges (``FINETUNE_PARAMS``, which the Fine-tune page's widgets read too), and
the plan they imply — the text cut into blocks, the last ``validation_share`` kept for validation, the steps.

``finetune.finetune`` runs a plan; ``corpus_finetune`` shares the settings and their ranges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InputError
from ..files import MAX_UPLOAD_MB, decode_upload
from ..model import MaskedLM
from ..params import Interval, check_params
from .blocks import TextBlocks, make_blocks
from .plan import check_block_length, plan_steps, too_few_blocks

MAX_TEXT_MB = MAX_UPLOAD_MB


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
