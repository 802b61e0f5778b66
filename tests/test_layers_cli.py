"""``layers``, ``ablate`` and ``heads`` on the command line: the documented JSON shapes, 1-based layers and heads,
and exit code 2 with one line for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mlm_core
from mlm_core.cli import main
from mlm_core.tasks.head_scan import head_importance

TEXT = "The [MASK] sat on the mat and looked at the [MASK] outside."


def run_json(capsys, *args: str) -> dict:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_layers_json_shape(capsys, bert_dir, bert):
    data = run_json(capsys, "layers", TEXT, "--model", str(bert_dir), "--top-k", "3", "--json")
    assert set(data) == {"model", "text", "masks"} and data["text"] == TEXT
    prediction = mlm_core.predict(bert, TEXT, top_k=3)
    for mask, predicted in zip(data["masks"], prediction.masks):
        assert set(mask) == {"index", "position", "layers", "rollout"}
        assert (mask["index"], mask["position"]) == (predicted.index, predicted.position)
        assert [layer["layer"] for layer in mask["layers"]] == list(range(bert.num_layers + 1))
        for layer in mask["layers"]:
            assert set(layer) == {"layer", "predictions", "final_token_rank", "final_token_probability"}
            assert len(layer["predictions"]) == 3
            assert all(set(p) == {"token", "token_id", "probability"} for p in layer["predictions"])
        last = mask["layers"][-1]
        assert [p["token_id"] for p in last["predictions"]] == [c.token_id for c in predicted.candidates]
        assert last["final_token_rank"] == 1
        assert len(mask["rollout"]) == len(prediction.tokens)
        assert sum(entry["value"] for entry in mask["rollout"]) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_ablate_json_shape(capsys, bert_dir, bert):
    data = run_json(capsys, "ablate", TEXT, "--model", str(bert_dir), "--heads", "2.1,1.2", "--top-k", "4", "--json")
    assert set(data) == {"model", "text", "heads", "masks"}
    assert data["heads"] == [[1, 2], [2, 1]]
    assert [mask["index"] for mask in data["masks"]] == [0, 1]
    for mask in data["masks"]:
        assert set(mask) == {"index", "intact", "ablated"}
        assert len(mask["intact"]) == len(mask["ablated"]) == 4
        assert all(set(p) == {"token", "token_id", "probability"} for p in mask["intact"] + mask["ablated"])
    assert [p["token_id"] for p in data["masks"][0]["intact"]] == [
        c.token_id for c in mlm_core.predict(bert, TEXT, top_k=4).masks[0].candidates
    ]


@pytest.mark.slow
def test_heads_json_shape(capsys, bert_dir, bert):
    data = run_json(capsys, "heads", TEXT, "--model", str(bert_dir), "--mask", "2", "--target", "the", "--json")
    assert set(data) == {"model", "text", "mask", "target", "baseline_log_prob", "heads", "layers"}
    assert data["mask"] == 1 and data["target"] == "the"
    assert [(h["layer"], h["head"]) for h in data["heads"]] == [
        (layer, head) for layer in range(1, bert.num_layers + 1) for head in range(1, bert.num_heads + 1)
    ]
    assert [entry["layer"] for entry in data["layers"]] == list(range(1, bert.num_layers + 1))
    scan = head_importance(bert, TEXT, mask_index=1, target="the")
    np.testing.assert_allclose([h["delta_log_prob"] for h in data["heads"]], scan.head_deltas.ravel(), atol=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (("layers", "No mask here."), "No [MASK] in the text"),
        (("ablate", TEXT, "--heads", "99.1"), "There is no head 99.1"),
        (("ablate", TEXT, "--heads", "abc"), "'abc' is not a head"),
        (("heads", TEXT, "--target", "qwertyuiopasdf"), "is not one token for this model"),
        (("heads", TEXT, "--mask", "0"), "Mask number 0 was asked for, but the text has 2 masks"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, bert_dir, args, message):
    assert main([*args, "--model", str(bert_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
