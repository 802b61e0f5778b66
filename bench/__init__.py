"""Benchmarks of MLM Explorer, run from the repository root; the app never imports them.

- ``python -m bench [--only PREFIX] [--repeats N] [--json]``: every row (``runner.py``), each timed against the
  naive way in the same process (``rows.py`` and one module per view; the eager baselines are the tests' own
  references, ``tests/references.py``).
- ``python -m bench.classroom``: a class of simulated users on one server (with ``classroom_server.py``);
  ``python -m bench.gil_breakdown``: where that server's GIL time goes; ``python -m bench.cold_start``: a visitor's
  first page after a server starts; ``python -m bench.cloze``: the demo model's everyday-English cloze check.
"""
