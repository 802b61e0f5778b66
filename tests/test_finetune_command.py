"""The command line's one progress reporter: a bar on a terminal, JSON lines for scripts, a line per evaluation
otherwise; counted pairs and a probe's share done on a terminal only."""

import io
import json

import pytest

from mlm_core.cli import main
from mlm_core.cli.progress import ProgressReport
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
    assert first == {
        "step": 30,
        "total_steps": 120,
        "loss": 3.25,
        "tokens_per_second": 1234.0,
        "eta_seconds": 180.0,
        "worker": 1,
    }
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


def test_pairs_and_probe_progress_rewrite_one_line_on_a_terminal_only():
    """The same reporter turns the pairs/bias ``(done, total)`` and the probe's ``(fraction, what)`` callbacks into
    one line rewritten in place, ended when the work is done; without a terminal it prints nothing."""
    stream = io.StringIO()
    report = ProgressReport(stream, bar=True)
    count = report.counted("pairs")
    count(1000, 2000)
    count(2000, 2000)
    report.fraction(0.5, "layer 3")
    report.close()
    assert stream.getvalue() == f"\r1,000 of 2,000 pairs\r2,000 of 2,000 pairs\n\r 50% {'layer 3':<60}\n"
    quiet = io.StringIO()
    silent = ProgressReport(quiet)
    silent.counted("pairs")(1, 2)
    silent.fraction(1.0, "done")
    silent.close()
    assert quiet.getvalue() == ""
