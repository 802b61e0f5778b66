"""Command line: ``python -m mlm_core predict "TEXT" [--model SPEC] [--top-k K] [--json]``, ``attention``, ``layers``,
``ablate``, ``heads``, ``trace``, ``embed``,
``explain``, ``score``, ``pairs``, ``bias``, ``probe``, ``finetune``, ``build-demo`` and ``bench``.

User errors exit with code 2 and one line on stderr; results go to stdout. What each command does is in
``commands.py``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import commands, finetune_command, layer_commands, probe_command
from .errors import MlmExplorerError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, like every other error of ours
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mlm_core", description="Look inside masked language models.")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    predict = subcommands.add_parser("predict", help="fill in every [MASK] of a text")
    predict.add_argument("text", help="text with one or more [MASK], e.g. 'The cat sat on the [MASK].'")
    _add_model_argument(predict)
    predict.add_argument("--top-k", type=int, default=5, help="candidates per mask (default 5)")
    predict.add_argument("--joint-k", type=int, default=5, help="joint fillings for 2+ masks (default 5; 0 = none)")
    predict.add_argument("--words", default=None, metavar="W1,W2",
                         help="comma-separated words to score at every mask (any word; one of several pieces is "
                              "filled left to right). Braces in TEXT, e.g. 'The {man|woman} worked as a [MASK].', "
                              "give one result per variant")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(run=commands.run_predict)

    attention = subcommands.add_parser("attention", help="draw every layer's and head's attention as PNG files")
    attention.add_argument("text", help="any text; [MASK] is allowed but not needed")
    _add_model_argument(attention)
    attention.add_argument("--out", required=True, help="folder for Attention_Layer{L}_Head{H}.png files")
    attention.add_argument("--json", action="store_true",
                           help="print tokens, file count and each head's label and entropy as JSON")
    attention.set_defaults(run=commands.run_attention)
    layer_commands.add_parsers(subcommands, _add_model_argument)

    embed = subcommands.add_parser("embed", help="project contextual token embeddings of sentences to 2-D")
    embed.add_argument("sentences", nargs="+", help="one or more sentences")
    _add_model_argument(embed)
    embed.add_argument("--layer", type=int, default=None, help="0 = embedding layer … L = last (default: last)")
    embed.add_argument("--method", choices=["pca", "tsne"], default="pca", help="projection (default pca)")
    embed.add_argument("--json", action="store_true", help="print one JSON object")
    embed.set_defaults(run=commands.run_embed)

    explain = subcommands.add_parser("explain", help="which words pushed the prediction at a mask (SHAP, IG)")
    explain.add_argument("text", help="text with one or more [MASK]")
    _add_model_argument(explain)
    explain.add_argument("--mask", type=int, default=1, help="which mask to explain, 1-based (default 1)")
    explain.add_argument("--target", action="append", default=None,
                         help="word whose probability to explain; repeat for several (default: the top 3)")
    explain.add_argument("--contrast", action="store_true", help="also explain p(first target) − p(second)")
    explain.add_argument("--method", choices=["shap", "ig", "gradxinput"], default="shap",
                         help="shap (default), ig (integrated gradients) or gradxinput (gradient × input)")
    explain.add_argument("--steps", type=int, default=32, help="integrated gradients: points on the path (default 32)")
    explain.add_argument("--faithfulness", action="store_true",
                         help="also hide the top words step by step: comprehensiveness, sufficiency, random orders")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(run=commands.run_explain)

    score = subcommands.add_parser("score", help="how natural the model finds each sentence (pseudo-log-likelihood)")
    score.add_argument("sentences", nargs="+", help="one or more sentences")
    _add_model_argument(score)
    _add_method_argument(score)
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.set_defaults(run=commands.run_score)

    pairs = subcommands.add_parser("pairs", help="which sentence of each minimal pair the model prefers; accuracy")
    pairs.add_argument("file", help="CSV/TSV with a header 'good,bad[,category]' or JSONL; '-' reads standard "
                                    "input; or the name of a shipped suite (e.g. en-agreement-simple)")
    _add_model_argument(pairs)
    _add_method_argument(pairs)
    pairs.add_argument("--compare", default=None, metavar="MODEL", help="a second model scored on the same pairs")
    pairs.add_argument("--json", action="store_true", help="print one JSON object")
    pairs.set_defaults(run=commands.run_pairs)
    probe_command.add_parser(subcommands, _add_model_argument)

    bias = subcommands.add_parser("bias", help="social bias with the CrowS-Pairs metric: how often the model "
                                               "prefers the more stereotypical sentence")
    bias.add_argument("file", help="CSV/TSV with CrowS-Pairs' columns 'sent_more,sent_less,stereo_antistereo,"
                                   "bias_type' (the dataset's own file works), '-' for standard input, or a shipped "
                                   "bias suite (e.g. en-occupations-pronouns)")
    _add_model_argument(bias)
    bias.add_argument("--compare", default=None, metavar="MODEL", help="a second model scored on the same pairs")
    bias.add_argument("--json", action="store_true", help="print one JSON object")
    bias.set_defaults(run=commands.run_bias)

    finetune = subcommands.add_parser("finetune", help="fine-tune a copy of the model on a corpus and save it; "
                                                       "on one device, a machine's GPUs or a cluster; resumable")
    finetune.add_argument("file", metavar="CORPUS", help="a UTF-8 .txt file, a folder of them or a glob, any size")
    _add_model_argument(finetune)
    finetune_command.add_finetune_arguments(finetune)
    finetune.set_defaults(run=finetune_command.run_finetune)

    build = subcommands.add_parser("build-demo", help="fetch the corpora and encoder, train and export the demo model")
    build.add_argument("--work", default="build/demo", help="working folder for downloads and checkpoints "
                                                           "(default build/demo; reruns resume from it)")
    build.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    build.set_defaults(run=commands.run_build_demo)

    bench = subcommands.add_parser("bench", help="measure latency on a BERT-base-shaped model with random weights")
    bench.add_argument("--repeats", type=int, default=20, help="timed calls per row (default 20)")
    bench.add_argument("--only", default=None, help="run only rows whose name starts with this, e.g. predict/8")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=commands.run_bench)
    return parser


def _add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="preset (en, fr, de, zh, ja, multi, demo), Hugging Face id, or local folder "
                             "(default: en if cached, else demo)")


def _add_method_argument(parser: argparse.ArgumentParser) -> None:
    from .tasks.score import METHODS

    parser.add_argument("--method", choices=METHODS, default=METHODS[0],
                        help="pll-word-l2r (default: also hide the rest of a word to the right) or pll")


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
