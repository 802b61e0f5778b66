import gc
import io
import json
import os
import tempfile
import threading
import time
import zipfile
from dataclasses import replace

import numpy as np
import pytest

import mlm_core
from mlm_core import InputError, ParameterError, predict
from mlm_core.cli import main
from mlm_core.training.finetune import FinetuneResult, StepTiming, finetune, measure_step, progress_frame
from mlm_core.training.finetune_plan import FinetuneSettings, plan_finetune, read_text_file
from mlm_core.training.jobs import (
    WORKSPACE_PREFIX,
    FinetuneJob,
    JobStatus,
    batch_note,
    duration,
    folder_zip,
    new_workspace,
    plan_line,
    result_lines,
)
from mlm_core.training.loop import TrainingProgress
from mlm_core.training.metrics import MlmMetrics

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TOWNS = ["the village", "the harbour", "the old town", "the valley", "the farm"]
WEATHER = [("rain", "umbrella"), ("snow", "boots"), ("sun", "hat"), ("wind", "coat"), ("fog", "lamp")]


def weather_diary(n_entries: int, seed: int = 0) -> str:
    """A small, regular text from one domain: a fine-tune must learn its habits quickly."""
    rng = np.random.default_rng(seed)
    entries = []
    for _ in range(n_entries):
        day, town = rng.choice(DAYS), rng.choice(TOWNS)
        weather, thing = WEATHER[rng.integers(len(WEATHER))]
        entries.append(
            f"On {day} the {weather} came to {town}, so the baker took her {thing} and walked to "
            f"the market. The {weather} stayed in {town} until the evening."
        )
    return " ".join(entries)


