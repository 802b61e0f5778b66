"""Load a masked LM from a spec: local folder or Hugging Face cache first, the hub only after that.

Safety rules, enforced here and nowhere else:
- never ``trust_remote_code``;
- weights only from safetensors or h5 — pickle files (``pytorch_model.bin``, ``*.pt``, ``*.ckpt``) are refused
  (transformers' TF loader only reads pickles with ``from_pt=True``, which we never pass);
- a model whose checkpoint lacks the masked-LM head is refused rather than run with a random head.

A damaged model (a truncated download, a Git LFS pointer instead of the weights, an empty or non-JSON file, a
tokenizer that cannot encode) is refused with ``ModelNotFoundError`` naming the file: a local folder's files are
checked before reading, and what transformers, safetensors and tokenizers raise while reading is caught by type.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from .catalog import ResolvedSpec, hub_offline, resolve_spec
from .errors import ModelNotFoundError, UnsupportedModelError
from .files import file_problem
from .forward import CompiledForward
from .model import MaskedLM

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
PROBE_TEXT = "qzx ✓ 123"  # a made-up word and a rare character: a tokenizer that cannot cope fails here, not later
HUB_PROBE_TIMEOUT_S = 6.0
# Roberta-family position ids start after the padding index, so two positions are unusable.
_POSITION_OFFSET_MODELS = {
    "roberta": 2,
    "camembert": 2,
    "xlm-roberta": 2,
    "longformer": 2,
    "roberta-prelayernorm": 2,
    "mpnet": 2,
    "esm": 2,
}
NO_POSITION_LIMIT = 512  # families with relative positions only (Funnel): the tokenizer's limit, else this


def load_model(
    spec: str,
    *,
    jit_compile: bool | None = None,
    allow_new_head: bool = False,
    allowed_roots: Sequence[str | Path] | None = None,
) -> MaskedLM:
    """Load the model named by ``spec`` (preset key, hub id or folder) ready for analysis.

    ``allow_new_head`` lets the demo-model builder start from an encoder without an MLM head; ``allowed_roots``
    limits local folders (see ``resolve_spec``). Raises ``ModelNotFoundError`` or ``UnsupportedModelError`` with
    a message that says what to do.
    """
    resolved = resolve_spec(spec, allowed_roots=allowed_roots)
    if resolved.kind == "local":
        _check_weight_files(resolved, _folder_files(resolved))
        return _load(resolved, local_files_only=True, jit_compile=jit_compile, allow_new_head=allow_new_head)
    try:
        return _load(resolved, local_files_only=True, jit_compile=jit_compile, allow_new_head=allow_new_head)
    except _NotCached:
        pass
    _probe_hub(resolved)
    return _load(resolved, local_files_only=False, jit_compile=jit_compile, allow_new_head=allow_new_head)


class _NotCached(Exception):
    pass


def _check_weight_files(resolved: ResolvedSpec, filenames: list[str]) -> None:
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


def _folder_files(resolved: ResolvedSpec) -> list[str]:
    return sorted(path.name for path in Path(resolved.source).iterdir())


def _check_tokenizer_files(resolved: ResolvedSpec, filenames: list[str]) -> None:
    # A folder of bare checkpoint weights (e.g. a trainer's best/) would otherwise fail deep inside transformers.
    if not any(name in TOKENIZER_FILES or name.endswith(".model") for name in filenames):
        raise ModelNotFoundError(
            f"Model '{resolved.spec}' has weights but no tokenizer (tokenizer.json, vocab.txt, vocab.json or a "
            "sentencepiece .model) — save the tokenizer it was trained with into the folder "
            "(tokenizer.save_pretrained(folder))."
        )


def _probe_hub(resolved: ResolvedSpec) -> None:
    """Fail fast (≤ a few seconds) when the hub cannot be reached or the repo is unusable.

    transformers would otherwise retry for ~25 s with no network.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import GatedRepoError, RepositoryNotFoundError

    offline_hint = (
        f"Model '{resolved.spec}' is not in the local Hugging Face cache and the hub cannot be reached "
        "— connect to the internet once to download it, or pick 'demo' or a local folder."
    )
    if hub_offline():
        raise ModelNotFoundError(offline_hint)
    try:
        info = HfApi().model_info(resolved.source, timeout=HUB_PROBE_TIMEOUT_S)
    except GatedRepoError as error:
        raise ModelNotFoundError(
            f"Model '{resolved.spec}' is gated on the hub — accept its terms there and log in with "
            "'huggingface-cli login', then try again."
        ) from error
    except RepositoryNotFoundError as error:
        raise ModelNotFoundError(
            f"No model '{resolved.source}' on the Hugging Face hub — check the spelling (e.g. 'bert-base-uncased')."
        ) from error
    except Exception as error:  # network errors come in many types (DNS, TLS, timeouts, proxies)
        raise ModelNotFoundError(offline_hint) from error
    _check_weight_files(resolved, ["config.json"] + [sibling.rfilename for sibling in info.siblings or []])


