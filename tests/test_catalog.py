import pytest

from mlm_core import ModelNotFoundError, PRESETS, default_model_spec, resolve_spec
from mlm_core.catalog import DEMO_MODEL_DIR


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
