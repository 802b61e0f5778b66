"""Helpers for tests and benchmarks, as ``transformers.testing_utils``: small models with random weights built
locally (``synthetic``, ``families``) and the real dashboard on a loopback port (``serve``).

The app never imports these (tests/test_layout.py checks it).
"""
