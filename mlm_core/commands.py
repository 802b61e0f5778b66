"""What each ``python -m mlm_core`` command does: load the model, call the core, print text or JSON.

The parser and the error handling live in ``cli.py``; every function here takes the parsed arguments and returns
the exit code. User errors are raised as ``MlmExplorerError`` and turned into exit code 2 by ``cli.main``.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import ModelNotFoundError


def load(spec: str | None):
    from .catalog import default_model_spec
    from .loading import load_model

    spec = spec or default_model_spec()
    if spec is None:
        raise ModelNotFoundError(
            "No model is available offline — pass --model with a local model folder, or a Hugging Face id "
            "(needs internet once)."
        )
    return load_model(spec)


def run_predict(args: argparse.Namespace) -> int:
    from .tasks.predict import predict
    from .tasks.variants import has_braces, expand_variants
    from .tasks.words import parse_words

    if args.words is not None or has_braces(args.text):
        words = parse_words(args.words.split(",")) if args.words is not None else ()
        expand_variants(args.text)  # bad braces are reported before the model loads
        return _print_words(load(args.model), args, words)
    mlm = load(args.model)
    result = predict(mlm, args.text, top_k=args.top_k, joint_k=args.joint_k)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    for mask in result.masks:
        if len(result.masks) > 1:
            print(f"Mask {mask.index + 1}:")
        for candidate in mask.candidates:
            print(candidate.sentence)
    if result.joint:
        print("Best joint fillings:")
        for filling in result.joint:
            print(f"{filling.probability:.2e}  {filling.sentence}")
    if result.joint_skipped_reason:
        print(result.joint_skipped_reason)
    return 0


def _print_words(mlm, args: argparse.Namespace, words: tuple[str, ...]) -> int:
    from .tasks.words import predict_words

    result = predict_words(mlm, args.text, words, top_k=args.top_k, joint_k=args.joint_k)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    for variant in result.variants:
        if result.has_variants:
            print(f"== {variant.prediction.text}")
        for mask, scores in zip(variant.prediction.masks, variant.words):
            if len(variant.prediction.masks) > 1:
                print(f"Mask {mask.index + 1}:")
            for candidate in mask.candidates:
                print(f"{candidate.probability:9.4f}  {candidate.sentence}")
            for score in scores:
                rank = f"rank {score.rank}" if score.rank else f"{len(score.pieces)} pieces: {' '.join(score.pieces)}"
                print(f"{score.probability:9.2e}  {score.word}  (log-prob {score.log_prob:.3f}, {rank})")
    return 0


def run_attention(args: argparse.Namespace) -> int:
    from .files import check_output_folder
    from .tasks.attention import DIAGRAMS, attention, summarise_heads, write_all_diagrams

    check_output_folder(args.out, what=DIAGRAMS)  # before the model loads, not after
    result = attention(load(args.model), args.text)
    written = write_all_diagrams(result, args.out)
    if args.json:
        heads = [{"layer": s.layer, "head": s.head, "label": s.label, "entropy": s.entropy}
                 for s in summarise_heads(result)]
        print(json.dumps({"tokens": list(result.tokens), "files": len(written), "heads": heads}, ensure_ascii=False))
    else:
        print(f"Wrote {len(written)} attention diagrams to {args.out}")
    return 0


def run_embed(args: argparse.Namespace) -> int:
    from .tasks.embeddings import projected_points

    mlm = load(args.model)
    layer = mlm.num_layers if args.layer is None else args.layer
    points, projection = projected_points(mlm, args.sentences, layer=layer, method=args.method)
    columns = ["sentence", "position", "token", "x", "y"]
    if args.json:
        print(json.dumps({"layer": layer, "method": args.method,
                          "points": points[columns].to_dict(orient="records")}, ensure_ascii=False))
    else:
        print(points[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if projection.explained_variance:
            print("explained variance: " + ", ".join(f"{v:.1%}" for v in projection.explained_variance))
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from .tasks.explain import explain
    from .tasks.faithfulness import faithfulness
    from .tasks.gradients import integrated_gradients

    mlm = load(args.model)
    common = {"mask_index": args.mask - 1, "targets": args.target, "contrast": args.contrast}
    result = (explain(mlm, args.text, **common) if args.method == "shap" else
              integrated_gradients(mlm, args.text, method=args.method, steps=args.steps, **common))
    curves = faithfulness(mlm, [result])[0] if args.faithfulness else [None] * len(result.targets)
    if args.json:
        data = result.to_dict()
        for entry, curve in zip(data["targets"], curves):
            if curve is not None:
                entry["faithfulness"] = curve.to_dict()
        print(json.dumps(data, ensure_ascii=False))
        return 0
    for target, curve in zip(result.targets, curves):
        gap = "" if target.completeness_gap is None else f", completeness gap = {target.completeness_gap:.2g}"
        print(f"{target.token}: f(x) = {target.output:.4f}, base value = {target.base_value:.4f} "
              f"({result.method}{gap})")
        for word, value in sorted(zip(result.words, target.values), key=lambda pair: -abs(pair[1])):
            print(f"  {value:+.4f}  {word}")
        if curve is not None:
            random = curve.to_dict()
            print(f"  comprehensiveness {curve.comprehensiveness:.4f} (random {random['random_comprehensiveness']:.4f}),"
                  f" sufficiency {curve.sufficiency:.4f} (random {random['random_sufficiency']:.4f})")
            print(f"  {curve.reading()}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from .tasks.score import score

    result = score(load(args.model), args.sentences, method=args.method)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    for sentence in result.sentences:
        print(f"{sentence.pll:9.3f}  pseudo-perplexity {sentence.pseudo_perplexity:9.2f}  {sentence.text}")
    return 0


def _read_pairs_argument(name: str):
    from pathlib import Path

    from .errors import InputError
    from .files import read_input_file
    from .tasks.pair_files import SUITES_DIR, load_suite, read_pairs

    if name == "-":
        return read_pairs(sys.stdin.buffer.read(), name="Standard input")
    path = Path(name)
    if path.is_file():
        data = read_input_file(path, fix="give a CSV, TSV or JSONL file of pairs that you can read")
        return read_pairs(data, name=f"'{path}'")
    if path.suffix or "/" in name or not (SUITES_DIR / f"{name}.tsv").is_file():
        raise InputError(f"No file '{name}' — give a CSV, TSV or JSONL file of pairs, '-' for standard input, "
                         "or a shipped suite's name (see mlm_core/suites).")
    return load_suite(name)[1]


def run_pairs(args: argparse.Namespace) -> int:
    from .tasks.pairs import compare_pairs

    pairs = _read_pairs_argument(args.file)
    models = [load(args.model)] + ([load(args.compare)] if args.compare else [])

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,} of {total:,} pairs", end="" if done < total else "\n", file=sys.stderr, flush=True)

    results = [compare_pairs(mlm, pairs, method=args.method, on_progress=progress) for mlm in models]
    if args.json:
        summary = results[0].to_dict()
        if len(results) > 1:
            summary["compare"] = results[1].to_dict()
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    for result in results:
        print(f"{result.model_name}: accuracy {result.accuracy:.1%} on {len(result.pairs)} pairs "
              f"({result.ties} ties, counted as failures)")
        for row in result.categories_frame().itertuples():
            print(f"  {row.category or '(no category)'}: {row.accuracy:.1%} of {row.pairs}")
    return 0


def _read_bias_argument(name: str):
    from pathlib import Path

    from .errors import InputError
    from .files import read_input_file
    from .tasks.bias_files import BIAS_SUITES_DIR, load_bias_suite, read_bias_pairs

    if name == "-":
        return read_bias_pairs(sys.stdin.buffer.read(), name="Standard input")
    path = Path(name)
    if path.is_file():
        data = read_input_file(path, fix="give a CSV or TSV file of bias pairs that you can read")
        return read_bias_pairs(data, name=f"'{path}'")
    if path.suffix or "/" in name or not (BIAS_SUITES_DIR / f"{name}.csv").is_file():
        raise InputError(f"No file '{name}' — give a CSV or TSV file with the columns sent_more,sent_less,"
                         "stereo_antistereo,bias_type, '-' for standard input, or a shipped bias suite's name "
                         "(see mlm_core/suites/bias).")
    return load_bias_suite(name)[1]


def run_bias(args: argparse.Namespace) -> int:
    from .tasks.bias import LIMITS, bias_scores

    pairs = _read_bias_argument(args.file)
    models = [load(args.model)] + ([load(args.compare)] if args.compare else [])

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,} of {total:,} pairs", end="" if done < total else "\n", file=sys.stderr, flush=True)

    results = [bias_scores(mlm, pairs, on_progress=progress) for mlm in models]
    if args.json:
        summary = results[0].to_dict()
        if len(results) > 1:
            summary["compare"] = results[1].to_dict()
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    for result in results:
        print(result.reading())
        for row in result.groups_frame().itertuples():
            print(f"  {row.bias_type or '(no bias type)'}: {row.stereotype_share:.1%} of {row.pairs} "
                  f"(95 % interval {row.low:.0%}–{row.high:.0%})")
    print(LIMITS)
    return 0


def run_build_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .tools.build_demo import DemoRecipe, build

    recipe = DemoRecipe() if args.steps is None else DemoRecipe().with_first_steps(args.steps)
    summary = build(Path(args.work), recipe=recipe, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(summary))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from .tools.bench import machine_description
    from .tools.benchmarks import format_table, run_benchmarks

    results = run_benchmarks(repeats=args.repeats, only=args.only, progress=lambda line: print(line, file=sys.stderr))
    if args.json:
        print(json.dumps({"machine": machine_description(), "results": [r.as_dict() for r in results]}))
    else:
        print(format_table(results))
    return 0
