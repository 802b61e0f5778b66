"""Maintainers' scripts, run from the repository root (``python -m scripts.NAME``); the app never imports them."""
