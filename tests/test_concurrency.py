"""Memory stays bounded when many models are asked for. (Eight sessions at once, with a fine-tune beside them,
are driven through real browser tabs in tests/test_browser.py: AppTest instances are not safe to run in threads.)"""

import gc
import weakref

import pytest


@pytest.mark.slow
def test_the_model_cache_lets_go_of_the_least_recently_used_model(model_root):
    from mlm_core.testing.synthetic import build_bert
    from pages.frame.models import MAX_MODELS_IN_MEMORY, get_model

    specs = [str(build_bert(model_root / f"cache-{k}", seed=k)) for k in range(MAX_MODELS_IN_MEMORY + 1)]
    first = weakref.ref(get_model(specs[0]).model)
    for spec in specs[1:]:
        get_model(spec)
    gc.collect()
    assert first() is None  # evicted and freed: memory stays bounded by MAX_MODELS_IN_MEMORY models


@pytest.mark.slow
def test_a_loaded_model_is_frozen_out_of_the_collector_and_frozen_again_after_an_eviction(model_root):
    """Streamlit's collection after each run skips frozen objects (issue 28); an evicted model is unfrozen so that
    it is freed, and the rest is frozen again a moment later. Reference: gc.get_freeze_count(), weakref."""
    import time

    from mlm_core.testing.synthetic import build_bert
    from pages.frame.models import MAX_MODELS_IN_MEMORY, get_model

    def frozen_soon() -> bool:  # a load freezes at once; after an eviction, 2 s later
        deadline = time.monotonic() + 30
        while gc.get_freeze_count() < 100_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        return gc.get_freeze_count() >= 100_000  # TensorFlow, the models and the modules

    first = weakref.ref(get_model(str(build_bert(model_root / "frozen-0", seed=10))).model)
    assert frozen_soon()
    for k in range(1, MAX_MODELS_IN_MEMORY + 1):  # the last load evicts the first model
        get_model(str(build_bert(model_root / f"frozen-{k}", seed=10 + k)))
    gc.collect()
    assert first() is None and frozen_soon()
