"""Distributed fine-tuning equals the one-process run: two workers (MultiWorkerMirroredStrategy, TF_CONFIG on
127.0.0.1) and two local replicas (MirroredStrategy over two logical CPUs), against the same command with strategy
``one`` — the reference. Same global batch, corpus and seed; the tiny model has dropout off."""

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import tensorflow as tf
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
from mlm_core import InputError
from mlm_core.cli import main
from mlm_core.testing.serve import free_port
from mlm_core.training.distribute import Placement, place

pytestmark = pytest.mark.distributed

RUN = [
    "--batch-size",
    "8",
    "--max-steps",
    "6",
    "--block-length",
    "32",
    "--learning-rate",
    "1e-3",
    "--checkpoint-every",
    "2",
    "--json",
]


@pytest.fixture(scope="module")
def cluster_run():
    """A tiny dropout-free model, a generated corpus, and the one-process reference run (in this process)."""
    folder = Path(tempfile.mkdtemp(prefix="mlm-explorer-distributed-"))
    try:
        model = build_tiny_without_dropout(folder / "tiny")
        corpus = write_corpus(folder / "corpus.txt", 400)
        reference = folder / "one"
        assert (
            main(["finetune", str(corpus), "--model", str(model), "--strategy", "one", "--out", str(reference), *RUN])
            == 0
        )
        yield folder, model, corpus, load_weights(reference)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_save_the_weights_of_the_one_process_run(cluster_run):
    folder, model, corpus, reference = cluster_run
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    out, workers = folder / "two", []
    started = time.monotonic()
    try:
        for index in range(2):
            env = cli_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
            workers.append(
                start_cli(
                    [
                        "finetune",
                        str(corpus),
                        "--model",
                        str(model),
                        "--strategy",
                        "multiworker",
                        "--out",
                        str(out),
                        *RUN,
                    ],
                    cwd=folder,
                    env=env,
                )
            )
        results = [worker.communicate(timeout=PROCESS_TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            stop(worker)
    assert time.monotonic() - started < PROCESS_TIMEOUT
    assert [worker.returncode for worker in workers] == [0, 0], [err[-2000:] for _, err in results]
    chief, other = (json.loads(stdout) for stdout, _ in results)
    assert chief["out"] == str(out) and other["out"] is None  # the chief alone writes the model
    assert chief["steps"] == other["steps"] == 6
    assert chief["after"] == other["after"]  # both evaluated the same weights on the same validation tail
    trained = load_weights(out)
    assert max_difference(trained, reference) <= 1e-5
    assert max_difference(trained, load_weights(model)) > 1e-3  # training did move the weights
    assert (folder / "two-checkpoints" / "ckpt-6.index").is_file()  # the chief's checkpoints…
    assert (folder / "two-checkpoints" / ".worker-1" / "ckpt-6.index").is_file()  # …the other's, aside
    assert mlm_core.load_model(str(out)).name  # the CLI's folder loads as a local model


def start_workers(folder: Path, args: list[str]) -> list:
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [
        start_cli(
            args,
            cwd=folder,
            env=cli_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})),
        )
        for index in range(2)
    ]


