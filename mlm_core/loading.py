"""Load a masked LM from a spec: local folder or Hugging Face cache first, the hub only after that.

Safety rules, enforced here and nowhere else:
- never ``trust_remote_code``;
- weights only from safetensors or h5 — pickle files (``pytorch_model.bin``, ``*.pt``, ``*.ckpt``) are refused
  (transformers' TF loader only reads pickles with ``from_pt=True``, which we never pass);
- a model whose checkpoint lacks the masked-LM head is refused rather than run with a random head.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from .catalog import ResolvedSpec, hub_offline, resolve_spec
from .errors import ModelNotFoundError, UnsupportedModelError
from .forward import CompiledForward
from .model import MaskedLM

SAFE_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "tf_model.h5", "tf_model.h5.index.json")
PICKLE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json")
HUB_PROBE_TIMEOUT_S = 6.0
# Roberta-family position ids start after the padding index, so two positions are unusable.
_POSITION_OFFSET_MODELS = {"roberta": 2, "camembert": 2, "xlm-roberta": 2, "longformer": 2}


def load_model(spec: str, *, jit_compile: bool | None = None, allow_new_head: bool = False,
               allowed_roots: Sequence[str | Path] | None = None) -> MaskedLM:
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


def _load(resolved: ResolvedSpec, *, local_files_only: bool, jit_compile: bool | None,
          allow_new_head: bool) -> MaskedLM:
    from transformers import AutoConfig, AutoTokenizer, TFAutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    common = {"local_files_only": local_files_only, "trust_remote_code": False}
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
    if resolved.kind == "local":
        _check_tokenizer_files(resolved, _folder_files(resolved))
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved.source, **common)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the "newly initialized" warning is turned into our own error below
        try:
            model, info = TFAutoModelForMaskedLM.from_pretrained(
                resolved.source, config=config, output_loading_info=True, **common
            )
        finally:
            hf_logging.set_verbosity(verbosity)
    except OSError as error:
        if resolved.kind == "hub" and local_files_only:
            raise _NotCached from error
        raise ModelNotFoundError(f"Model '{resolved.spec}' could not be read: {_first_line(error)}") from error
    except ImportError as error:  # e.g. the Japanese tokenizer's MeCab packages
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' needs a Python package that is missing: {_first_line(error)}"
        ) from error
    except ValueError as error:  # tokenizer class unknown, or weights that do not fit the config
        raise UnsupportedModelError(f"Model '{resolved.spec}' cannot be loaded: {_first_line(error)}") from error
    if info["missing_keys"] and not allow_new_head:
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' has no trained masked-LM head (missing: {info['missing_keys'][0]} and "
            f"{len(info['missing_keys']) - 1} more) — its predictions would be random; pick a model trained "
            "for masked language modelling (fill-mask)."
        )
    if tokenizer.mask_token is None:
        raise UnsupportedModelError(f"Model '{resolved.spec}' has no mask token, so it cannot fill in blanks.")
    return wrap_model(resolved.display_name, tokenizer, model, jit_compile=jit_compile)


def wrap_model(name: str, tokenizer, model, *, max_tokens: int | None = None,
               jit_compile: bool | None = None) -> MaskedLM:
    """A ``MaskedLM`` around an already-built TF masked LM (e.g. a fine-tuned copy) and its tokenizer."""
    logging.getLogger("transformers.tokenization_utils_base").setLevel(logging.ERROR)  # length warnings: ours
    max_tokens = max_tokens or max_model_tokens(tokenizer, model.config)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    forward = CompiledForward(model, pad_id=pad_id, max_length=max_tokens, jit_compile=jit_compile)
    return MaskedLM(name=name, tokenizer=tokenizer, model=model, max_tokens=max_tokens, forward=forward)


def max_model_tokens(tokenizer, config) -> int:
    """How many tokens (special ones included) the model reads at once."""
    limit = config.max_position_embeddings - _POSITION_OFFSET_MODELS.get(config.model_type, 0)
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < limit:
        limit = declared
    return int(limit)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
