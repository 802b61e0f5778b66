"""Command line: ``python -m mlm_core predict "TEXT" [--model SPEC] [--top-k K] [--json]``, ``attention``, ``embed``,
``explain``, ``finetune``, ``build-demo`` and ``bench``.

User errors exit with code 2 and one line on stderr; results go to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .errors import MlmExplorerError, ModelNotFoundError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, like every other error of ours
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mlm_core", description="Look inside masked language models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    predict = commands.add_parser("predict", help="fill in every [MASK] of a text")
    predict.add_argument("text", help="text with one or more [MASK], e.g. 'The cat sat on the [MASK].'")
    _add_model_argument(predict)
    predict.add_argument("--top-k", type=int, default=5, help="candidates per mask (default 5)")
    predict.add_argument("--joint-k", type=int, default=5, help="joint fillings for 2+ masks (default 5; 0 = none)")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(run=_run_predict)

    attention = commands.add_parser("attention", help="draw every layer's and head's attention as PNG files")
    attention.add_argument("text", help="any text; [MASK] is allowed but not needed")
    _add_model_argument(attention)
    attention.add_argument("--out", required=True, help="folder for Attention_Layer{L}_Head{H}.png files")
    attention.add_argument("--json", action="store_true",
                           help="print tokens, file count and each head's label and entropy as JSON")
    attention.set_defaults(run=_run_attention)

    embed = commands.add_parser("embed", help="project contextual token embeddings of sentences to 2-D")
    embed.add_argument("sentences", nargs="+", help="one or more sentences")
    _add_model_argument(embed)
    embed.add_argument("--layer", type=int, default=None, help="0 = embedding layer … L = last (default: last)")
    embed.add_argument("--method", choices=["pca", "tsne"], default="pca", help="projection (default pca)")
    embed.add_argument("--json", action="store_true", help="print one JSON object")
    embed.set_defaults(run=_run_embed)

    explain = commands.add_parser("explain", help="SHAP values: which words pushed the prediction at a mask")
    explain.add_argument("text", help="text with one or more [MASK]")
    _add_model_argument(explain)
    explain.add_argument("--mask", type=int, default=1, help="which mask to explain, 1-based (default 1)")
    explain.add_argument("--target", action="append", default=None,
                         help="word whose probability to explain; repeat for several (default: the top 3)")
    explain.add_argument("--contrast", action="store_true", help="also explain p(first target) − p(second)")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(run=_run_explain)

    finetune = commands.add_parser("finetune", help="fine-tune a copy of the model on a text file and save it")
    finetune.add_argument("file", help="UTF-8 plain-text file to train on (at most 10 MB)")
    _add_model_argument(finetune)
    finetune.add_argument("--out", required=True, help="folder for the fine-tuned model (save_pretrained format)")
    finetune.add_argument("--epochs", type=int, default=2, help="passes over the text (default 2)")
    finetune.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (default 5e-5)")
    finetune.add_argument("--batch-size", type=int, default=8, help="blocks per step (default 8)")
    finetune.add_argument("--block-length", type=int, default=64, help="tokens per block (default 64)")
    finetune.add_argument("--max-steps", type=int, default=500, help="cap on training steps (default 500)")
    finetune.add_argument("--json", action="store_true",
                          help="print {out, before, after, tokens_per_second} as one JSON object")
    finetune.set_defaults(run=_run_finetune)

    build = commands.add_parser("build-demo", help="fetch the corpora and encoder, train and export the demo model")
    build.add_argument("--work", default="build/demo", help="working folder for downloads and checkpoints "
                                                           "(default build/demo; reruns resume from it)")
    build.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    build.set_defaults(run=_run_build_demo)

    bench = commands.add_parser("bench", help="measure latency on a BERT-base-shaped model with random weights")
    bench.add_argument("--repeats", type=int, default=20, help="timed calls per row (default 20)")
    bench.add_argument("--only", default=None, help="run only rows whose name starts with this, e.g. predict/8")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=_run_bench)
    return parser


def _add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="preset (en, fr, de, zh, ja, multi, demo), Hugging Face id, or local folder "
                             "(default: en if cached, else demo)")


def _load(spec: str | None):
    from .catalog import default_model_spec
    from .loading import load_model

    spec = spec or default_model_spec()
    if spec is None:
        raise ModelNotFoundError(
            "No model is available offline — pass --model with a local model folder, or a Hugging Face id "
            "(needs internet once)."
        )
    return load_model(spec)


def _run_predict(args: argparse.Namespace) -> int:
    from .tasks.predict import predict

    mlm = _load(args.model)
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


def _run_attention(args: argparse.Namespace) -> int:
    from .tasks.attention import attention, summarise_heads, write_all_diagrams

    result = attention(_load(args.model), args.text)
    written = write_all_diagrams(result, args.out)
    if args.json:
        heads = [{"layer": s.layer, "head": s.head, "label": s.label, "entropy": s.entropy}
                 for s in summarise_heads(result)]
        print(json.dumps({"tokens": list(result.tokens), "files": len(written), "heads": heads}, ensure_ascii=False))
    else:
        print(f"Wrote {len(written)} attention diagrams to {args.out}")
    return 0


def _run_embed(args: argparse.Namespace) -> int:
    from .tasks.embeddings import projected_points

    mlm = _load(args.model)
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


def _run_explain(args: argparse.Namespace) -> int:
    from .tasks.explain import explain

    result = explain(_load(args.model), args.text, mask_index=args.mask - 1, targets=args.target,
                     contrast=args.contrast)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    for target in result.targets:
        print(f"{target.token}: f(x) = {target.output:.4f}, base value = {target.base_value:.4f}")
        for word, value in sorted(zip(result.words, target.values), key=lambda pair: -abs(pair[1])):
            print(f"  {value:+.4f}  {word}")
    return 0


def _run_finetune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import InputError
    from .training.finetune import FinetuneSettings, finetune, read_text_file

    source, out = Path(args.file), Path(args.out)
    if not source.is_file():
        raise InputError(f"No file '{source}' — give the path of a UTF-8 .txt file to fine-tune on.")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "config.json").is_file())):
        raise InputError(f"'{out}' already exists and is not an empty folder or a saved model — choose a new "
                         "folder for --out.")
    text = read_text_file(source.read_bytes(), name=f"'{source}'")
    settings = FinetuneSettings(epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
                                block_length=args.block_length, max_steps=args.max_steps)

    def report(progress):
        if progress.evaluation is not None:
            print(f"step {progress.step}/{progress.total_steps}: train loss {progress.loss:.3f}, validation loss "
                  f"{progress.evaluation.loss:.3f}", file=sys.stderr, flush=True)

    result = finetune(_load(args.model), text, settings, out_dir=out, on_progress=report)
    if args.json:
        print(json.dumps(result.summary()))
        return 0
    print(f"Saved to {out} after {result.steps} steps ({result.tokens_per_second:.0f} tokens/s).")
    print(result.comparison_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def _run_build_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .tools.build_demo import DemoRecipe, build

    recipe = DemoRecipe() if args.steps is None else DemoRecipe().with_first_steps(args.steps)
    summary = build(Path(args.work), recipe=recipe, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(summary))
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from .tools.bench import format_table, machine_description, run_benchmarks

    results = run_benchmarks(repeats=args.repeats, only=args.only, progress=lambda line: print(line, file=sys.stderr))
    if args.json:
        print(json.dumps({"machine": machine_description(), "results": [r.as_dict() for r in results]}))
    else:
        print(format_table(results))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        return args.run(args)
    except MlmExplorerError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _quiet_libraries() -> None:
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
