"""The finetune command's progress: a bar on a terminal, JSON lines for scripts, a line per evaluation otherwise."""

import io
import json

import pytest

from mlm_core.cli import main
from mlm_core.finetune_command import ProgressReport
from mlm_core.training.loop import TrainingProgress
from mlm_core.training.metrics import MlmMetrics

EVALUATION = MlmMetrics(loss=2.5, perplexity=12.18, top1=0.25, top5=0.5, n_predictions=40)
STEP = TrainingProgress(step=30, total_steps=120, loss=3.25, tokens_per_second=1234.0, seconds_per_step=2.0)
EVALUATED = TrainingProgress(30, 120, 3.25, 1234.0, EVALUATION, 2.0)


def test_the_bar_shows_steps_loss_speed_and_time_left():
    stream = io.StringIO()
    report = ProgressReport(stream, bar=True)
    report(STEP)
    report.close()
    text = stream.getvalue()
    assert text.startswith("\r[######..................] 30/120")  # a quarter of 24 columns
    assert "loss 3.250" in text and "1,234 tokens/s" in text and "ETA 3 min 00 s" in text  # 90 steps × 2 s
    assert text.endswith("\n")


def test_json_lines_carry_the_numbers_and_the_evaluation():
    stream = io.StringIO()
    report = ProgressReport(stream, json_lines=True, worker=1)
    report(STEP)
    report(EVALUATED)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {"step": 30, "total_steps": 120, "loss": 3.25, "tokens_per_second": 1234.0,
                     "eta_seconds": 180.0, "worker": 1}
    assert second["validation"] == EVALUATION.as_dict()


def test_without_a_terminal_only_evaluations_are_printed():
    stream = io.StringIO()
    report = ProgressReport(stream)
    report(STEP)
    report(EVALUATED)
    assert stream.getvalue() == "step 30/120: train loss 3.250, validation loss 2.500\n"


def test_an_unknown_strategy_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["finetune", "corpus.txt", "--out", "x", "--strategy", "tpu"])
    assert exit_.value.code == 2 and "invalid choice: 'tpu'" in capsys.readouterr().err