def test_a_killed_worker_stops_the_other_and_both_restarted_resume_to_the_one_process_weights(cluster_run):
    """Worker 1 is SIGKILLed after the chief's checkpoint of step 15: worker 0 stops with one line saying what to
    do. Worker 1's checkpoint state is then set one checkpoint back (as if it died while saving), and the same
    command started again on both resumes from that common step and ends with the weights of an uninterrupted
    one-process run (same command, strategy ``one``, in this process)."""
    folder, model, corpus, _ = cluster_run
    run = [
        "--batch-size",
        "8",
        "--epochs",
        "10",
        "--max-steps",
        "60",
        "--block-length",
        "32",
        "--learning-rate",
        "1e-3",
        "--checkpoint-every",
        "5",
        "--json",
    ]
    out, checkpoints = folder / "rejoined", folder / "rejoined-checkpoints"
    command = ["finetune", str(corpus), "--model", str(model), "--strategy", "multiworker", "--out", str(out), *run]
    workers = start_workers(folder, command)
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while time.monotonic() < deadline and not (checkpoints / "ckpt-15.index").is_file():
            assert workers[0].poll() is None, workers[0].communicate()[1][-2000:]
            time.sleep(0.02)
        workers[1].send_signal(signal.SIGKILL)
        _, stderr = workers[0].communicate(timeout=120)  # the heartbeat notices the lost worker within seconds
    finally:
        for worker in workers:
            stop(worker)
    assert workers[0].returncode == 2 and not out.exists()
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "another worker stopped answering" in line and "start the same command again on every worker" in line
    paths = list(tf.train.get_checkpoint_state(str(checkpoints / ".worker-1")).all_model_checkpoint_paths)
    (checkpoints / ".worker-1" / "checkpoint").write_text(  # TensorFlow's checkpoint state, one checkpoint back
        f'model_checkpoint_path: "{paths[-2]}"\n'
        + "".join(f'all_model_checkpoint_paths: "{path}"\n' for path in paths[:-1])
    )
    common = int(paths[-2].rsplit("-", 1)[1])

    workers = start_workers(folder, command)
    try:
        results = [worker.communicate(timeout=PROCESS_TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            stop(worker)
    assert [worker.returncode for worker in workers] == [0, 0], [err[-2000:] for _, err in results]
    first_steps = [
        next(json.loads(line) for line in err.splitlines() if line.startswith("{"))["step"] for _, err in results
    ]
    assert first_steps == [common + 1, common + 1]  # both took up the batch after the common checkpoint
    reference = folder / "rejoined-reference"
    assert (
        main(["finetune", str(corpus), "--model", str(model), "--strategy", "one", "--out", str(reference), *run]) == 0
    )
    assert max_difference(load_weights(out), load_weights(reference)) <= 1e-5


MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from mlm_core.cli.shared import load
from mlm_core.training.corpus_finetune import CorpusRun, finetune_corpus
from mlm_core.training.distribute import Placement
from mlm_core.training.finetune_plan import FinetuneSettings
placement = Placement("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
settings = FinetuneSettings(batch_size=8, block_length=32, max_steps=6, learning_rate=1e-3)
result = finetune_corpus(lambda: load(sys.argv[2]), sys.argv[1], settings, CorpusRun(placement, checkpoint_every=2),
                         out_dir=sys.argv[3])
print(result.steps, placement.replicas)
"""


def test_two_local_replicas_save_the_weights_of_the_one_process_run(cluster_run):
    """One input pipeline feeding two replicas (how MirroredStrategy splits it over a machine's GPUs)."""
    folder, model, corpus, reference = cluster_run
    out = folder / "mirrored"
    process = subprocess.Popen(
        [sys.executable, "-c", MIRRORED, str(corpus), str(model), str(out)],
        cwd=folder,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 0, stderr[-2000:]
    assert stdout.split()[-2:] == ["6", "2"]
    assert max_difference(load_weights(out), reference) <= 1e-5


def test_a_global_batch_that_does_not_split_evenly_is_refused():
    placement = Placement("mirrored", SimpleNamespace(num_replicas_in_sync=3))
    with pytest.raises(InputError, match="--batch-size 8 does not divide evenly across the 3 replicas .* e.g. 6 or 9"):
        placement.check_batch_size(8)
    placement.check_batch_size(9)


@pytest.mark.parametrize(
    "tf_config, message",
    [
        ("not json", "TF_CONFIG is not a usable cluster description"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "TF_CONFIG is not a usable cluster description"),
        ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', "TF_CONFIG is not a usable cluster description"),
    ],
)
def test_an_unusable_tf_config_is_refused_before_any_strategy_starts(monkeypatch, tf_config, message):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(InputError, match=message):
        place("multiworker")


def test_multiworker_without_tf_config_is_one_line_exit_2(cluster_run, capsys, monkeypatch):
    folder, model, corpus, _ = cluster_run
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = main(
        ["finetune", str(corpus), "--model", str(model), "--strategy", "multiworker", "--out", str(folder / "never")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "needs the TF_CONFIG environment variable" in err and err.count("\n") == 1
    assert not (folder / "never").exists()
