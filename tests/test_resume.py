"""A run killed (SIGKILL) after a checkpoint and rerun with the same command ends with the weights of an
uninterrupted run — the reference, the same command run once in this process; the killed run leaves nothing
that loads as a model."""

import json
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from training_support import (
    PROCESS_TIMEOUT,
    build_tiny_without_dropout,
    cli_env,
    load_weights,
    max_difference,
    start_cli,
    stop,
    write_corpus,
)

import mlm_core
from mlm_core import ModelNotFoundError
from mlm_core.cli import main

STEPS, EVERY, KILL_AT = 60, 5, 20


@pytest.fixture(scope="module")
def folder():
    path = Path(tempfile.mkdtemp(prefix="mlm-explorer-resume-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def command(corpus: Path, model: Path, out: Path) -> list[str]:
    return [
        "finetune",
        str(corpus),
        "--model",
        str(model),
        "--strategy",
        "one",
        "--out",
        str(out),
        "--batch-size",
        "8",
        "--epochs",
        "10",
        "--max-steps",
        str(STEPS),
        "--block-length",
        "32",
        "--learning-rate",
        "1e-3",
        "--checkpoint-every",
        str(EVERY),
        "--json",
    ]


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_run(folder):
    model = build_tiny_without_dropout(folder / "tiny")
    corpus = write_corpus(folder / "corpus.txt", 400)
    out, checkpoints = folder / "resumed", folder / "resumed-checkpoints"
    process = start_cli(command(corpus, model, out), cwd=folder, env=cli_env())
    deadline = time.monotonic() + PROCESS_TIMEOUT
    try:  # kill it as soon as the checkpoint of step KILL_AT is complete (its state file names it)
        while time.monotonic() < deadline and process.poll() is None:
            state = checkpoints / "checkpoint"
            if state.is_file() and f'"ckpt-{KILL_AT}"' in state.read_text():
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        process.wait(timeout=30)
    finally:
        stop(process)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    assert not out.exists()
    with pytest.raises(ModelNotFoundError):
        mlm_core.load_model(str(out))
    done = [int(name.stem.split("-")[1]) for name in checkpoints.glob("ckpt-*.index")]
    assert KILL_AT <= max(done) < STEPS  # killed mid-run, after a checkpoint

    rerun = start_cli(command(corpus, model, out), cwd=folder, env=cli_env())
    try:
        stdout, stderr = rerun.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        stop(rerun)
    assert rerun.returncode == 0, stderr[-2000:]
    first_step = next(json.loads(line) for line in stderr.splitlines() if line.startswith("{"))["step"]
    assert first_step == max(done) + 1  # resumed where the checkpoint left off, not from the start
    assert json.loads(stdout)["steps"] == STEPS

    reference = folder / "uninterrupted"
    assert main(command(corpus, model, reference)) == 0
    assert max_difference(load_weights(out), load_weights(reference)) <= 1e-5
    assert max_difference(load_weights(out), load_weights(model)) > 1e-3
