import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlm_core.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "mlm_core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_predict_json_schema_with_two_masks(bert_dir):
    completed = run_cli(
        "predict", "The [MASK] sat on the [MASK] and looked around.", "--model", str(bert_dir), "--top-k", "3", "--json"
    )
    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    assert data["model"] == str(bert_dir)
    assert [m["position"] for m in data["masks"]] == [2, 6]
    for mask in data["masks"]:
        probabilities = [p["probability"] for p in mask["predictions"]]
        assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert all(isinstance(p["token"], str) and "[MASK]" in p["sentence"] for p in mask["predictions"])
    assert len(data["joint"]) == 5
    assert all("[MASK]" not in filling["sentence"] for filling in data["joint"])


@pytest.mark.slow
def test_unknown_model_offline_exits_2_without_waiting_for_the_network_and_with_one_line():
    """Offline, an unknown id is refused at once (no retries against the hub): the 60 s bound only catches a
    hang — importing TensorFlow alone takes several seconds on a busy CI machine, so no tighter time is asserted."""
    completed = run_cli("predict", "The cat sat on the [MASK].", "--model", "no-such/model", timeout=60)
    assert completed.returncode == 2
    assert completed.stdout == ""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such/model" in lines[0] and "Traceback" not in completed.stderr


@pytest.mark.slow
def test_human_output_prints_filled_sentences(bert_dir, capsys):
    assert main(["predict", "The cat sat on the [MASK] and looked around.", "--model", str(bert_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    assert all(line.startswith("The cat sat on the ") and line.endswith(" and looked around.") for line in lines)


@pytest.mark.slow
def test_camembert_style_model_accepts_bracket_mask(camembert_dir, capsys):
    assert main(["predict", "the cat sat on the [MASK] .", "--model", str(camembert_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["masks"]) == 1 and data["joint"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "no mask here"], "No [MASK] in the text"),
        (["predict", "a [MASK]", "--top-k", "0"], "The 'top_k' parameter of predict must be"),
    ],
)
def test_user_errors_exit_2_with_the_message(bert_dir, capsys, args, message):
    assert main(args + ["--model", str(bert_dir)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_arguments_exit_2_on_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "a [MASK]", "--top-k", "many"])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
