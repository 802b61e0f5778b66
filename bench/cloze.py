"""Everyday-English cloze check: how often is an acceptable word in the model's top 1 / top 5?

    python -m bench.cloze --model demo [--file bench/everyday_cloze.tsv] [--show]

Prints one JSON object: {"model", "sentences", "top1", "top5"}; --show lists each sentence's top 5 on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlm_core import load_model, predict


def read_cloze(path: Path) -> list[tuple[str, set[str]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sentence, answers = line.split("\t")
            rows.append((sentence, {answer.strip() for answer in answers.split(",")}))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="demo")
    parser.add_argument("--file", default=str(Path(__file__).with_name("everyday_cloze.tsv")))
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    mlm = load_model(args.model)
    rows = read_cloze(Path(args.file))
    top1 = top5 = 0
    for sentence, answers in rows:
        words = [c.token.lower() for c in predict(mlm, sentence, top_k=5).masks[0].candidates]
        top1 += words[0] in answers
        top5 += bool(answers & set(words))
        if args.show:
            mark = "✓" if answers & set(words) else "✗"
            print(f"{mark} {sentence}  →  {', '.join(words)}", file=sys.stderr)
    print(json.dumps({"model": args.model, "sentences": len(rows), "top1": top1 / len(rows), "top5": top5 / len(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
