import io
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mlm_core.cli import main
from mlm_core.tasks.attention import (
    AttentionResult,
    attention,
    diagram_filename,
    matrix_frame,
    npz_bytes,
    summarise_heads,
    zip_all_diagrams,
)
from mlm_core.tasks.diagrams import DiagramRenderer, cjk_font_path, font_for


def test_tokens_match_the_tokenizer_and_rows_sum_to_one(bert):
    text = "The cat sat on the [MASK]."
    result = attention(bert, text)
    assert result.tokens == tuple(bert.tokenizer.convert_ids_to_tokens(bert.tokenizer(text)["input_ids"]))
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    assert result.weights.shape == (2, 2, len(result.tokens), len(result.tokens))
    np.testing.assert_allclose(result.weights.sum(-1), 1.0, atol=1e-5)
    assert result.special.tolist() == [True] + [False] * (len(result.tokens) - 2) + [True]


def test_diagram_grid_has_one_cell_per_pair_with_the_weights_brightness():
    tokens = ["[CLS]", "a", "b", "c", "[SEP]"]
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=5)
    renderer = DiagramRenderer(tokens, cell_size=20)
    image = np.asarray(renderer.render(weights))
    offset, cell = renderer.style.label_width, renderer.style.cell_size
    assert image.shape == (offset + 5 * cell,) * 2
    grid = image[offset:, offset:].reshape(5, cell, 5, cell)
    assert (grid == grid[:, :1, :, :1]).all()  # every cell is one flat colour: exactly T×T cells
    brightness = grid[:, 0, :, 0].astype(float)
    np.testing.assert_array_equal(brightness, np.rint(weights * 255))
    assert (
        np.argsort(brightness.ravel(), kind="stable") == np.argsort(np.rint(weights * 255).ravel(), kind="stable")
    ).all()


def test_diagram_rejects_a_matrix_that_does_not_fit_its_tokens():
    with pytest.raises(ValueError, match=r"attention matrix is \(3, 3\), but there are 2 tokens: \['a', 'b'\]"):
        DiagramRenderer(["a", "b"]).render(np.eye(3))


def test_diagram_size_adapts_from_5_to_128_tokens():
    assert DiagramRenderer([f"t{i}" for i in range(5)]).style.cell_size == 40
    big = DiagramRenderer([f"t{i}" for i in range(128)])
    assert big.style.cell_size == 12 and big.size < 1800


def planted(tokens: list[str]) -> AttentionResult:
    n = len(tokens)
    eye = np.eye(n)
    heads = [np.roll(eye, -1, axis=1), np.roll(eye, 1, axis=1), eye]  # previous, next, self
    heads.append(np.tile(np.eye(n)[0], (n, 1)))  # [CLS]
    heads.append(np.tile(np.eye(n)[n - 1], (n, 1)))  # [SEP]
    punctuation = np.zeros(n)
    punctuation[[i for i, t in enumerate(tokens) if t in {",", "."}]] = 1
    heads.append(np.tile(punctuation / punctuation.sum(), (n, 1)))
    heads.append(np.full((n, n), 1 / n))  # uniform
    heads.append(np.tile(np.eye(n)[2], (n, 1)))  # always the same content word: no pattern, low entropy
    weights = np.stack(heads)[None].astype(np.float32)
    special = np.asarray([t in {"[CLS]", "[SEP]"} for t in tokens])
    return AttentionResult("planted", " ".join(tokens), tuple(tokens), weights, special)


def test_planted_patterns_get_their_labels():
    tokens = ["[CLS]", "the", "cat", ",", "the", "dog", "and", "a", "bird", ".", "[SEP]"]
    labels = [s.label for s in summarise_heads(planted(tokens))]
    assert labels == ["previous token", "next token", "self", "[CLS]", "[SEP]", "punctuation", "broad", "other"]
    summaries = summarise_heads(planted(tokens))
    assert summaries[2].entropy == pytest.approx(0.0, abs=1e-6)
    assert summaries[6].entropy == pytest.approx(np.log2(len(tokens)), rel=1e-5)
    assert [(s.layer, s.head) for s in summaries[:2]] == [(1, 1), (1, 2)]


def test_cjk_tokens_are_drawn_as_glyphs_not_boxes():
    assert cjk_font_path() is not None
    font = font_for("猫", 40)
    assert font_for("cat", 40) is font  # one font for Latin and CJK tokens

    def drawn(text):
        image = Image.new("L", (60, 60))
        ImageDraw.Draw(image).text((5, 5), text, fill=255, font=font)
        return np.asarray(image)

    missing_glyph_box = drawn("\U000f0000")  # a private-use character no font has: the .notdef box
    for token in ("猫", "が", "好"):
        assert drawn(token).any() and not np.array_equal(drawn(token), missing_glyph_box)
    assert not np.array_equal(drawn("猫"), drawn("好"))


def test_zip_holds_every_head_as_a_png(bert):
    result = attention(bert, "the cat sat")
    with zipfile.ZipFile(io.BytesIO(zip_all_diagrams(result))) as archive:
        names = archive.namelist()
        assert names == [diagram_filename(layer, head) for layer in (1, 2) for head in (1, 2)]
        assert names[0] == "Attention_Layer1_Head1.png"
        image = Image.open(io.BytesIO(archive.read(names[-1])))
        assert image.format == "PNG" and image.size[0] == image.size[1]


def test_matrix_exports(bert):
    result = attention(bert, "the cat sat")
    frame = matrix_frame(result, 2, 1)
    assert len(frame) == 25 and frame["weight"].sum() == pytest.approx(5.0, abs=1e-4)
    assert frame.iloc[1][["query_token", "key_token"]].tolist() == ["[CLS]", "the"]
    loaded = np.load(io.BytesIO(npz_bytes(result)))
    np.testing.assert_array_equal(loaded["attentions"], result.weights)
    assert loaded["tokens"].tolist() == list(result.tokens)


@pytest.mark.slow
def test_cli_writes_one_file_per_head(bert_dir, tmp_path, capsys):
    assert (
        main(["attention", "The cat sat on the [MASK].", "--model", str(bert_dir), "--out", str(tmp_path), "--json"])
        == 0
    )
    data = __import__("json").loads(capsys.readouterr().out)
    assert data["files"] == 4 and len(list(tmp_path.glob("Attention_Layer*_Head*.png"))) == 4
    assert data["tokens"][0] == "[CLS]"
    assert {(h["layer"], h["head"]) for h in data["heads"]} == {(1, 1), (1, 2), (2, 1), (2, 2)}


def test_label_font_is_configurable_with_per_token_fallback():
    import matplotlib

    dejavu = str(__import__("pathlib").Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    assert font_for("cat", 20, dejavu).path == dejavu
    assert font_for("猫", 20, dejavu).path != dejavu  # DejaVu has no CJK glyphs: this token falls back
    renderer = DiagramRenderer(["cat", "dog"], font_path=dejavu, cell_size=30, label_width=120, font_size=14)
    assert (renderer.style.cell_size, renderer.style.label_width, renderer.style.font_size) == (30, 120, 14)
    assert renderer.size == 120 + 2 * 30
