"""Where the server's GIL time goes, from a py-spy raw profile (issue 28's note).

    py-spy record --gil -r 50 -p SERVER_PID -d 60 -f raw -o profile.txt   # while python -m bench.classroom runs
    python -m bench.gil_breakdown profile.txt [--json]

``--gil`` samples only the thread holding the GIL, so the shares below are shares of GIL-held time: what
serialises the users' pages. Each sample goes to the first category its stack matches (the order below).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

CATEGORIES = (  # (name, substrings of a frame that put a sample there), first match wins
    ("Streamlit's post-script gc.collect", ("script_runner.py:1055", "gc_collect", "gc.collect")),
    ("model lock / turns", ("mlm_core/turns.py",)),
    ("model forward (TF)", ("tensorflow/", "mlm_core/forward.py")),
    ("attention diagrams + zip", ("mlm_core/tasks/diagrams.py", "zip_all_diagrams", "mlm_core/files.py")),
    ("Altair specs", ("altair/",)),
    ("dataframes (pandas/arrow)", ("pandas/", "pyarrow/", "dataframe_util")),
    ("tokenisation", ("tokenization_utils", "tokenizers/")),
    ("SHAP / explain", ("shap/", "mlm_core/tasks/explain.py", "mlm_core/tasks/attribution.py")),
    (
        "HTTP + websocket (static files, messages)",
        ("starlette/", "uvicorn/", "h11/", "anyio/", "websockets/", "asyncio/"),
    ),
    ("other Streamlit", ("streamlit/",)),
    ("our pages and core", ("pages/", "mlm_core/")),
)


def breakdown(path: str) -> dict:
    counts: Counter = Counter()
    total = 0
    for line in open(path):
        stack, _, number = line.rstrip().rpartition(" ")
        if not number.isdigit():
            continue
        total += int(number)
        name = next((name for name, marks in CATEGORIES if any(mark in stack for mark in marks)), "other")
        counts[name] += int(number)
    return {"samples": total, "shares": {name: round(count / total, 3) for name, count in counts.most_common()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = breakdown(args.profile)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['samples']} GIL samples")
    for name, share in result["shares"].items():
        print(f"  {share:6.1%}  {name}")


if __name__ == "__main__":
    main()