def weights_of(mlm) -> list[np.ndarray]:
    return [np.array(w, copy=True) for w in mlm.model.get_weights()]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
        ("café".encode("latin-1"), "is not UTF-8 text"),
        (b"PK\x03\x04rest-of-a-zip", "is a zip archive"),
        (b"a" * 10_000_001, "the limit is 10 MB"),
        (b"   \n\t  ", "has no words"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(data, message):
    with pytest.raises(InputError, match=message):
        read_text_file(data, name="notes.txt")


def test_utf8_upload_with_byte_order_mark_is_read():
    assert read_text_file("\ufeffLe café est fermé.".encode("utf-8")) == "Le café est fermé."


def test_plan_splits_validation_from_the_end_and_shrinks_the_batch_for_short_texts(bert):
    text = weather_diary(12)
    plan = plan_finetune(bert, text, FinetuneSettings(block_length=32, batch_size=64, validation_share=0.2))
    n_blocks = len(plan.train) + len(plan.validation)
    assert len(plan.validation) == round(0.2 * n_blocks)
    assert plan.batch_size == len(plan.train) and plan.steps_per_epoch == 1 and plan.total_steps == 2
    all_blocks = np.concatenate([plan.train.input_ids, plan.validation.input_ids])
    assert np.array_equal(plan.validation.input_ids, all_blocks[-len(plan.validation) :])


@pytest.mark.parametrize(
    "text, settings, error, message",
    [
        ("Only a few words here.", FinetuneSettings(block_length=64), InputError, "fewer than one training block"),
        (weather_diary(1), FinetuneSettings(block_length=64), InputError, "needs at least 2"),
        (weather_diary(5), FinetuneSettings(epochs=0), ParameterError, "'epochs' parameter"),
        (weather_diary(5), FinetuneSettings(learning_rate=1.0), ParameterError, "'learning_rate' parameter"),
        (weather_diary(5), FinetuneSettings(block_length=1024), ParameterError, "'block_length' parameter"),
        ("   ", FinetuneSettings(), InputError, "has no words"),
    ],
)
def test_texts_and_settings_that_cannot_train_are_refused(bert, text, settings, error, message):
    with pytest.raises(error, match=message):
        plan_finetune(bert, text, settings)


def test_block_longer_than_the_model_reads_is_refused(bert):
    with pytest.raises(InputError, match=f"can read \\({bert.max_tokens} tokens\\)"):
        plan_finetune(bert, weather_diary(40), FinetuneSettings(block_length=bert.max_tokens + 8))


@pytest.fixture(scope="module")
def demo_run(demo, tmp_path_factory):
    """Two epochs on the demo model: the run several acceptance points are checked on."""
    before_weights = weights_of(demo)
    steps = []
    out = tmp_path_factory.mktemp("finetuned") / "demo-weather"
    result = finetune(
        demo,
        weather_diary(60),
        FinetuneSettings(epochs=2, learning_rate=1e-4, batch_size=8),
        out_dir=out,
        on_progress=steps.append,
    )
    return result, before_weights, steps


@pytest.mark.slow
def test_two_epochs_on_in_domain_text_lower_validation_perplexity(demo, demo_run):
    result, _, _ = demo_run
    plan = plan_finetune(demo, weather_diary(60), FinetuneSettings(epochs=2, batch_size=8))
    assert result.steps == result.total_steps == 2 * len(plan.train) // 8  # two epochs; batches span their ends
    assert result.before.n_predictions == result.after.n_predictions > 0  # same masked tokens before and after
    assert result.after.perplexity < 0.8 * result.before.perplexity
    assert result.after.top1 >= result.before.top1


@pytest.mark.slow
def test_the_fine_tuned_model_learned_the_texts_habits(demo, demo_run):
    result, _, _ = demo_run
    text = "On Friday the [MASK] came to the harbour."

    def weather_probability(mlm) -> float:
        candidates = predict(mlm, text, top_k=100).masks[0].candidates
        return sum(c.probability for c in candidates if c.token in {"rain", "snow", "sun", "wind", "fog"})

    assert weather_probability(result.model) > 2 * weather_probability(demo)


@pytest.mark.slow
def test_the_shared_model_keeps_bit_identical_weights(demo, demo_run):
    _, before_weights, _ = demo_run
    assert all(np.array_equal(a, b) for a, b in zip(before_weights, weights_of(demo)))


@pytest.mark.slow
def test_progress_is_reported_after_every_step_and_every_evaluation(demo_run):
    result, _, steps = demo_run
    per_step = [p.step for p in steps if p.evaluation is None]
    assert per_step == list(range(1, result.steps + 1))
    curve = progress_frame(steps)
    assert set(curve["split"]) == {"train", "validation"}
    assert curve[curve["split"] == "validation"]["loss"].notna().all()


@pytest.mark.slow
def test_saved_folder_loads_as_a_local_model_with_the_same_predictions(demo_run):
    result, _, _ = demo_run
    reloaded = mlm_core.load_model(str(result.out_dir))
    text = "On Friday the [MASK] came to the harbour."
    tuned, loaded = predict(result.model, text, top_k=5), predict(reloaded, text, top_k=5)
    assert [c.token for c in tuned.masks[0].candidates] == [c.token for c in loaded.masks[0].candidates]
    assert np.allclose(
        [c.probability for c in tuned.masks[0].candidates],
        [c.probability for c in loaded.masks[0].candidates],
        atol=1e-5,
    )


@pytest.mark.slow
def test_zip_of_the_saved_model_holds_weights_config_and_tokenizer(demo_run):
    result, _, _ = demo_run
    names = zipfile.ZipFile(io.BytesIO(folder_zip(result.out_dir))).namelist()
    assert {"demo-weather/model.safetensors", "demo-weather/config.json", "demo-weather/vocab.txt"} <= set(names)


@pytest.mark.slow
def test_stop_keeps_what_was_trained_and_the_model_stays_usable(bert, tmp_path):
    seen = []
    result = finetune(
        bert,
        weather_diary(80),
        FinetuneSettings(epochs=5, batch_size=2, block_length=32),
        out_dir=tmp_path / "stopped",
        on_progress=seen.append,
        should_stop=lambda: len([p for p in seen if p.evaluation is None]) >= 3,
    )
    assert result.stopped_early and result.steps == 3 < result.total_steps
    assert any(not np.array_equal(a, b) for a, b in zip(bert.model.get_weights(), result.model.model.get_weights()))
    reloaded = mlm_core.load_model(str(tmp_path / "stopped"))
    probabilities = [c.probability for c in predict(reloaded, "the [MASK] came .").masks[0].candidates]
    assert np.isfinite(probabilities).all() and sum(probabilities) > 0


@pytest.mark.slow
def test_background_job_reports_progress_and_can_be_stopped(bert):
    job = FinetuneJob(
        bert, weather_diary(80), FinetuneSettings(epochs=50, batch_size=2, block_length=32, max_steps=10_000)
    ).start()
    deadline = threading.Event()
    while not job.done and (job.latest is None or job.latest.step < 2):
        deadline.wait(0.05)
    job.stop()
    job.wait(120)
    assert job.done and job.error is None
    assert job.result.stopped_early and 2 <= job.result.steps < job.result.total_steps


def test_background_job_hands_over_errors_instead_of_raising(bert):
    job = FinetuneJob(bert, "too short", FinetuneSettings()).start()
    job.wait(60)
    assert isinstance(job.error, InputError) and job.result is None


def test_measured_step_time_is_positive_and_leaves_weights_alone(bert):
    before = weights_of(bert)
    plan = plan_finetune(bert, weather_diary(20), FinetuneSettings(block_length=32, batch_size=4))
    timing = measure_step(bert, plan)
    assert 0 < timing.step_seconds < timing.first_seconds  # the first call also traces
    assert timing.estimate(10) == pytest.approx(timing.first_seconds + 9 * timing.step_seconds)
    assert all(np.array_equal(a, b) for a, b in zip(before, weights_of(bert)))


@pytest.mark.slow
def test_cli_finetune_json_reports_before_after_and_throughput(bert_dir, tmp_path, capsys):
    source = tmp_path / "diary.txt"
    source.write_text(weather_diary(40), encoding="utf-8")
    out = tmp_path / "cli-model"
    code = main(
        [
            "finetune",
            str(source),
            "--model",
            str(bert_dir),
            "--epochs",
            "1",
            "--block-length",
            "32",
            "--batch-size",
            "4",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["out"] == str(out) and (out / "model.safetensors").is_file()
    for side in ("before", "after"):
        assert set(data[side]) == {"perplexity", "top1", "top5"}
        assert data[side]["perplexity"] > 1 and 0 <= data[side]["top1"] <= data[side]["top5"] <= 1
    assert data["tokens_per_second"] > 0


@pytest.mark.parametrize(
    "content, message",
    [(None, "No file"), (b"\xff\xfe\x00b\x00a\x00d", "looks binary"), (b"short text", "fewer than one training block")],
)
def test_cli_finetune_bad_input_exits_2_with_one_line(bert_dir, tmp_path, capsys, content, message):
    source = tmp_path / "input.txt"
    if content is not None:
        source.write_bytes(content)
    code = main(["finetune", str(source), "--model", str(bert_dir), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_workspaces_are_private_removed_with_their_owner_and_stale_ones_swept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale, recent = tmp_path / f"{WORKSPACE_PREFIX}old", tmp_path / f"{WORKSPACE_PREFIX}recent"
    for folder in (stale, recent):
        (folder / "model").mkdir(parents=True)
    two_days_ago = time.time() - 48 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))
    workspace = new_workspace()
    folder = workspace.name
    assert not stale.exists() and recent.exists() and os.path.isdir(folder)
    del workspace  # the session's state is dropped
    gc.collect()
    assert not os.path.exists(folder)


def test_durations_read_in_minutes_and_seconds():
    assert [duration(s) for s in (0, 42.4, 59.6, 65, 3600)] == [
        "0 s",
        "42 s",
        "1 min 00 s",
        "1 min 05 s",
        "60 min 00 s",
    ]


def test_a_jobs_status_goes_from_waiting_to_preparing_to_its_step_and_pace(bert):
    job = FinetuneJob(bert, "text", FinetuneSettings())  # never started: its state is set by hand
    assert job.status() == JobStatus(
        0.0, "Waiting: another fine-tune is running on this server; yours starts after it."
    )
    job.waiting = False
    assert job.status().line.startswith("Preparing:") and job.status().detail is None
    job.progress.append(
        TrainingProgress(step=3, total_steps=10, loss=2.5, tokens_per_second=1234.4, seconds_per_step=10.0)
    )
    assert job.status() == JobStatus(0.3, "Step 3 of 10 · train loss 2.500", "1,234 tokens/s · about 1 min 10 s left")
    job.stop()
    assert job.status().detail.endswith(" · stopping after this step…")
    assert job.error_message is None
    job.error = InputError("The text is empty.")
    assert job.error_message == "The text is empty."
    job.error = RuntimeError("out of memory")
    assert job.error_message == "Fine-tuning failed: RuntimeError: out of memory"


def test_the_plan_and_result_lines_state_steps_time_and_the_smaller_batch(bert):
    settings = FinetuneSettings(block_length=32, batch_size=64)
    plan = plan_finetune(bert, weather_diary(12), settings)
    timing = StepTiming(first_seconds=3.0, step_seconds=0.25)
    assert plan_line("tiny", plan, timing) == (
        f"Starts from **tiny**. {plan.describe()} Estimated time: about "
        f"**{duration(3.0 + (plan.total_steps - 1) * 0.25)}** (3 s to prepare, then 0.25 s per step on this machine)."
    )
    assert plan.batch_size < 64 and batch_note(plan, settings) == (
        f"The text is short, so each step uses {plan.batch_size} blocks instead of 64."
    )
    assert batch_note(plan, replace(settings, batch_size=plan.batch_size)) is None
    metrics = MlmMetrics(loss=1.0, perplexity=2.7, top1=0.5, top5=0.8, n_predictions=120)
    result = FinetuneResult(bert, "tiny", metrics, metrics, 7, 10, True, 75.0, 2000.0, [])
    assert result_lines(result) == (
        "120 masked words from the validation part, masked the same way before and after; perplexity is "
        "exp(mean loss) over the masked positions only.",
        "Stopped after 7 of 10 steps in 1 min 15 s (2,000 tokens/s).",
    )
    assert result_lines(replace(result, stopped_early=False))[1] == "Trained 7 steps in 1 min 15 s (2,000 tokens/s)."
