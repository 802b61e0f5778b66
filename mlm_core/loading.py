"""Load a masked LM from a spec: local folder or Hugging Face cache first, the hub only after that.

Safety rules, enforced here and in ``model_files`` and nowhere else:
- never ``trust_remote_code``;
- weights only from safetensors or h5 — pickle files (``pytorch_model.bin``, ``*.pt``, ``*.ckpt``) are refused
  (transformers' TF loader only reads pickles with ``from_pt=True``, which we never pass);
- a model whose checkpoint lacks the masked-LM head is refused rather than run with a random head.

A damaged model (a truncated download, a Git LFS pointer instead of the weights, an empty or non-JSON file, a
tokenizer that cannot encode) is refused with ``ModelNotFoundError`` naming the file: a local folder's files are
checked before reading (``model_files``), and what transformers, safetensors and tokenizers raise while reading is
caught by type here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from .catalog import ResolvedSpec, hub_offline, resolve_spec
from .errors import ModelNotFoundError, UnsupportedModelError
from .forward import CompiledForward
from .model import MaskedLM
from .model_files import (
    check_files,
    check_tokenizer_files,
    check_weight_files,
    damaged,
    damaged_tokenizer_file,
    first_line,
    folder_files,
    weights_file,
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
        check_weight_files(resolved, folder_files(resolved))
        return _load(resolved, local_files_only=True, jit_compile=jit_compile, allow_new_head=allow_new_head)
    try:
        return _load(resolved, local_files_only=True, jit_compile=jit_compile, allow_new_head=allow_new_head)
    except _NotCached:
        pass
    _probe_hub(resolved)
    return _load(resolved, local_files_only=False, jit_compile=jit_compile, allow_new_head=allow_new_head)


class _NotCached(Exception):
    pass


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
    check_weight_files(resolved, ["config.json"] + [sibling.rfilename for sibling in info.siblings or []])


def _load(
    resolved: ResolvedSpec, *, local_files_only: bool, jit_compile: bool | None, allow_new_head: bool
) -> MaskedLM:
    from transformers import AutoConfig, TFAutoModelForMaskedLM

    common = {"local_files_only": local_files_only, "trust_remote_code": False}
    if resolved.kind == "local":
        check_files(resolved, ["config.json"])
    try:
        config = AutoConfig.from_pretrained(resolved.source, **common)
    except OSError as error:
        if resolved.kind == "hub" and local_files_only:
            raise _NotCached from error
        raise ModelNotFoundError(f"Model '{resolved.spec}' could not be read: {first_line(error)}") from error
    except ValueError as error:  # unknown model_type, or remote code required
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' needs code that transformers does not ship ({first_line(error)}) — "
            "MLM Explorer never runs a model's own code; pick a BERT-like masked LM."
        ) from error
    if type(config) not in TFAutoModelForMaskedLM._model_mapping:
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' is a '{config.model_type}' model, which has no TensorFlow masked-LM class — "
            "pick a masked language model such as BERT, CamemBERT, RoBERTa, DistilBERT or ALBERT."
        )
    if resolved.kind == "local":  # after the architecture, which is the better reason to refuse a model
        check_tokenizer_files(resolved, folder_files(resolved))
        check_files(resolved, [name for name in folder_files(resolved) if name != "config.json"])
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
        raise ModelNotFoundError(f"Model '{resolved.spec}' could not be read: {first_line(error)}") from error
    except ImportError as error:  # e.g. the Japanese tokenizer's MeCab packages
        raise UnsupportedModelError(
            f"Model '{resolved.spec}' needs a Python package that is missing: {first_line(error)}"
        ) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:  # vocab.txt, vocab.json or merges.txt
        raise ModelNotFoundError(damaged(resolved, *damaged_tokenizer_file(resolved, error))) from error
    except ValueError as error:  # tokenizer class unknown
        raise UnsupportedModelError(f"Model '{resolved.spec}' cannot be loaded: {first_line(error)}") from error
    except Exception as error:
        # The tokenizers library (Rust) raises a plain Exception, with no class of its own, when tokenizer.json
        # cannot be parsed or text cannot be encoded (e.g. no [UNK] in a WordPiece vocabulary). Any subclass of
        # Exception is something else — a bug — and must not be hidden.
        if type(error) is not Exception:
            raise
        raise ModelNotFoundError(damaged(resolved, *damaged_tokenizer_file(resolved, error))) from error
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
        weights = weights_file(resolved, "tf_model.h5")
        detail = "not a readable HDF5 file" if weights.endswith(".h5") else first_line(error)
        raise ModelNotFoundError(damaged(resolved, weights, detail)) from error
    except SafetensorError as error:  # a truncated, empty or foreign model.safetensors
        weights = weights_file(resolved, "model.safetensors")
        raise ModelNotFoundError(damaged(resolved, weights, first_line(error))) from error
    except ValueError as error:  # weights that do not fit the config
        raise UnsupportedModelError(f"Model '{resolved.spec}' cannot be loaded: {first_line(error)}") from error
    finally:
        hf_logging.set_verbosity(verbosity)


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
