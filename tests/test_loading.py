import json
import time

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
    (folder / "config.json").write_text(json.dumps({
        "model_type": "evil-bert", "auto_map": {"AutoConfig": "evil.EvilConfig",
                                                 "TFAutoModelForMaskedLM": "evil.EvilModel"}}))
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(UnsupportedModelError, match="never runs a model's own code"):
        load_model(str(folder))
    assert not marker.exists()
