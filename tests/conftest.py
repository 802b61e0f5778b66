"""Session-wide fixtures: tiny models built locally, never the network.

The environment is set before anything imports huggingface_hub (it reads these variables at import time).
"""

import os
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="mlm-explorer-hf-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = _HF_HOME  # an empty cache: "en" is never found by accident
os.environ.pop("MLM_EXPLORER_DEFAULT_MODEL", None)
# Pages and servers under test compile before answering, so what they show equals the core's compiled results
# (the background mode has its own test in test_analysis.py).
os.environ["MLM_EXPLORER_BACKGROUND_COMPILE"] = "0"

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

import mlm_core  # noqa: E402
from mlm_core.testing.synthetic import build_bert, build_camembert_style  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def navigation_v2():
    """Run every AppTest rerun through the entry script, as the real server does.

    The server detects the pages/ folder once, and the router's st.navigation call turns that legacy mode off
    for good. AppTest re-detects it before every run, so a rerun would execute the page file alone, without the
    shared sidebar.
    """
    original_init = PagesManager.__init__

    def init_without_legacy_pages(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PagesManager, "__init__", init_without_legacy_pages)
        yield


@pytest.fixture(scope="session")
def model_root(tmp_path_factory) -> Path:
    """Where the test models live: the one folder the dashboard is allowed to load local models from."""
    root = tmp_path_factory.mktemp("models")
    os.environ["MLM_EXPLORER_MODEL_ROOTS"] = str(root)
    return root


@pytest.fixture(scope="session")
def bert_dir(model_root) -> Path:
    return build_bert(model_root / "tiny-bert")


@pytest.fixture(scope="session")
def camembert_dir(model_root) -> Path:
    return build_camembert_style(model_root / "tiny-camembert")


@pytest.fixture(scope="session")
def headless_dir(model_root) -> Path:
    """A BERT encoder saved without its masked-LM head."""
    return build_bert(model_root / "tiny-bert-no-head", mlm_head=False)


@pytest.fixture(scope="session")
def pickle_only_dir(model_root, bert_dir) -> Path:
    folder = model_root / "pickle-only"
    folder.mkdir()
    (folder / "config.json").write_text((bert_dir / "config.json").read_text())
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle, and never opened")
    return folder


@pytest.fixture(scope="session")
def no_tokenizer_dir(model_root, bert_dir) -> Path:
    """A trainer's checkpoint folder: config and weights, no tokenizer files."""
    folder = model_root / "weights-only"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / name).write_bytes((bert_dir / name).read_bytes())
    return folder


@pytest.fixture(scope="session")
def gpt2_dir(model_root) -> Path:
    folder = model_root / "gpt2-like"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 10, "n_layer": 1}))
    (folder / "model.safetensors").write_bytes(b"")
    return folder


@pytest.fixture(scope="session")
def bert(bert_dir) -> mlm_core.MaskedLM:
    return mlm_core.load_model(str(bert_dir))


@pytest.fixture(scope="session")
def camembert(camembert_dir) -> mlm_core.MaskedLM:
    return mlm_core.load_model(str(camembert_dir))


@pytest.fixture(scope="session")
def demo() -> mlm_core.MaskedLM:
    """The shipped demo model (real weights), shared by every test that needs real behaviour."""
    return mlm_core.load_model("demo")


def pytest_configure(config):
    # shap's colour module calls matplotlib APIs that matplotlib plans to deprecate; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::PendingDeprecationWarning:shap.plots.colors._colors")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test (e.g. to take a screenshot)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
