import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from mlm_core import ModelNotFoundError, UnsupportedModelError, load_model


def test_local_folder_loads_with_its_limits(bert, bert_dir):
    assert bert.name == str(bert_dir)
    assert bert.mask_token == "[MASK]"
    assert (bert.num_layers, bert.num_heads, bert.max_tokens) == (2, 2, 128)


def test_camembert_style_limit_accounts_for_position_offset(camembert):
    assert camembert.mask_token == "<mask>"
    assert camembert.max_tokens == 128  # 130 positions, two reserved by the padding offset


def test_model_without_mlm_head_is_refused(headless_dir):
    with pytest.raises(UnsupportedModelError, match="no trained masked-LM head"):
        load_model(str(headless_dir))


def test_pickle_only_weights_are_refused_before_reading(pickle_only_dir):
    with pytest.raises(UnsupportedModelError, match=r"only has pickle weights \(pytorch_model.bin\).*safetensors"):
        load_model(str(pickle_only_dir))


def test_non_masked_lm_architecture_is_refused(gpt2_dir):
    with pytest.raises(UnsupportedModelError, match="'gpt2' model, which has no TensorFlow masked-LM class"):
        load_model(str(gpt2_dir))


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="has no config.json"):
        load_model(str(tmp_path))


def test_uncached_hub_model_fails_fast_offline():
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match="'no-such/model' is not in the local Hugging Face cache"):
        load_model("no-such/model")
    assert time.perf_counter() - start < 10


def test_a_model_that_ships_its_own_code_is_refused_and_the_code_never_runs(tmp_path):
    marker = tmp_path / "code-ran"
    folder = tmp_path / "remote-code"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "evil-bert",
                "auto_map": {"AutoConfig": "evil.EvilConfig", "TFAutoModelForMaskedLM": "evil.EvilModel"},
            }
        )
    )
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(UnsupportedModelError, match="never runs a model's own code"):
        load_model(str(folder))
    assert not marker.exists()


def _copy_with(bert_dir, folder, name, data):
    shutil.copytree(bert_dir, folder)
    (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("model.safetensors", b"\x00" * 64, "its weights file model.safetensors is damaged or incomplete (Error while"),
        ("config.json", b"", "its configuration file config.json is damaged or incomplete (it is empty: 0 bytes)"),
        (
            "tokenizer.json",
            b'{"version": ',
            "its tokenizer file tokenizer.json is damaged or incomplete (not valid JSON",
        ),
    ],
)
def test_damaged_files_of_a_folder_are_model_not_found_naming_the_file_and_the_fix(
    bert_dir, tmp_path, name, data, message
):
    folder = _copy_with(bert_dir, tmp_path / "damaged", name, data)
    with pytest.raises(ModelNotFoundError, match=re.escape(message)) as caught:
        load_model(str(folder))
    assert str(caught.value).startswith(f"Model '{folder}' could not be read: ")
    assert str(caught.value).endswith("— save the model again with save_pretrained(), or download it again.")


def test_damaged_weights_in_the_hugging_face_cache_say_to_download_them_again(bert_dir):
    """A cached hub model (here laid out by hand, offline) with truncated weights: the fix is the cache's."""
    hub_cache = Path(os.environ["HF_HOME"]) / "hub" / "models--mlm-explorer-tests--damaged"
    snapshot = hub_cache / "snapshots" / ("0" * 40)
    shutil.copytree(bert_dir, snapshot)
    (hub_cache / "refs").mkdir()
    (hub_cache / "refs" / "main").write_text("0" * 40)
    weights = (snapshot / "model.safetensors").read_bytes()
    (snapshot / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(
        ModelNotFoundError,
        match=r"weights file model.safetensors is damaged or incomplete \(.*\) — "
        r"delete it from the Hugging Face cache",
    ):
        load_model("mlm-explorer-tests/damaged")


def test_a_bug_while_reading_the_tokenizer_is_not_passed_off_as_a_damaged_file(bert_dir, monkeypatch):
    """Only the tokenizers library's plain Exception means 'damaged'; any subclass (a bug) propagates unchanged."""
    from transformers import AutoTokenizer

    def buggy(*args, **kwargs):
        raise TypeError("a bug, not a damaged file")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", buggy)
    with pytest.raises(TypeError, match="a bug"):
        load_model(str(bert_dir))
