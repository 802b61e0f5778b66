"""``python -m mlm_core probe``: the JSON schema, and every bad input as exit 2 with one line naming the row."""

import io
import json

import pytest

from mlm_core.cli import main
from mlm_core.tasks.probe import probe
from mlm_core.tasks.probe_files import read_probe_rows

ROWS = "sentence,word,label\n" + "".join(
    f"the {noun} sat on the mat .,{noun},{label}\n"
    for noun, label in [
        ("cat", "animal"),
        ("dog", "animal"),
        ("man", "person"),
        ("woman", "person"),
        ("child", "person"),
    ]
    * 3
)


def test_json_has_the_documented_keys_and_the_cores_numbers(bert_dir, bert, tmp_path, capsys):
    path = tmp_path / "animals.csv"
    path.write_text(ROWS)
    assert main(["probe", str(path), "--model", str(bert_dir), "--folds", "3", "--seed", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["model", "task", "rows", "labels", "majority", "layers"]
    assert data["model"] == str(bert_dir) and data["task"] == "animals" and data["rows"] == 15
    assert data["labels"] == {"animal": 6, "person": 9} and data["majority"] == pytest.approx(0.6)
    expected = probe(bert, read_probe_rows(ROWS.encode()), folds=3, seed=2)
    assert data["layers"] == [
        {
            "layer": s.layer,
            "accuracy": pytest.approx(s.accuracy),
            "control_accuracy": pytest.approx(s.control_accuracy),
            "selectivity": pytest.approx(s.selectivity),
        }
        for s in expected.layers
    ]


def test_text_output_has_the_table_and_the_reading(bert_dir, tmp_path, capsys):
    path = tmp_path / "animals.tsv"
    path.write_text(ROWS.replace(",", "\t"))
    assert main(["probe", str(path), "--model", str(bert_dir), "--folds", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("animals: 15 rows, labels animal 6, person 9; majority baseline 0.600")
    assert out[1].split() == ["layer", "accuracy", "control_accuracy", "selectivity"]
    assert out[-1].startswith("The label ")


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "sentence,word,label\nthe cat sat .,cat,a\nthe dog sat .,horse,b\n",
            "line 3: the word 'horse' cannot be probed — it is not in the sentence 'the dog sat .'",
        ),
        ("sentence,word,label\nthe cat sat .,cat,a\nthe dog sat .,dog,a\n", "has one label only ('a' on every row)"),
        (
            "sentence,word,label\n" + "the cat sat .,cat,a\n" * 5 + "the dog sat .,dog,b\n" * 2,
            "label 'b' has 2 rows, fewer than the 5 folds",
        ),
        ("", "is empty"),
        (b"\x00\x01binary", "looks binary"),
        ("sentence,label\nthe cat sat .,a\n", "has no 'word' column"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["probe", str(path), "--model", "no-such/model"]) == 2  # refused before any model loads
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and message in lines[0] and "Traceback" not in captured.err


def test_unknown_task_names_the_shipped_ones(capsys):
    assert main(["probe", "en-no-such-task", "--model", "demo"]) == 2
    assert "or a shipped task's name" in capsys.readouterr().err


def test_standard_input_is_read_and_named_in_messages(monkeypatch, capsys):
    bad = b"sentence,word,label\nthe cat sat .,cat,a\nthe dog sat .,dog,b,x\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(bad.replace(b",x", b",dog"))))
    assert main(["probe", "-", "--model", "demo", "--folds", "1"]) == 2
    assert (
        "The 'folds' parameter of probe must be an int in the range [2, 20]. Got 1 instead." in capsys.readouterr().err
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"sentence,word,label\nthe cat sat .,dog,a\n")))
    assert main(["probe", "-", "--model", "demo"]) == 2
    assert capsys.readouterr().err.startswith("error: Standard input, line 2: the word 'dog' cannot be probed")
