"""Several people at once: eight sessions with different models and texts, a fine-tune running beside them."""

import gc
import resource
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

import mlm_core
from mlm_core.finetune import FinetuneJob, FinetuneSettings

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
WORDS = ["cat", "dog", "man", "girl", "boat", "house", "tree", "bird"]


def predict_in_a_session(model: str, text: str) -> tuple[list[str], list[float], list[str]]:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["page"] = "predict"
    at.query_params["model"] = model
    at.query_params["text"] = text
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    return list(table["sentence"]), list(table["probability"]), [c.value for c in at.sidebar.caption]


def test_eight_sessions_at_once_get_their_own_results_while_another_fine_tunes(bert_dir, camembert_dir):
    from pages.frame import get_model

    models = [str(bert_dir), str(camembert_dir), "demo"]
    cases = [(models[k % 3], f"the {WORDS[k]} sat on the [MASK] near the water .") for k in range(8)]
    expected = {}
    for model, text in cases:  # what each session must see: the shared model's own answer, computed alone
        result = mlm_core.predict(get_model(model), text, top_k=5)
        expected[(model, text)] = [c.probability for c in result.masks[0].candidates]
    shared = get_model(str(bert_dir))
    weights_before = [w.copy() for w in shared.model.get_weights()]

    job = FinetuneJob(shared, " ".join(f"the {w} sat on the mat near the water ." for w in WORDS * 40),
                      FinetuneSettings(epochs=20, batch_size=2, block_length=32, max_steps=10_000)).start()
    while not job.done and job.latest is None:  # training is under way before the sessions start
        time.sleep(0.05)
    steps_before = job.latest.step
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda case: predict_in_a_session(*case), cases))
    trained_meanwhile = job.latest.step - steps_before
    job.stop()
    job.wait(300)

    for (model, text), (sentences, probabilities, captions) in zip(cases, outcomes):
        prefix = text.split("[MASK]")[0].strip()
        assert all(sentence.lower().startswith(prefix) for sentence in sentences), (text, sentences)
        assert np.allclose(probabilities, expected[(model, text)], atol=1e-5)
        name = "demo" if model == "demo" else model
        assert any(f"Loaded **{name}**" in caption for caption in captions)
    assert job.error is None and trained_meanwhile > 0  # the fine-tune really ran during the sessions
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, shared.model.get_weights()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the test process: {peak_mb:.0f} MB")


def test_the_model_cache_lets_go_of_the_least_recently_used_model(model_root):
    from mlm_core.synthetic import build_bert
    from pages.frame import MAX_MODELS_IN_MEMORY, get_model

    specs = [str(build_bert(model_root / f"cache-{k}", seed=k)) for k in range(MAX_MODELS_IN_MEMORY + 1)]
    first = weakref.ref(get_model(specs[0]).model)
    for spec in specs[1:]:
        get_model(spec)
    gc.collect()
    assert first() is None  # evicted and freed: memory stays bounded by MAX_MODELS_IN_MEMORY models
