"""Hostile input, page by page and command by command: every case ends in a clear message or a result — never a
traceback — HTML in the text is never interpreted, and the page still works afterwards."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlm_core.cli import main

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
NO_MASK = "No [MASK] in the text"
EMPTY = "The text is empty"
TOO_LONG = "tokens long but model"

# (name, text, expected error per page: predict, attention, embeddings, explain; None = results are shown)
TEXTS = [
    ("empty", "", (EMPTY, EMPTY, "No sentences", EMPTY)),
    ("whitespace", "  \n\t  ", (EMPTY, EMPTY, "No sentences", EMPTY)),
    ("no mask", "the cat sat on the mat .", (NO_MASK, None, None, NO_MASK)),
    ("only a mask", "[MASK]", (None, None, "needs at least 2 points", "no words besides the mask")),
    ("twenty masks", " ".join(["[MASK]"] * 20), (None, None, None, "no words besides the mask")),
    ("5,000 words", "the cat " * 2500 + "[MASK] .", (TOO_LONG,) * 4),
    ("lone [MASK", "the [MASK cat sat .", (NO_MASK, None, None, NO_MASK)),
    ("lone MASK]", "the MASK] cat sat .", (NO_MASK, None, None, NO_MASK)),
    ("<mask> for a BERT model", "the cat sat on the <mask> .", (NO_MASK, None, None, NO_MASK)),
    ("CJK", "北京是中国的[MASK]都。", (None, None, None, None)),
    ("Arabic, right to left", "جلست القطة على [MASK] .", (None, None, None, None)),
    ("emoji", "i love 🍕 and the [MASK] 😀 .", (None, None, None, None)),
    ("zero-width characters", "the ca\u200bt sat\u200d on the [MASK] .\ufeff", (None, None, None, None)),
    ("control characters", "the cat\x00\x07 sat on the [MASK] .\x1b[31m", (None, None, None, None)),
    ("HTML and script", "<script>alert(1)</script> <b>the</b> cat sat on the [MASK] .", (None, None, None, None)),
]
PAGES = ["predict", "attention", "embeddings", "explain"]
TEXT_KEYS = {
    "predict": "predict_text",
    "attention": "attention_text",
    "embeddings": "embeddings_sentences",
    "explain": "explain_text",
}
GOOD_TEXT = "the cat sat on the [MASK] ."


def open_page(model: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["page"] = page
    at.query_params["model"] = model
    return at.run()


def shows_results(at: AppTest, page: str) -> bool:
    if page == "predict":
        return len(at.dataframe) >= 1 and len(at.dataframe[0].value) == 5
    if page == "attention":
        return len(at.get("image")) == 2
    if page == "embeddings":
        return len(at.get("vega_lite_chart")) >= 1
    return len(at.metric) >= 3


def raw_html_on_page(at: AppTest) -> list[str]:
    """Every piece of HTML the page asks the browser to interpret, with a <script> or <b> tag left in it."""
    bodies = [element.proto.body for element in at.get("html")]
    bodies += [block.value for block in at.markdown if getattr(block.proto, "allow_html", False)]
    return [body for body in bodies if re.search(r"<script|<b>", body)]


@pytest.fixture(scope="module")
def pages(bert_dir):
    return {page: open_page(str(bert_dir), page) for page in PAGES}


@pytest.mark.slow
@pytest.mark.parametrize("page_index, page", list(enumerate(PAGES)))
@pytest.mark.parametrize("name, text, expected", TEXTS, ids=[case[0] for case in TEXTS])
def test_hostile_text_gives_a_message_or_a_result_and_the_page_recovers(pages, page_index, page, name, text, expected):
    at = pages[page]
    at.text_area(key=TEXT_KEYS[page]).set_value(text).run()
    assert not at.exception, at.exception
    message = expected[page_index]
    if message is None:
        assert not at.error, [e.value for e in at.error]
        assert shows_results(at, page)
    else:
        assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not raw_html_on_page(at)
    at.text_area(key=TEXT_KEYS[page]).set_value(GOOD_TEXT).run()
    assert not at.exception and not at.error and shows_results(at, page)


@pytest.mark.slow
def test_html_in_the_text_is_escaped_in_the_shap_colouring():
    at = open_page("demo", "explain")  # a real vocabulary, where '<' is a token of its own
    at.text_area(key="explain_text").set_value("<script>alert(1)</script> the cat sat on the [MASK] .").run()
    bodies = [element.proto.body for element in at.get("html")]
    assert bodies and all("&lt;" in body and "<script" not in body for body in bodies), bodies[0][:2000]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no-such-user/no-such-model", "is not in the local Hugging Face cache"),
        ("../../etc", "outside the folders this server loads models from"),
        ("/etc", "outside the folders this server loads models from"),
        ("/no/such/folder", "outside the folders this server loads models from"),
        ("https://example.com/bert", "is a web address"),
        ("bert-base-uncased; rm -rf /", "neither a folder on this machine nor a Hugging Face id"),
    ],
)
def test_hostile_model_ids_are_refused_with_a_reason(bert_dir, spec, message):
    at = open_page(str(bert_dir), "predict")
    at.text_input(key="model_custom").set_value(spec).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="model_custom").set_value(str(bert_dir)).run()
    assert not at.error and shows_results(at, "predict")


def test_model_folders_that_are_unsafe_or_incomplete_are_refused(
    pickle_only_dir, headless_dir, no_tokenizer_dir, bert_dir
):
    at = open_page(str(bert_dir), "predict")
    for folder, message in (
        (pickle_only_dir, "only has pickle weights"),
        (headless_dir, "no trained masked-LM head"),
        (no_tokenizer_dir, "has weights but no tokenizer"),
    ):
        at.text_input(key="model_custom").set_value(str(folder)).run()
        assert not at.exception and any(message in e.value for e in at.error)
    at.text_input(key="model_custom").set_value(str(bert_dir)).run()
    assert not at.error and shows_results(at, "predict")


def test_tsne_on_one_point_through_a_link_is_a_message(bert_dir):
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in {
        "page": "embeddings",
        "model": str(bert_dir),
        "text": "cat",
        "method": "tsne",
        "hide_special": "1",
    }.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    assert any("t-SNE needs at least 4 points" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", ""], EMPTY),
        (["predict", "no mask here"], NO_MASK),
        (["predict", "the [MASK] .", "--top-k", "0"], "'top_k' parameter"),
        (["predict", "the cat " * 2500 + "[MASK]"], TOO_LONG),
        (["attention", "   ", "--out", "{tmp}/att"], EMPTY),
        (["embed", "   "], "No sentences"),
        (["embed", "cat", "--method", "tsne"], "t-SNE needs at least 4 points"),
        (["embed", "the cat sat", "--layer", "99"], "'layer' parameter"),
        (["explain", "no mask here"], NO_MASK),
        (["explain", "the [MASK] sat .", "--mask", "3"], "mask"),
        (["predict", "the [MASK] .", "--model", "/etc"], "no config.json"),
        (["predict", "the [MASK] .", "--model", "https://example.com/bert"], "is a web address"),
    ],
)
def test_cli_hostile_input_exits_2_with_one_line(bert_dir, tmp_path, capsys, args, message):
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    if "--model" not in args:
        args += ["--model", str(bert_dir)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_cli_json_output_escapes_nothing_and_keeps_the_text_verbatim(bert_dir, capsys):
    text = "<script>alert(1)</script> the [MASK] ."
    assert main(["predict", text, "--model", str(bert_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == text


SCORE_TEXTS = [  # (name, typed sentences, expected error or None when scores are shown)
    ("empty", "", "No sentences to score"),
    ("whitespace", "  \n\t  ", "No sentences to score"),
    ("only masks", "[MASK] [MASK]", "has only special tokens"),
    ("special tokens", "[CLS] [SEP]\nthe cat sat .", "Sentence 1 ('[CLS] [SEP]') has only special tokens"),
    ("5,000 words", "the cat " * 2500, TOO_LONG),
    ("one line too long among many", "the cat sat .\n" + "the dog " * 200, "Sentence 2: The text is"),
    ("CJK, emoji, zero-width, control", "北京是中国的首都。\ni love 🍕 😀 .\nthe ca\u200bt\x00 sat .", None),
    ("HTML and script", "<script>alert(1)</script> <b>the</b> cat sat .", None),
    ("a hundred lines", "\n".join(f"the cat sat on mat {k} ." for k in range(100)), None),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, text, expected", SCORE_TEXTS, ids=[case[0] for case in SCORE_TEXTS])
def test_hostile_sentences_on_the_score_page_give_a_message_or_scores(bert_dir, name, text, expected):
    at = open_page(str(bert_dir), "score")
    at.text_area(key="score_text").set_value(text).run()
    assert not at.exception, at.exception
    if expected is None:
        assert not at.error, [e.value for e in at.error]
        assert len(at.dataframe[0].value) == len([line for line in text.splitlines() if line.strip()])
    else:
        assert any(expected in e.value for e in at.error), [e.value for e in at.error]
    assert not raw_html_on_page(at)
    at.text_area(key="score_text").set_value("the cat sat .\nthe cat sit .").run()
    assert not at.exception and not at.error and len(at.dataframe[0].value) == 2


PAIR_FILES = [  # (name, file bytes, expected message)
    ("empty file", b"", "is empty"),
    ("missing columns", b"sentence;other\nA cat.;B cat.\n", "has no 'good' or 'bad' column"),
    ("empty side", b"good,bad\nthe cat sat .,\n", "has no 'bad' sentence"),
    ("non-UTF-8", "good,bad\nle café .,le thé .\n".encode("latin-1"), "is not UTF-8 text"),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00", "looks binary"),
    ("over 10,000 pairs", b"good,bad\n" + b"the cat sat .,the cat sit .\n" * 10_001, "the limit is 10,000"),
    (
        "sentence too long",
        b"good,bad\nthe cat sat .,the cat sit .\nthe dog ran .," + b"dog " * 300 + b"\n",
        "Pair 2, bad sentence: The text is",
    ),
    ("all special tokens", b"good,bad\n[CLS] [SEP],the cat sat .\n", "Pair 1, good sentence"),
    ("bad JSON line", b'{"good": "the cat sat .", "bad": "the cat sit ."}\n{"good": \n', "line 2, is not valid JSON"),
]


@pytest.mark.parametrize("name, data, message", PAIR_FILES, ids=[case[0] for case in PAIR_FILES])
def test_cli_pairs_refuses_bad_files_with_one_line_and_prints_nothing(bert_dir, tmp_path, capsys, name, data, message):
    path = tmp_path / "pairs.csv"
    path.write_bytes(data)
    assert main(["pairs", str(path), "--model", str(bert_dir), "--json"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""
