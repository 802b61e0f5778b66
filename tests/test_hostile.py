"""Hostile input, page by page and command by command: every case ends in a clear message or a result — never a
traceback — HTML in the text is never interpreted, and the page still works afterwards."""

import errno
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mlm_core.cli import main
from mlm_core.files import LFS_POINTER, PARTIAL

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
TEXT_KEYS = {"predict": "predict_text", "attention": "attention_text", "embeddings": "embeddings_sentences",
             "explain": "explain_text"}
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


@pytest.mark.parametrize("page_index, page", list(enumerate(PAGES)))
@pytest.mark.parametrize("name, text, expected", TEXTS, ids=[case[0] for case in TEXTS])
def test_hostile_text_gives_a_message_or_a_result_and_the_page_recovers(pages, page_index, page, name, text,
                                                                        expected):
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


def test_html_in_the_text_is_escaped_in_the_shap_colouring():
    at = open_page("demo", "explain")  # a real vocabulary, where '<' is a token of its own
    at.text_area(key="explain_text").set_value("<script>alert(1)</script> the cat sat on the [MASK] .").run()
    bodies = [element.proto.body for element in at.get("html")]
    assert bodies and all("&lt;" in body and "<script" not in body for body in bodies), bodies[0][:2000]


@pytest.mark.parametrize("spec, message", [
    ("no-such-user/no-such-model", "is not in the local Hugging Face cache"),
    ("../../etc", "outside the folders this server loads models from"),
    ("/etc", "outside the folders this server loads models from"),
    ("/no/such/folder", "outside the folders this server loads models from"),
    ("https://example.com/bert", "is a web address"),
    ("bert-base-uncased; rm -rf /", "neither a folder on this machine nor a Hugging Face id"),
])
def test_hostile_model_ids_are_refused_with_a_reason(bert_dir, spec, message):
    at = open_page(str(bert_dir), "predict")
    at.text_input(key="model_custom").set_value(spec).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="model_custom").set_value(str(bert_dir)).run()
    assert not at.error and shows_results(at, "predict")


def test_model_folders_that_are_unsafe_or_incomplete_are_refused(pickle_only_dir, headless_dir,
                                                                 no_tokenizer_dir, bert_dir):
    at = open_page(str(bert_dir), "predict")
    for folder, message in ((pickle_only_dir, "only has pickle weights"), (headless_dir, "no trained masked-LM head"),
                            (no_tokenizer_dir, "has weights but no tokenizer")):
        at.text_input(key="model_custom").set_value(str(folder)).run()
        assert not at.exception and any(message in e.value for e in at.error)
    at.text_input(key="model_custom").set_value(str(bert_dir)).run()
    assert not at.error and shows_results(at, "predict")


def test_tsne_on_one_point_through_a_link_is_a_message(bert_dir):
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in {"page": "embeddings", "model": str(bert_dir), "text": "cat", "method": "tsne",
                        "hide_special": "1"}.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    assert any("t-SNE needs at least 4 points" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("args, message", [
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
])
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
    ("sentence too long", b"good,bad\nthe cat sat .,the cat sit .\nthe dog ran .," + b"dog " * 300 + b"\n",
     "Pair 2, bad sentence: The text is"),
    ("all special tokens", b"good,bad\n[CLS] [SEP],the cat sat .\n", "Pair 1, good sentence"),
    ("bad JSON line", b'{"good": "the cat sat .", "bad": "the cat sit ."}\n{"good": \n', "line 2, is not valid JSON"),
]


