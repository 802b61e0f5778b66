"""A model folder written by ``python -m mlm_core finetune`` opens in the dashboard: Predict shows its predictions
(equal to the core's on the same folder, the reference) and the Fine-tune page accepts it as the model to tune."""

import pytest
from test_app import DEFAULT_TEXT, open_app
from training_support import write_corpus

from mlm_core import load_model, predict
from mlm_core.cli import main


@pytest.mark.slow
def test_a_folder_written_by_the_cli_opens_in_predict_and_fine_tune(bert_dir, model_root, tmp_path, capsys):
    out = model_root / "cli-finetuned"  # inside MLM_EXPLORER_MODEL_ROOTS, as a server would require
    corpus = write_corpus(tmp_path / "corpus.txt", 300)
    assert (
        main(
            [
                "finetune",
                str(corpus),
                "--model",
                str(bert_dir),
                "--out",
                str(out),
                "--block-length",
                "32",
                "--max-steps",
                "4",
                "--checkpoint-dir",
                str(tmp_path / "checkpoints"),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    expected = predict(load_model(str(out)), DEFAULT_TEXT, top_k=5).masks[0].candidates

    at = open_app(str(out))
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table["token"].tolist() == [candidate.token for candidate in expected]

    at = open_app(str(out), page="finetune")
    at.radio(key="finetune_source").set_value("Paste text").run()
    at.text_area(key="finetune_text").set_value(corpus.read_text(encoding="utf-8")).run()
    assert not at.exception and not at.error
    assert "Estimated time: about" in " ".join(block.value for block in at.markdown)  # planned on the CLI's model