def _load(
    resolved: ResolvedSpec, *, local_files_only: bool, jit_compile: bool | None, allow_new_head: bool
) -> MaskedLM:
    from transformers import AutoConfig, TFAutoModelForMaskedLM

    common = {"local_files_only": local_files_only, "trust_remote_code": False}
    if resolved.kind == "local":
        _check_files(resolved, ["config.json"])
    try:
        config = AutoConfig.from_pretrained(resolved.source, **common)
    except OSError as error:
        if resolved.kind == "hub" and local_files_only:
            raise _NotCached from error
        raise ModelNotFoundError(f"Model '{resolved.spec}' could not be read: {_first_line(error)}") from error
    except ValueError as error:  # unknown model_type, or remote code required
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' needs code that transformers does not ship ({_first_line(error)}) — "
            "MLM Explorer never runs a model's own code; pick a BERT-like masked LM."
        ) from error
    if type(config) not in TFAutoModelForMaskedLM._model_mapping:
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' is a '{config.model_type}' model, which has no TensorFlow masked-LM class — "
            "pick a masked language model such as BERT, CamemBERT, RoBERTa, DistilBERT or ALBERT."
        )
    if resolved.kind == "local":  # after the architecture, which is the better reason to refuse a model
        _check_tokenizer_files(resolved, _folder_files(resolved))
        _check_files(resolved, [name for name in _folder_files(resolved) if name != "config.json"])
    tokenizer = _read_tokenizer(resolved, common)
    model, info = _read_weights(resolved, config, common)
    if info["missing_keys"] and not allow_new_head:
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' has no trained masked-LM head (missing: {info['missing_keys'][0]} and "
            f"{len(info['missing_keys']) - 1} more) — its predictions would be random; pick a model trained "
            "for masked language modelling (fill-mask)."
        )
    if tokenizer.mask_token is None:
        raise UnsupportedModelError(f"Model '{resolved.spec}' has no mask token, so it cannot fill in blanks.")
    return wrap_model(resolved.display_name, tokenizer, model, jit_compile=jit_compile)


def _read_tokenizer(resolved: ResolvedSpec, common: dict):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved.source, **common)
        tokenizer(PROBE_TEXT)
    except OSError as error:
        if resolved.kind == "hub" and common["local_files_only"]:
            raise _NotCached from error
        raise ModelNotFoundError(f"Model '{resolved.spec}' could not be read: {_first_line(error)}") from error
    except ImportError as error:  # e.g. the Japanese tokenizer's MeCab packages
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' needs a Python package that is missing: {_first_line(error)}"
        ) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:  # vocab.txt, vocab.json or merges.txt
        raise ModelNotFoundError(_damaged(resolved, *_damaged_tokenizer_file(resolved, error))) from error
    except ValueError as error:  # tokenizer class unknown
        raise UnsupportedModelError(f"Model '{resolved.spec}' cannot be loaded: {_first_line(error)}") from error
    except Exception as error:
        # The tokenizers library (Rust) raises a plain Exception, with no class of its own, when tokenizer.json
        # cannot be parsed or text cannot be encoded (e.g. no [UNK] in a WordPiece vocabulary). Any subclass of
        # Exception is something else — a bug — and must not be hidden.
        if type(error) is not Exception:
            raise
        raise ModelNotFoundError(_damaged(resolved, *_damaged_tokenizer_file(resolved, error))) from error
    return tokenizer


