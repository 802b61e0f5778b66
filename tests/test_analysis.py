import numpy as np
import pytest
import tensorflow as tf

import mlm_core
from mlm_core import InputError, analyze, encode
from mlm_core.forward import LENGTH_BUCKETS
from mlm_core.programs import ProgramKey


def eager_outputs(mlm, input_ids):
    """The model called plainly (no padding, no compilation) as a reference."""
    out = mlm.model(
        input_ids=tf.constant([input_ids]), output_attentions=True, output_hidden_states=True, training=False
    )
    return (
        tf.nn.log_softmax(out.logits[0], axis=-1).numpy(),
        np.stack([a[0] for a in out.attentions]),
        np.stack([h[0] for h in out.hidden_states]),
    )


@pytest.mark.slow
def test_one_pass_gives_tokens_masks_attentions_and_hidden_states(bert):
    analysis = analyze(bert, "The cat sat on the [MASK] .")
    assert analysis.tokens == ("[CLS]", "the", "cat", "sat", "on", "the", "[MASK]", ".", "[SEP]")
    assert analysis.mask_positions == (6,)
    T, V = 9, bert.tokenizer.vocab_size
    assert analysis.mask_log_probs.shape == (1, V)
    assert analysis.attentions.shape == (2, 2, T, T)
    assert analysis.hidden_states.shape == (3, T, 32)
    np.testing.assert_allclose(analysis.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.exp(analysis.mask_log_probs).sum(-1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_analysis_is_memoised_and_read_only(bert):
    first = analyze(bert, "a [MASK] day")
    assert analyze(bert, "a [MASK] day") is first
    with pytest.raises(ValueError):
        first.attentions[0, 0, 0, 0] = 1.0


@pytest.mark.slow
@pytest.mark.parametrize("model_name", ["bert", "camembert"])
@pytest.mark.parametrize("n_words", [3, 14, 40])  # lands in the 16, 24 and 48 buckets: padding is exercised
def test_padded_compiled_pass_matches_plain_eager_call(request, model_name, n_words):
    mlm = request.getfixturevalue(model_name)
    text = " ".join(["cat"] * n_words) + " [MASK] [MASK] ."
    analysis = analyze(mlm, text)
    assert len(analysis.tokens) not in LENGTH_BUCKETS
    log_probs, attentions, hidden = eager_outputs(mlm, list(analysis.encoding.input_ids))
    np.testing.assert_allclose(analysis.mask_log_probs, log_probs[list(analysis.mask_positions)], atol=1e-4)
    np.testing.assert_allclose(analysis.attentions, attentions, atol=1e-5)
    np.testing.assert_allclose(analysis.hidden_states, hidden, atol=1e-4)


def test_user_mask_is_mapped_to_camembert_mask(camembert):
    typed_ours = encode(camembert, "the cat sat on the [MASK] .")
    typed_theirs = encode(camembert, "the cat sat on the <mask> .")
    assert typed_ours.input_ids == typed_theirs.input_ids
    assert typed_ours.tokens[typed_ours.mask_positions[0]] == "<mask>"
    assert typed_ours.mask_spans == ((19, 25),)


@pytest.mark.slow
def test_text_without_mask_is_fine_for_analysis_but_not_when_required(bert):
    assert analyze(bert, "the cat sat").mask_log_probs.shape == (0, bert.tokenizer.vocab_size)
    with pytest.raises(InputError, match=r"No \[MASK\] in the text — add one, e.g. 'Paris is the \[MASK\] of France.'"):
        encode(bert, "the cat sat", require_mask=True)


def test_other_models_mask_spelling_gets_a_hint(bert):
    with pytest.raises(InputError, match=r"this model's mask is written \[MASK\], in that exact spelling"):
        encode(bert, "the <mask> sat", require_mask=True)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text(bert, text):
    with pytest.raises(InputError, match="The text is empty"):
        encode(bert, text)


def test_too_long_text_names_both_lengths(bert):
    with pytest.raises(InputError, match=r"The text is 202 tokens long but model '.*' reads at most 128 — shorten"):
        encode(bert, "cat " * 200)


@pytest.mark.slow
def test_a_distilbert_pass_equals_its_own_call():
    """Reference: the model's own call. DistilBERT's head (vocab_transform, norm, projector) runs through its
    family adapter at the gathered positions."""
    from transformers import DistilBertConfig, TFDistilBertForMaskedLM

    from mlm_core.forward import CompiledForward

    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=20, max_position_embeddings=40)
    tf.keras.utils.set_random_seed(1)
    model = TFDistilBertForMaskedLM(config)
    ids = [2, 7, 9, 4, 11, 3]
    forward = CompiledForward(model, pad_id=0, max_length=40)
    result = forward([ids], [[1, 4]], internals=True)
    expected = tf.nn.log_softmax(model(input_ids=tf.constant([ids])).logits[0]).numpy()[[1, 4]]
    np.testing.assert_allclose(result.log_probs[0], expected, atol=1e-4)
    assert result.attentions.shape == (1, 1, 2, 6, 6) and result.hidden_states.shape == (1, 2, 6, 16)


def test_word_groups_join_pieces_of_one_word_and_leave_out_specials_and_skipped_positions():
    """Against groupings worked out by hand for a [CLS] w0 w1 w1 w1 [MASK]=w2 w3 w3 [SEP] sequence."""
    from mlm_core.analysis import word_groups, word_starts

    word_ids = [None, 0, 1, 1, 1, 2, 3, 3, None]
    assert word_groups(word_ids) == ((1,), (2, 3, 4), (5,), (6, 7))
    assert word_groups(word_ids, skip={5}) == ((1,), (2, 3, 4), (6, 7))
    assert word_groups(word_ids, specials=True) == ((0,), (1,), (2, 3, 4), (5,), (6, 7), (8,))
    assert word_groups([0, 0, None, 0]) == ((0, 1), (3,))  # a special token ends a word even if ids repeat
    assert word_starts(word_ids) == [True, True, True, False, False, True, True, False, True]


def test_encoding_word_groups_match_the_tokenizer_words(bert):
    """The tokenizer's own word split ('mother' is several pieces in the tiny vocabulary) read back as text."""
    from mlm_core.analysis import word_groups

    encoding = encode(bert, "my mother went home [MASK]")
    groups = word_groups(encoding.word_ids, skip=set(encoding.mask_positions))
    words = [bert.tokenizer.convert_tokens_to_string([encoding.tokens[p] for p in group]).strip() for group in groups]
    assert words == ["my", "mother", "went", "home"]


def test_the_memo_belongs_to_its_model_and_can_be_turned_off(bert):
    """A memoised text is neither tokenised nor run again; a copy of the model has its own memo; size 0 keeps
    nothing; a model that is dropped takes its memo with it."""
    import gc
    import weakref
    from dataclasses import replace

    from mlm_core.analysis import _MEMOS, set_memo_size

    calls = []

    def counting_forward(rows, positions, *, internals=False):
        calls.append(len(rows))
        return bert.forward(rows, positions, internals=internals)

    model = replace(bert, forward=counting_forward)
    first = analyze(model, "the cat sat on the [MASK] .")
    assert analyze(model, "the cat sat on the [MASK] .") is first and calls == [1]
    with pytest.raises(InputError, match="No \\[MASK\\]"):
        analyze(model, "no mask here", require_mask=True)
    assert calls == [1]  # refused before the model ran
    set_memo_size(model, 0)
    assert analyze(model, "the cat sat on the [MASK] .") is not first and calls == [1, 1]
    reference = weakref.ref(model)
    before = len(_MEMOS)
    del model, first
    gc.collect()
    assert reference() is None and len(_MEMOS) == before - 1


@pytest.mark.slow
def test_background_compilation_answers_at_once_then_uses_the_compiled_program(bert_dir):
    """Against the synchronously compiled pass of the same weights: the first call (run eagerly; the program
    compiles once the model is idle) agrees to 1e-5; once compiled, calls agree to 1e-6 and no compilation is
    left running."""
    reference = mlm_core.load_model(str(bert_dir), jit_compile=True)
    background = mlm_core.load_model(str(bert_dir), jit_compile=True)
    background.forward.programs.compile_in_background = True
    encoding = encode(reference, "the cat sat on the [MASK] near the door .")
    rows, positions = [encoding.input_ids], [encoding.mask_positions]
    expected = reference.forward(rows, positions, internals=True)
    first = background.forward(rows, positions, internals=True)
    assert not background.forward.programs.compiled()  # compiling waits until the model has been idle for a second
    for got, want in zip(
        (first.log_probs, first.attentions, first.hidden_states),
        (expected.log_probs, expected.attentions, expected.hidden_states),
    ):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert background.forward.programs.wait_until_compiled(120)
    assert len(background.forward.programs.compiled()) == 1
    later = background.forward(rows, positions, internals=True)
    np.testing.assert_allclose(later.log_probs, expected.log_probs, atol=1e-6)
    np.testing.assert_allclose(later.hidden_states, expected.hidden_states, atol=1e-6)


@pytest.mark.parametrize("model_name", ["bert", "camembert"])
def test_last_layer_at_the_gathered_positions_only_equals_the_models_full_call(request, model_name):
    """Reference: the model's own call (every layer at every position), gathered afterwards. Our path runs the
    last layer's queries and feed-forward block at the gathered positions only; rows carry padding."""
    from mlm_core.architecture import head_masked_logits

    mlm = request.getfixturevalue(model_name)
    texts = ["the cat sat on the [MASK] .", "a [MASK] day in the [MASK] garden of the old house ."]
    encoded = [list(encode(mlm, text).input_ids) for text in texts]
    length = max(map(len, encoded))
    ids = np.asarray([row + [mlm.tokenizer.pad_token_id] * (length - len(row)) for row in encoded], np.int32)
    mask = np.asarray([[1] * len(row) + [0] * (length - len(row)) for row in encoded], np.int32)
    positions = np.asarray([[1, 6], [2, 7]], np.int32)
    ours = head_masked_logits(mlm.model, tf.constant(ids), tf.constant(mask), tf.constant(positions)).numpy()
    full = mlm.model(input_ids=tf.constant(ids), attention_mask=tf.constant(mask), training=False).logits.numpy()
    np.testing.assert_allclose(ours, np.take_along_axis(full, positions[:, :, None], axis=1), atol=1e-5)


@pytest.mark.slow
def test_many_rows_run_at_their_exact_length_through_one_program(bert_dir):
    """Reference: a plain eager model call per row. Calls of more than 8 rows are not padded (no length or batch
    bucket) and every such call, whatever its length and row count, reuses one traced program."""
    mlm = mlm_core.load_model(str(bert_dir))
    outputs = {}
    for n_words, n_rows in ((5, 20), (9, 70)):
        base = list(encode(mlm, " ".join(["cat", "dog", "sat"] * 3)[: 4 * n_words] + " [MASK] .").input_ids)
        rows = [
            base[:1] + [base[1 + (k + j) % (len(base) - 2)] for j in range(len(base) - 2)] + base[-1:]
            for k in range(n_rows)
        ]
        position = rows[0].index(mlm.tokenizer.mask_token_id) if mlm.tokenizer.mask_token_id in rows[0] else 1
        outputs[n_rows] = mlm.forward(rows, [[position]] * n_rows).log_probs[:, 0]
        for k in (0, n_rows // 2, n_rows - 1):
            logits = mlm.model(input_ids=tf.constant([rows[k]]), training=False).logits[0, position]
            np.testing.assert_allclose(outputs[n_rows][k], tf.nn.log_softmax(logits).numpy(), atol=1e-5)
    assert mlm.forward.programs.compiled() == [ProgramKey("log_probs", any_shape=True)]
