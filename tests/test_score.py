"""Pseudo-log-likelihood scores (Salazar et al. 2020; Kauf & Ivanova 2023) and minimal pairs."""

import json
import math

import numpy as np
import pytest
from references import eager_pll

from mlm_core import InputError, ParameterError
from mlm_core.cli import main
from mlm_core.shapes import BATCH_BUCKETS, batch_chunks, call_chunks
from mlm_core.tasks.pair_files import MAX_PAIRS, Pair, list_suites, load_suite, read_pairs
from mlm_core.tasks.pair_runs import PairsRun
from mlm_core.tasks.pairs import CHUNK_PAIRS, PairScore, PairsResult, compare_pairs, disagreements
from mlm_core.tasks.score import ScoreResult, SentenceScore, TokenScore, score

SENTENCES = ["my mother went home .", "the cat sat on the mat .", "paris is the capital of france ."]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["pll", "pll-word-l2r"])
@pytest.mark.parametrize("model", ["bert", "camembert"])
def test_every_token_log_probability_matches_an_eager_one_copy_per_call_loop(request, model, method):
    mlm = request.getfixturevalue(model)
    result = score(mlm, SENTENCES, method=method)
    for sentence in result.sentences:
        expected = eager_pll(mlm, sentence.text, method)
        assert [t.position for t in sentence.tokens] == sorted(expected)
        for token in sentence.tokens:
            assert token.log_prob == pytest.approx(expected[token.position], abs=1e-4)
        assert sentence.pll == pytest.approx(sum(expected.values()), abs=1e-3)
        assert sentence.pseudo_perplexity == pytest.approx(math.exp(-sentence.pll / len(expected)), rel=1e-9)


def test_l2r_differs_from_pll_only_on_words_of_several_pieces(bert):
    """'mother' is several word pieces in the tiny vocabulary; every other word is one piece."""
    pll = score(bert, [SENTENCES[0]], method="pll").sentences[0]
    l2r = score(bert, [SENTENCES[0]], method="pll-word-l2r").sentences[0]
    for a, b in zip(pll.tokens, l2r.tokens):
        last_piece_of_word = a.word != "mother" or a.position == max(
            t.position for t in pll.tokens if t.word == "mother"
        )
        assert (a.log_prob == pytest.approx(b.log_prob, abs=1e-6)) == last_piece_of_word
    assert [t.word for t in l2r.tokens][:3] == ["my", "mother", "mother"]


