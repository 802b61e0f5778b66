"""Memory stays bounded when many models are asked for. (Eight sessions at once, with a fine-tune beside them,
are driven through real browser tabs in tests/test_browser.py: AppTest instances are not safe to run in threads.)"""

import gc
import weakref


def test_the_model_cache_lets_go_of_the_least_recently_used_model(model_root):
    from mlm_core.tools.synthetic import build_bert
    from pages.frame.models import MAX_MODELS_IN_MEMORY, get_model

    specs = [str(build_bert(model_root / f"cache-{k}", seed=k)) for k in range(MAX_MODELS_IN_MEMORY + 1)]
    first = weakref.ref(get_model(specs[0]).model)
    for spec in specs[1:]:
        get_model(spec)
    gc.collect()
    assert first() is None  # evicted and freed: memory stays bounded by MAX_MODELS_IN_MEMORY models