def _read_weights(resolved: ResolvedSpec, config, common: dict):
    from safetensors import SafetensorError
    from transformers import TFAutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized" warning is turned into our own error
    try:
        return TFAutoModelForMaskedLM.from_pretrained(
            resolved.source, config=config, output_loading_info=True, **common
        )
    except OSError as error:  # h5py's errors, which transformers re-raises as "Unable to load weights from h5 file"
        if resolved.kind == "hub" and common["local_files_only"]:
            raise _NotCached from error
        weights = _weights_file(resolved, "tf_model.h5")
        detail = "not a readable HDF5 file" if weights.endswith(".h5") else _first_line(error)
        raise ModelNotFoundError(_damaged(resolved, weights, detail)) from error
    except SafetensorError as error:  # a truncated, empty or foreign model.safetensors
        weights = _weights_file(resolved, "model.safetensors")
        raise ModelNotFoundError(_damaged(resolved, weights, _first_line(error))) from error
    except ValueError as error:  # weights that do not fit the config
        raise UnsupportedModelError(f"Model '{resolved.spec}' cannot be loaded: {_first_line(error)}") from error
    finally:
        hf_logging.set_verbosity(verbosity)


def _check_files(resolved: ResolvedSpec, filenames: list[str]) -> None:
    """Refuse a local folder whose model files are visibly damaged, naming the file, before transformers reads it."""
    folder = Path(resolved.source)
    for name in filenames:
        if name in MODEL_FILES or name.endswith(".model"):
            problem = file_problem(folder / name, json_object=name in JSON_OBJECT_FILES)
            if problem:
                raise ModelNotFoundError(_damaged(resolved, name, problem))
    if "config.json" in filenames:
        config = json.loads((folder / "config.json").read_bytes().decode("utf-8-sig"))
        for key in POSITIVE_INT_SETTINGS:
            value = config.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelNotFoundError(
                    _damaged(resolved, "config.json", f"'{key}' is {value!r}, not a whole number above 0")
                )


def _damaged_tokenizer_file(resolved: ResolvedSpec, error: BaseException) -> tuple[str, str]:
    """(file, what is wrong) for a tokenizer that failed: the first tokenizer file that is not UTF-8 (or not JSON),
    else the first one transformers reads (tokenizer.json before the vocabulary files)."""
    names = [
        name
        for name in (*TOKENIZER_FILES, "merges.txt")
        if resolved.kind == "local" and name in _folder_files(resolved)
    ]
    for name in names:
        problem = file_problem(Path(resolved.source) / name, text=True, json_object=name.endswith(".json"))
        if problem:
            return name, problem
    return (names or ["tokenizer.json"])[0], _first_line(error)


def _weights_file(resolved: ResolvedSpec, default: str) -> str:
    """The weights file transformers reads from a local folder (in its order); ``default`` for the hub cache."""
    names = _folder_files(resolved) if resolved.kind == "local" else []
    return next((name for name in SAFE_WEIGHT_FILES if name in names), default)


def _damaged(resolved: ResolvedSpec, name: str, detail: str) -> str:
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


def wrap_model(
    name: str, tokenizer, model, *, max_tokens: int | None = None, jit_compile: bool | None = None
) -> MaskedLM:
    """A ``MaskedLM`` around an already-built TF masked LM (e.g. a fine-tuned copy) and its tokenizer."""
    logging.getLogger("transformers.tokenization_utils_base").setLevel(logging.ERROR)  # length warnings: ours
    max_tokens = max_tokens or max_model_tokens(tokenizer, model.config)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    forward = CompiledForward(model, pad_id=pad_id, max_length=max_tokens, jit_compile=jit_compile)
    return MaskedLM(name=name, tokenizer=tokenizer, model=model, max_tokens=max_tokens, forward=forward)


def max_model_tokens(tokenizer, config) -> int:
    """How many tokens (special ones included) the model reads at once."""
    positions = getattr(config, "max_position_embeddings", NO_POSITION_LIMIT)
    limit = positions - _POSITION_OFFSET_MODELS.get(config.model_type, 0)
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < limit:
        limit = declared
    return int(limit)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