def test_many_copies_run_in_as_few_calls_as_the_buckets_allow(bert, monkeypatch):
    calls = []
    original = type(bert.forward.programs).run

    def counting(self, key, make_step, inputs):
        calls.append((key.task, int(inputs[0].shape[0])))  # calls of over 8 rows are not padded: rows = inputs
        return original(self, key, make_step, inputs)

    monkeypatch.setattr(type(bert.forward.programs), "run", counting)
    sentences = [f"the cat sat on the mat number {'one two three'.split()[k % 3]} ." for k in range(10)]
    scored = score(bert, sentences, method="pll").sentences
    assert max(len(bert.tokenizer(s)["input_ids"]) for s in sentences) <= 16  # all in one length bucket
    n_copies = sum(len(s.tokens) for s in scored)
    assert n_copies > 100 and calls == [("targets", stop - start) for start, stop in call_chunks(n_copies)]
    assert len(calls) == -(-n_copies // 64)  # full calls of 64, the rest in one call at its exact shape
    assert call_chunks(8) == [(0, 8)] and call_chunks(130) == [(0, 64), (64, 128), (128, 130)]
    assert batch_chunks(14) == [(0, 8), (8, 14)] and batch_chunks(60) == [(0, 60)] and BATCH_BUCKETS[-1] == 64


@pytest.mark.parametrize(
    "sentences, message",
    [
        ([], "No sentences to score"),
        (["the cat sat .", "  "], "Sentence 2 is empty"),
        (["cat " * 300], "Sentence 1: The text is 302 tokens long"),
        (["[CLS] [SEP] [MASK]"], "has only special tokens"),
    ],
)
def test_bad_sentences_are_refused_with_a_message_naming_them(bert, sentences, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        score(bert, sentences)


def test_an_unknown_method_is_refused(bert):
    with pytest.raises(ParameterError, match="'method' parameter of score must be one of"):
        score(bert, ["the cat sat ."], method="ppl")


def test_pairs_prefer_the_higher_score_and_count_ties_as_failures(bert):
    """Against the sentences' own scores: a pair is right exactly when its good sentence scores higher."""
    pairs = [
        Pair("the cat sat on the mat .", "the cat sat on the the .", "a"),
        Pair("the dog ran .", "the dog ran .", "a"),  # a tie
        Pair("paris is the capital of france .", "france is the capital of paris .", "b"),
    ]
    result = compare_pairs(bert, pairs)
    plls = {s.text: s.pll for s in score(bert, [p.good for p in pairs] + [p.bad for p in pairs]).sentences}
    expected = [plls[p.good] > plls[p.bad] for p in pairs]
    assert [p.preferred == "good" for p in result.pairs] == expected
    assert result.pairs[1].preferred == "tie" and result.ties == 1
    assert result.accuracy == pytest.approx(np.mean(expected))
    categories = result.categories_frame()
    assert list(categories["category"]) == ["a", "b"] and list(categories["pairs"]) == [2, 1]
    assert categories["accuracy"].iloc[0] == pytest.approx(np.mean(expected[:2]))
    as_json = result.to_dict()
    assert set(as_json) == {"model", "method", "accuracy", "ties", "categories", "pairs"}
    assert as_json["pairs"][1]["preferred"] == "tie"


def test_disagreements_list_the_pairs_two_models_judge_differently():
    pair_a, pair_b = Pair("a good", "a bad"), Pair("b good", "b bad")
    first = PairsResult("one", "pll", (PairScore(pair_a, -1.0, -2.0), PairScore(pair_b, -1.0, -2.0)), 2)
    second = PairsResult("two", "pll", (PairScore(pair_a, -3.0, -2.0), PairScore(pair_b, -1.0, -5.0)), 2)
    table = disagreements(first, second)
    assert list(table["good"]) == ["a good"] and list(table["first: one"]) == ["good"]
    assert list(table["second: two"]) == ["bad"]


def test_a_pair_with_a_sentence_too_long_scores_nothing_and_says_which(bert):
    pairs = [Pair("the cat sat .", "the cat sit ."), Pair("the dog ran .", "dog " * 300)]
    with pytest.raises(InputError, match="Pair 2, bad sentence: The text is"):
        compare_pairs(bert, pairs)


@pytest.mark.parametrize(
    "data",
    [
        b"good,bad,category\nThe dogs bark.,The dogs barks.,agreement\n\nA cat sleeps.,A cat sleep.,agreement\n",
        b"# a comment\ngood\tbad\nThe dogs bark.\tThe dogs barks.\nA cat sleeps.\tA cat sleep.\n",
        '\ufeffGood,Bad\n"The dogs bark, loudly.",The dogs barks.\nA cat sleeps.,A cat sleep.\n'.encode("utf-8"),
        b'{"good": "The dogs bark.", "bad": "The dogs barks.", "category": "agreement"}\n'
        b'{"good": "A cat sleeps.", "bad": "A cat sleep."}\n',
    ],
)
def test_pair_files_in_every_format_are_read(data):
    pairs = read_pairs(data)
    assert len(pairs) == 2 and pairs[1] == Pair("A cat sleeps.", "A cat sleep.", pairs[1].category)
    assert pairs[0].good.startswith("The dogs bark")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty"),
        (b"# only a comment\n", "has no pairs"),
        (b"good,bad\n", "has a header but no pairs"),
        (b"sentence,other\nA.,B.\n", "has no 'good' or 'bad' column"),
        (b"good,bad\nThe dogs bark.,\n", "line 2, has no 'bad' sentence"),
        (b'{"good": "A.", "bad": ""}\n', "line 1, has no 'bad' sentence"),
        (b'{"good": "A.", "bad": "B."\n', "is not valid JSON"),
        ("good,bad\ncafé,thé\n".encode("latin-1"), "is not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "looks binary"),
        (b"PK\x03\x04zip", "is a zip archive"),
        (b"good,bad\n" + b"A cat sleeps.,A cat sleep.\n" * (MAX_PAIRS + 1), "the limit is 10,000"),
    ],
)
def test_bad_pair_files_are_refused_with_a_reason(data, message):
    with pytest.raises(InputError, match=message):
        read_pairs(data, name="pairs.csv")


def test_shipped_suites_describe_themselves_and_hold_enough_pairs():
    suites = list_suites()
    english = [suite for suite in suites if suite.language == "en"]
    assert len(english) >= 6 and {"fr", "de"} <= {suite.language for suite in suites}
    for suite in suites:
        assert suite.title and suite.tests
        _, pairs = load_suite(suite.key)
        assert len(pairs) >= (20 if suite.language == "en" else 5), suite.key
        assert all(pair.good != pair.bad and pair.category for pair in pairs), suite.key
    with pytest.raises(InputError, match="There is no suite 'nope' — pick one of: en-"):
        load_suite("nope")


def test_cli_score_prints_the_documented_json(bert_dir, capsys):
    assert (
        main(
            [
                "score",
                "the cat sat on the mat .",
                "the mat sat on the cat .",
                "--model",
                str(bert_dir),
                "--method",
                "pll",
                "--json",
            ]
        )
        == 0
    )
    output = json.loads(capsys.readouterr().out)
    assert output["method"] == "pll" and len(output["sentences"]) == 2
    first = output["sentences"][0]
    assert set(first) == {"text", "pll", "pseudo_perplexity", "tokens"}
    assert set(first["tokens"][0]) == {"token", "word", "log_prob"}
    assert first["pll"] == pytest.approx(sum(t["log_prob"] for t in first["tokens"]), abs=1e-4)


@pytest.mark.slow
def test_cli_pairs_reads_a_file_or_standard_input_and_compares_two_models(
    bert_dir, camembert_dir, tmp_path, capsys, monkeypatch
):
    pairs_file = tmp_path / "pairs.tsv"
    pairs_file.write_text(
        "good\tbad\tcategory\nthe cat sat .\tthe cat sit .\tverbs\nthe dog ran .\tdog the ran .\torder\n",
        encoding="utf-8",
    )
    assert main(["pairs", str(pairs_file), "--model", str(bert_dir), "--compare", str(camembert_dir), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [c["category"] for c in output["categories"]] == ["verbs", "order"]
    assert len(output["pairs"]) == 2 and set(output["pairs"][0]) == {
        "good",
        "bad",
        "category",
        "pll_good",
        "pll_bad",
        "preferred",
    }
    assert output["compare"]["model"] != output["model"] and len(output["compare"]["pairs"]) == 2

    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pairs_file.read_bytes())))
    assert main(["pairs", "-", "--model", str(bert_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == output["pairs"]


@pytest.mark.parametrize(
    "args, message", [(["pairs", "missing.csv"], "No file 'missing.csv'"), (["score", "   "], "Sentence 1 is empty")]
)
def test_cli_errors_exit_2_with_one_line(bert_dir, capsys, args, message):
    assert main(args + ["--model", str(bert_dir)]) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1


def _scored(*plls: float) -> ScoreResult:
    return ScoreResult(
        "demo", "pll", tuple(SentenceScore(f"s{k}", (TokenScore(1, "x", "x", pll),)) for k, pll in enumerate(plls))
    )


def test_the_preference_names_the_best_sentence_the_runner_up_and_exp_of_the_margin():
    """The ratio is exp(PLL difference), the pseudo-likelihood ratio (Salazar et al. 2020)."""
    assert _scored(-3.0).preference() is None
    assert _scored(-5.0, -2.5, -4.0).preference() == (
        "**demo** prefers sentence 2 to sentence 3 by 1.50 (PLL -2.50 against -4.00: about "
        f"{math.exp(1.5):.3g} times more likely in its pseudo-likelihood)."
    )
    assert _scored(-2.0, -2.0).preference() == "**demo** scores sentences 1 and 2 exactly the same."
    assert "about 1.01e+304 times" in _scored(-1.0, -1000.0).preference()  # exp(700) caps the overflow


def test_a_pairs_run_stopped_and_resumed_ends_with_the_one_shot_scores(bert, camembert):
    """Reference: compare_pairs, every pair in one call per model."""
    pairs = load_suite("en-agreement-simple")[1] * 2  # 50 pairs: two chunks per model
    run = PairsRun.continued(None, [bert, camembert], "pll", "suite:x", pairs)
    assert (run.total, run.done, run.needs_work, run.interrupted) == (100, 0, True, False)
    fraction, line = next(iter(run.advance([bert, camembert])))  # a click ends the page's loop after one chunk
    assert run.done == CHUNK_PAIRS and fraction == CHUNK_PAIRS / 100 and line.startswith("32 of 100 pairs scored")
    run.stop()
    assert not run.needs_work and run.interrupted
    assert run.notice() == "Stopped after 32 of 100 pairs; the results below are for the finished ones."
    assert [r.stopped for r in run.results()] == [True, True]
    assert PairsRun.continued(run, [bert, camembert], "pll", "suite:x", pairs) is run
    assert PairsRun.continued(run, [bert], "pll", "suite:x", pairs).done == 0
    run.resume()
    assert list(run.advance([bert, camembert]))[-1][0] == 1.0 and not run.needs_work and not run.interrupted
    for mlm, result in zip([bert, camembert], run.results()):
        expected = compare_pairs(mlm, pairs, method="pll")
        assert result.model_name == mlm.name and not result.stopped
        assert [p.pll_good for p in result.pairs] == pytest.approx([p.pll_good for p in expected.pairs], abs=1e-5)
        assert [p.pll_bad for p in result.pairs] == pytest.approx([p.pll_bad for p in expected.pairs], abs=1e-5)
        assert result.summary() == f"50 pairs scored, {expected.ties} tie{'s' if expected.ties != 1 else ''}."


def test_a_pairs_run_refuses_an_unusable_pair_before_scoring_anything(bert):
    run = PairsRun.continued(None, [bert], "pll", "upload:x", [Pair("the cat sat .", "cat " * 300)])
    with pytest.raises(InputError, match="Pair 1, bad sentence"):
        run.advance([bert])
    assert run.done == 0