@pytest.mark.parametrize("name, data, message", PAIR_FILES, ids=[case[0] for case in PAIR_FILES])
def test_cli_pairs_refuses_bad_files_with_one_line_and_prints_nothing(bert_dir, tmp_path, capsys, name, data,
                                                                      message):
    path = tmp_path / "pairs.csv"
    path.write_bytes(data)
    assert main(["pairs", str(path), "--model", str(bert_dir), "--json"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def _put(name: str, data):
    """Damage: replace the file ``name`` with ``data`` (bytes, or a function of the file's path giving them)."""
    return lambda folder: (folder / name).write_bytes(data(folder / name) if callable(data) else data)


def _vocab_only(data: bytes):
    """Damage: no tokenizer.json, so transformers builds the tokenizer from vocab.txt, which becomes ``data``."""
    return lambda folder: ((folder / "tokenizer.json").unlink(), (folder / "vocab.txt").write_bytes(data))


def _h5_weights(keep: float):
    """Damage: weights saved as tf_model.h5 instead of safetensors, then cut to their first ``keep`` share."""
    def damage(folder):
        from transformers import TFAutoModelForMaskedLM
        model = TFAutoModelForMaskedLM.from_pretrained(str(folder))
        (folder / "model.safetensors").unlink()
        model.save_pretrained(str(folder), safe_serialization=False)
        data = (folder / "tf_model.h5").read_bytes()
        (folder / "tf_model.h5").write_bytes(data[: int(len(data) * keep)] if keep else b"not HDF5 at all\n")
    return damage


HALF = lambda path: path.read_bytes()[: path.stat().st_size // 2]  # noqa: E731
DAMAGED = "is damaged or incomplete ("
DAMAGED_MODELS = [  # (what is wrong with the tiny BERT's folder, the damage, expected message)
    ("random bytes as weights", _put("model.safetensors", lambda p: os.urandom(p.stat().st_size)),
     f"weights file model.safetensors {DAMAGED}Error while deserializing header"),
    ("first half of the weights", _put("model.safetensors", HALF), f"model.safetensors {DAMAGED}Error while deser"),
    ("empty weights file", _put("model.safetensors", b""), f"model.safetensors {DAMAGED}it is empty: 0 bytes)"),
    ("text named model.safetensors", _put("model.safetensors", b"weights: TODO\n" * 40),
     f"weights file model.safetensors {DAMAGED}"),
    ("Git LFS pointer as weights", _put("model.safetensors", LFS_POINTER + b".github.com/spec/v1\nsize 9\n"),
     "a Git LFS pointer, not the file itself: run 'git lfs pull'"),
    ("a folder named model.safetensors", lambda f: ((f / "model.safetensors").unlink(),
                                                   (f / "model.safetensors").mkdir()), "(a folder, not a file)"),
    ("tf_model.h5 that is not HDF5", _h5_weights(0), f"weights file tf_model.h5 {DAMAGED}not a readable HDF5 file)"),
    ("first half of tf_model.h5", _h5_weights(0.5), f"weights file tf_model.h5 {DAMAGED}not a readable HDF5 file)"),
    ("corrupt config.json", _put("config.json", b'{"model_type": "bert", '),
     f"configuration file config.json {DAMAGED}not valid JSON"),
    ("empty config.json", _put("config.json", b""), f"config.json {DAMAGED}it is empty: 0 bytes)"),
    ("config.json holding a list", _put("config.json", b"[]"), f"config.json {DAMAGED}a JSON list instead of"),
    ("a word for a size in config.json",
     _put("config.json", lambda p: p.read_bytes().replace(b'"hidden_size": 32', b'"hidden_size": "big"')),
     f"config.json {DAMAGED}'hidden_size' is 'big', not a whole number above 0)"),
    ("corrupt tokenizer.json", _put("tokenizer.json", HALF), f"tokenizer file tokenizer.json {DAMAGED}not valid JSON"),
    ("tokenizer.json with no model", _put("tokenizer.json", b"{}"), f"tokenizer.json {DAMAGED}Model missing"),
    ("binary vocab.txt", _vocab_only(b"\x89PNG\r\n\x1a\n" * 50), f"tokenizer file vocab.txt {DAMAGED}not UTF-8 text"),
    ("vocab.txt without [UNK]", _vocab_only(b"[PAD]\n[CLS]\n[SEP]\n[MASK]\nthe\n"),
     f"vocab.txt {DAMAGED}WordPiece error: Missing [UNK] token"),
    ("corrupt tokenizer_config.json", _put("tokenizer_config.json", b"{"), f"tokenizer_config.json {DAMAGED}not valid"),
]
REMEDY = "save the model again with save_pretrained(), or download it again."


@pytest.fixture(scope="module")
def damaged_models(model_root, bert_dir) -> dict[str, Path]:
    """One copy of the tiny BERT per case, damaged as it says, under the dashboard's model root."""
    folders = {}
    for index, (name, damage, _) in enumerate(DAMAGED_MODELS):
        folders[name] = shutil.copytree(bert_dir, model_root / f"damaged-{index}")
        damage(folders[name])
    return folders


@pytest.mark.parametrize("name, message", [(c[0], c[2]) for c in DAMAGED_MODELS], ids=[c[0] for c in DAMAGED_MODELS])
def test_cli_damaged_model_folders_exit_2_with_one_line_naming_the_file(damaged_models, capsys, name, message):
    folder = str(damaged_models[name])
    assert main(["predict", "the [MASK] .", "--model", folder]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and f"'{folder}'" in captured.err, captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err and captured.out == ""
    assert REMEDY in captured.err or "git lfs pull" in captured.err


def test_damaged_model_folders_are_an_error_on_the_page_and_the_page_recovers(damaged_models, bert_dir):
    """Every DAMAGED_MODELS case typed in the sidebar: st.error with the message, no exception; then a good model."""
    at = open_page(str(bert_dir), "predict")
    for name, _, message in DAMAGED_MODELS:
        at.text_input(key="model_custom").set_value(str(damaged_models[name])).run()
        assert not at.exception, (name, at.exception)
        assert any(message in e.value for e in at.error), (name, [e.value for e in at.error])
    at.text_input(key="model_custom").set_value(str(bert_dir)).run()
    assert not at.error and shows_results(at, "predict")


def _mount_tmpfs(folder: Path, options: str) -> bool:
    """Mount a tmpfs on ``folder`` when this process may (root with mount rights); False otherwise."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    return subprocess.run(command, capture_output=True).returncode == 0


def _simulate_small_disk(patch: pytest.MonkeyPatch, folder: Path, size: int) -> None:
    """Where no tmpfs can be mounted: ``size`` bytes of room under ``folder``, and writes past them fail (ENOSPC)."""
    real_usage, real_write = shutil.disk_usage, Path.write_bytes

    def used() -> int:
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    def usage(path):
        inside = folder in (Path(path).absolute(), *Path(path).absolute().parents)
        return real_usage(path)._replace(free=size - used()) if inside else real_usage(path)

    def write_bytes(path, data):
        if folder in path.absolute().parents and used() + len(data) > size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, data)
    patch.setattr(shutil, "disk_usage", usage)
    patch.setattr(Path, "write_bytes", write_bytes)


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """Paths for FILE_CASES. 'ro' cannot be written: chmod 555 for a normal user; for root, whom chmod stops not, a
    read-only tmpfs, or /sys (sysfs refuses new files) where mounting is not allowed. 'disk' has 8 KiB of room: a
    real tmpfs when we can mount one (two of the tiny model's four diagrams fit there, its 106 KB of weights do
    not), else the same limit simulated (free space reported, writes past it failing with ENOSPC)."""
    root = tmp_path_factory.mktemp("places")
    paths = {name: root / name for name in ("file", "other", "text.txt", "ro", "disk")}
    paths["file"].write_text("not a folder")
    paths["other"].mkdir()
    (paths["other"] / "notes.txt").write_text("someone's notes, not a model")
    paths["text.txt"].write_text("the cat sat on the mat and the dog ran to the red house . " * 300)
    mounted = [path for path, options in ((paths["ro"], "ro,size=64k"), (paths["disk"], "size=8k"))
               if _mount_tmpfs(path, options)]
    if paths["ro"] not in mounted:
        paths["ro"].chmod(0o555)
        paths["ro"] = paths["ro"] if os.geteuid() != 0 else Path("/sys")
    with pytest.MonkeyPatch.context() as patch:
        if paths["disk"] not in mounted:
            _simulate_small_disk(patch, paths["disk"], 8192)
        yield {name.removesuffix(".txt"): str(path) for name, path in paths.items()}
    for path in mounted:
        subprocess.run(["umount", str(path)], check=True)


FILE_CASES = [  # (what is tested, arguments with {place} from `places`, expected message on stderr)
    ("diagrams into a file", ["attention", "a cat", "--out", "{file}"], "it is a file, not a folder"),
    ("diagrams under a file", ["attention", "a cat", "--out", "{file}/d"], "is a file, so no folder can be made"),
    ("diagrams under /proc", ["attention", "a cat", "--out", "/proc/mlm-explorer-out"], "'/proc' cannot be written"),
    ("diagrams, read-only", ["attention", "a cat", "--out", "{ro}/d"], "choose a folder you can write to"),
    ("diagrams, disk full half-way", ["attention", "a cat", "--out", "{disk}/d"], "the disk is full — free some"),
    ("model into a file", ["finetune", "{text}", "--out", "{file}"], "it is a file, not a folder"),
    ("model under a file", ["finetune", "{text}", "--out", "{file}/m"], "is a file, so no folder can be made"),
    ("model under /proc", ["finetune", "{text}", "--out", "/proc/mlm-explorer-out"], "'/proc' cannot be written"),
    ("model, read-only", ["finetune", "{text}", "--out", "{ro}/m"], "choose a folder you can write to"),
    ("model, disk too small", ["finetune", "{text}", "--out", "{disk}/m"], "needs about 0.10 MB and only 0.0"),
    ("model over other files", ["finetune", "{text}", "--out", "{other}"], "is a folder with other files in it"),
    ("unreadable training text", ["finetune", "/proc/self/mem", "--out", "{disk}/m"], "Cannot read '/proc/self/mem'"),
    ("unreadable pairs file", ["pairs", "/proc/self/mem"], "Cannot read '/proc/self/mem': Input/output error"),
]


@pytest.mark.parametrize("name, args, message", FILE_CASES, ids=[case[0] for case in FILE_CASES])
def test_cli_paths_that_cannot_be_read_or_written_exit_2_with_one_line(places, bert_dir, capsys, name, args,
                                                                      message):
    """One line naming the path and the fix, given before any training (its progress would be on stderr too), and
    nothing left behind: no new --out, no staging folder, the small disk empty again."""
    args = [arg.format(**places) for arg in args] + ["--model", str(bert_dir)]
    args += ["--max-steps", "2"] if args[0] == "finetune" else []
    out = Path(args[args.index("--out") + 1]) if "--out" in args else None
    existed = out is not None and out.exists()
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert "Cannot write" not in captured.err or f"'{out}'" in captured.err
    assert out is None or existed or not out.exists()
    assert not list(Path(places["disk"]).parent.rglob(f"*{PARTIAL}*")) and not os.listdir(places["disk"])


def test_cli_finetune_disk_full_while_saving_leaves_no_model_folder(bert_dir, tmp_path, capsys, monkeypatch):
    """The disk fills up after the weights are written, while the tokenizer is saved (tokenizers reports it as a
    plain Exception '… (os error 28)', as measured on a tmpfs): one line, and no folder at --out that could load."""
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    def full_disk(self, folder, *args, **kwargs):
        (Path(folder) / "tokenizer.json").write_bytes(b'{"trunc')
        raise Exception("No space left on device (os error 28)")
    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", full_disk)
    (tmp_path / "train.txt").write_text("the cat sat on the mat and the dog ran to the red house . " * 300)
    out = tmp_path / "model"
    assert main(["finetune", str(tmp_path / "train.txt"), "--model", str(bert_dir), "--max-steps", "2", "--out",
                 str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (f"error: Cannot write the fine-tuned model to '{out}': the disk is full — free some space on "
                       "that disk or choose a folder on another one.")
    assert "Traceback" not in "".join(err) and os.listdir(tmp_path) == ["train.txt"]
