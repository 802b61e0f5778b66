"""What a model's files must be before transformers reads them, and how a damaged one is named.

Only safetensors or h5 weights are read — pickle files (``pytorch_model.bin``, ``*.pt``, ``*.ckpt``) are refused
(transformers' TF loader only reads pickles with ``from_pt=True``, which we never pass). A local folder's files are
checked before reading (a truncated download, a Git LFS pointer instead of the weights, an empty or non-JSON file,
a configuration setting that is not a whole number); what fails while reading is named here too (``damaged``), so
every message says which file is wrong and how to fix it. ``loading`` calls these checks.
"""

from __future__ import annotations

import json
from pathlib import Path

from .catalog import ResolvedSpec
from .errors import ModelNotFoundError, UnsupportedModelError
from .files import file_problem

SAFE_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "tf_model.h5", "tf_model.h5.index.json")
PICKLE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json")
# Small JSON files that must hold one object; transformers fails on anything else with a TypeError deep inside.
JSON_OBJECT_FILES = (
    "config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "model.safetensors.index.json",
    "tf_model.h5.index.json",
)
MODEL_FILES = (*SAFE_WEIGHT_FILES, *TOKENIZER_FILES, *JSON_OBJECT_FILES, "merges.txt")
POSITIVE_INT_SETTINGS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
)


def check_weight_files(resolved: ResolvedSpec, filenames: list[str]) -> None:
    if "config.json" not in filenames:
        raise ModelNotFoundError(
            f"Model '{resolved.spec}' has no config.json — point to the folder written by save_pretrained()."
        )
    if any(name in SAFE_WEIGHT_FILES for name in filenames):
        return
    pickles = [name for name in filenames if name.endswith(PICKLE_WEIGHT_SUFFIXES)]
    if pickles:
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' only has pickle weights ({', '.join(pickles)}), which can run code when "
            "loaded — convert them to model.safetensors (save_pretrained(..., safe_serialization=True)) first."
        )
    raise ModelNotFoundError(
        f"Model '{resolved.spec}' has no weights — expected model.safetensors or tf_model.h5 next to config.json."
    )


def folder_files(resolved: ResolvedSpec) -> list[str]:
    return sorted(path.name for path in Path(resolved.source).iterdir())


def check_tokenizer_files(resolved: ResolvedSpec, filenames: list[str]) -> None:
    # A folder of bare checkpoint weights (e.g. a trainer's best/) would otherwise fail deep inside transformers.
    if not any(name in TOKENIZER_FILES or name.endswith(".model") for name in filenames):
        raise ModelNotFoundError(
            f"Model '{resolved.spec}' has weights but no tokenizer (tokenizer.json, vocab.txt, vocab.json or a "
            "sentencepiece .model) — save the tokenizer it was trained with into the folder "
            "(tokenizer.save_pretrained(folder))."
        )


def check_files(resolved: ResolvedSpec, filenames: list[str]) -> None:
    """Refuse a local folder whose model files are visibly damaged, naming the file, before transformers reads it."""
    folder = Path(resolved.source)
    for name in filenames:
        if name in MODEL_FILES or name.endswith(".model"):
            problem = file_problem(folder / name, json_object=name in JSON_OBJECT_FILES)
            if problem:
                raise ModelNotFoundError(damaged(resolved, name, problem))
    if "config.json" in filenames:
        config = json.loads((folder / "config.json").read_bytes().decode("utf-8-sig"))
        for key in POSITIVE_INT_SETTINGS:
            value = config.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelNotFoundError(
                    damaged(resolved, "config.json", f"'{key}' is {value!r}, not a whole number above 0")
                )


def damaged_tokenizer_file(resolved: ResolvedSpec, error: BaseException) -> tuple[str, str]:
    """(file, what is wrong) for a tokenizer that failed: the first tokenizer file that is not UTF-8 (or not JSON),
    else the first one transformers reads (tokenizer.json before the vocabulary files)."""
    names = [
        name for name in (*TOKENIZER_FILES, "merges.txt") if resolved.kind == "local" and name in folder_files(resolved)
    ]
    for name in names:
        problem = file_problem(Path(resolved.source) / name, text=True, json_object=name.endswith(".json"))
        if problem:
            return name, problem
    return (names or ["tokenizer.json"])[0], first_line(error)


def weights_file(resolved: ResolvedSpec, default: str) -> str:
    """The weights file transformers reads from a local folder (in its order); ``default`` for the hub cache."""
    names = folder_files(resolved) if resolved.kind == "local" else []
    return next((name for name in SAFE_WEIGHT_FILES if name in names), default)


def damaged(resolved: ResolvedSpec, name: str, detail: str) -> str:
    """The message for a damaged file ``name`` of the model: its kind, ``detail`` and the fix (folder or cache)."""
    kind = "weights" if name in SAFE_WEIGHT_FILES else "configuration" if name == "config.json" else "tokenizer"
    fix = (
        "delete it from the Hugging Face cache ('huggingface-cli delete-cache') and load it again to download it anew"
        if resolved.kind == "hub"
        else "save the model again with save_pretrained(), or download it again"
    )
    return (
        f"Model '{resolved.spec}' could not be read: its {kind} file {name} is damaged or incomplete ({detail}) "
        f"— {fix}."
    )


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
