"""What a model spec string names: a preset, a Hugging Face hub id, or a local folder.

A spec is one string. Preset keys are short language codes (``en``, ``fr``...) plus ``demo``, the small English
model shipped inside this package. Anything else that is an existing folder is a local model; anything shaped
like ``name`` or ``org/name`` is a hub id.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import ModelNotFoundError

DEMO_MODEL_DIR = Path(__file__).parent / "models" / "demo-en"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    repo_id: str


PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset("en", "English — bert-base-uncased", "bert-base-uncased"),
        Preset("fr", "French — camembert-base", "camembert-base"),
        Preset("de", "German — dbmdz/bert-base-german-uncased", "dbmdz/bert-base-german-uncased"),
        Preset("zh", "Chinese — bert-base-chinese", "bert-base-chinese"),
        Preset("ja", "Japanese — cl-tohoku/bert-base-japanese", "cl-tohoku/bert-base-japanese"),
        Preset("multi", "Multilingual — bert-base-multilingual-cased", "bert-base-multilingual-cased"),
        Preset("demo", "Demo — small English model shipped with MLM Explorer (offline)", str(DEMO_MODEL_DIR)),
    )
}

# Hub ids: "name" or "owner/name", letters, digits, '-', '_', '.'; no "..", no leading/trailing separators.
_HUB_ID = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")


@dataclass(frozen=True)
class ResolvedSpec:
    """Where a spec's files come from. ``source`` is a folder path (local) or a hub repo id (hub)."""

    spec: str
    kind: Literal["local", "hub"]
    source: str

    @property
    def display_name(self) -> str:
        if self.spec in PRESETS:
            return self.spec if self.spec == "demo" else f"{self.spec} ({self.source})"
        return self.spec


def resolve_spec(spec: str, *, allowed_roots: Sequence[str | Path] | None = None) -> ResolvedSpec:
    """Turn a model spec into a local folder or a hub id, or raise ``ModelNotFoundError``.

    ``allowed_roots`` limits local folders to those inside one of them (``[]``: no local folders at all);
    ``None`` allows any folder (the CLI, notebooks). Presets, the demo model included, are always allowed.
    """
    spec = (spec or "").strip()
    if not spec:
        raise ModelNotFoundError(
            "No model given — pick a preset (e.g. 'en', 'demo'), a Hugging Face id such as "
            "'bert-base-uncased', or a local model folder."
        )
    if spec == "demo":
        if not DEMO_MODEL_DIR.is_dir():
            raise ModelNotFoundError(
                "The demo model is not in this installation (mlm_core/models/demo-en is missing) — "
                "rebuild it with 'python -m scripts.build_demo' or pick another model."
            )
        return ResolvedSpec(spec, "local", str(DEMO_MODEL_DIR))
    if spec in PRESETS:
        return ResolvedSpec(spec, "hub", PRESETS[spec].repo_id)
    if "://" in spec:
        raise ModelNotFoundError(
            f"Model '{spec}' is a web address — give a Hugging Face id such as 'bert-base-uncased' or "
            "'owner/name' (the part after huggingface.co/), or a local model folder."
        )
    path = Path(spec).expanduser()
    if allowed_roots is not None and (_looks_like_path(spec) or path.exists()):
        _check_inside_roots(spec, path, allowed_roots)
    if path.is_dir():
        return ResolvedSpec(spec, "local", str(path.resolve()))
    if _looks_like_path(spec) or not _HUB_ID.match(spec):
        raise ModelNotFoundError(
            f"Model '{spec}' is neither a folder on this machine nor a Hugging Face id — give an existing "
            "folder that holds config.json, or an id like 'bert-base-uncased' or 'owner/name'."
        )
    return ResolvedSpec(spec, "hub", spec)


def _check_inside_roots(spec: str, path: Path, roots: Sequence[str | Path]) -> None:
    """Same message whether or not the folder exists: a refused path must not reveal what is on the server."""
    if not roots:
        raise ModelNotFoundError(
            f"Model '{spec}' looks like a folder, and local model folders are turned off on this server — use a "
            "preset or a Hugging Face id (the operator can allow folders with MLM_EXPLORER_MODEL_ROOTS)."
        )
    resolved = path.resolve()
    if not any(resolved.is_relative_to(Path(root).expanduser().resolve()) for root in roots):
        raise ModelNotFoundError(
            f"Model '{spec}' is outside the folders this server loads models from — put it under "
            f"{' or '.join(str(root) for root in roots)}, or use a preset or a Hugging Face id."
        )


def model_roots_from_environment(*, headless: bool) -> list[Path] | None:
    """The folders a dashboard may load local models from: ``MLM_EXPLORER_MODEL_ROOTS`` (paths separated by
    ``os.pathsep``) when set; otherwise any folder on a desktop run, and none on a headless server, where the
    person typing a path is not the machine's owner."""
    configured = os.environ.get("MLM_EXPLORER_MODEL_ROOTS")
    if configured is not None:
        return [Path(part) for part in configured.split(os.pathsep) if part.strip()]
    return [] if headless else None


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` asks Hugging Face libraries never to reach the hub (their own spellings)."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def is_cached(repo_id: str) -> bool:
    """True when the hub model's config and weights are already in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)

    return cached("config.json") and (cached("tf_model.h5") or cached("model.safetensors"))


def default_model_spec() -> str | None:
    """The model to start with: ``MLM_EXPLORER_DEFAULT_MODEL`` if set (e.g. on a hosted deploy), else ``en`` when
    bert-base-uncased is cached, else ``demo`` when shipped, else None (no model available offline)."""
    configured = os.environ.get("MLM_EXPLORER_DEFAULT_MODEL", "").strip()
    if configured:
        return configured
    if is_cached(PRESETS["en"].repo_id):
        return "en"
    if DEMO_MODEL_DIR.is_dir():
        return "demo"
    return None
