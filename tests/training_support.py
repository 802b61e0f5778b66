"""What the distributed, resume and corpus tests share: a tiny model without dropout, a generated corpus, and
``python -m mlm_core`` started as a separate process with a hard timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from mlm_core.testing.synthetic import WORDS, build_bert

ROOT = Path(__file__).resolve().parents[1]
PROCESS_TIMEOUT = 300  # seconds; two TensorFlow processes on two shared cores need ~30 s


def build_tiny_without_dropout(folder: Path) -> Path:
    """The tiny BERT (2 layers, hidden 32) with dropout off, so a training step is a deterministic function."""
    build_bert(folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def write_corpus(path: Path, n_lines: int, *, seed: int = 0, words_per_line: int = 12) -> Path:
    """``n_lines`` lines of the tiny vocabulary's words (every word is in the vocabulary: no subword surprises)."""
    vocabulary = WORDS.split() if isinstance(WORDS, str) else list(WORDS)
    rng = np.random.default_rng(seed)
    path.write_text(
        "\n".join(" ".join(rng.choice(vocabulary, words_per_line)) + " ." for _ in range(n_lines)), encoding="utf-8"
    )
    return path


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def start_cli(args: list[str], *, cwd: Path, env: dict[str, str], stderr=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlm_core", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
    )


def stop(process: subprocess.Popen) -> None:
    """Kill a process we started, if it still runs, and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


def max_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[name] - b[name]).max()) for name in a)
