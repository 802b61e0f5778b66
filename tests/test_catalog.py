import os

import pytest

from mlm_core import PRESETS, ModelNotFoundError, default_model_spec, resolve_spec
from mlm_core.catalog import DEMO_MODEL_DIR, model_roots_from_environment


def test_presets_cover_the_languages_with_their_hub_ids():
    assert {key: PRESETS[key].repo_id for key in ("en", "fr", "de", "zh", "ja", "multi")} == {
        "en": "bert-base-uncased",
        "fr": "camembert-base",
        "de": "dbmdz/bert-base-german-uncased",
        "zh": "bert-base-chinese",
        "ja": "cl-tohoku/bert-base-japanese",
        "multi": "bert-base-multilingual-cased",
    }


def test_preset_resolves_to_its_hub_repo():
    resolved = resolve_spec("fr")
    assert (resolved.kind, resolved.source) == ("hub", "camembert-base")
    assert resolved.display_name == "fr (camembert-base)"


def test_hub_id_and_folder(bert_dir):
    assert resolve_spec("owner/some-model_v1.2").kind == "hub"
    local = resolve_spec(str(bert_dir))
    assert (local.kind, local.source) == ("local", str(bert_dir.resolve()))


@pytest.mark.parametrize("spec", ["", "   ", "/no/such/folder", "./missing", "a/b/c", "bad id!", "x/../y"])
def test_specs_that_name_nothing_are_rejected_with_advice(spec):
    with pytest.raises(ModelNotFoundError, match="folder|Hugging Face id|No model given"):
        resolve_spec(spec)


def test_default_model_is_configurable_and_otherwise_offline_only(monkeypatch):
    monkeypatch.setenv("MLM_EXPLORER_DEFAULT_MODEL", "my/model")
    assert default_model_spec() == "my/model"
    monkeypatch.delenv("MLM_EXPLORER_DEFAULT_MODEL")
    # The test cache is empty, so "en" is not cached: demo if shipped, else nothing.
    assert default_model_spec() == ("demo" if DEMO_MODEL_DIR.is_dir() else None)


def test_local_folders_only_inside_the_allowed_roots(tmp_path):
    inside = tmp_path / "models" / "mine"
    inside.mkdir(parents=True)
    outside = tmp_path / "private"
    outside.mkdir()
    (tmp_path / "models" / "escape").symlink_to(outside)
    roots = [tmp_path / "models"]
    assert resolve_spec(str(inside), allowed_roots=roots).source == str(inside.resolve())
    for spec in (
        str(outside),
        str(tmp_path / "models" / "escape"),
        str(tmp_path / "models" / ".." / "private"),
        "/etc",
        "/no/such/folder",
    ):
        with pytest.raises(ModelNotFoundError, match="outside the folders this server loads models from"):
            resolve_spec(spec, allowed_roots=roots)
    with pytest.raises(ModelNotFoundError, match="local model folders are turned off"):
        resolve_spec(str(inside), allowed_roots=[])
    assert resolve_spec("demo", allowed_roots=[]).kind == "local"  # presets are always allowed
    assert resolve_spec("owner/name", allowed_roots=[]).kind == "hub"


def test_model_roots_come_from_the_environment_or_the_kind_of_run(monkeypatch, tmp_path):
    monkeypatch.delenv("MLM_EXPLORER_MODEL_ROOTS", raising=False)
    assert model_roots_from_environment(headless=False) is None  # a desktop run: any folder
    assert model_roots_from_environment(headless=True) == []  # a server: none
    monkeypatch.setenv("MLM_EXPLORER_MODEL_ROOTS", f"{tmp_path}/a{os.pathsep}{tmp_path}/b")
    assert model_roots_from_environment(headless=True) == [tmp_path / "a", tmp_path / "b"]


def test_a_web_address_is_not_a_model_id():
    with pytest.raises(ModelNotFoundError, match="is a web address"):
        resolve_spec("https://huggingface.co/bert-base-uncased")
