"""Minimal pairs sent to Trace (``tasks.trace_pairs``): which pairs qualify, the texts they become, and the one-line
reason for each pair that does not. Reference: Trace's own input checks (``trace_inputs``) accept every text built
here, and the demo model's tokenizer decides the token counts."""

from __future__ import annotations

import pytest

from mlm_core.analysis import encode
from mlm_core.errors import InputError
from mlm_core.tasks.pair_files import list_suites, load_suite
from mlm_core.tasks.trace import trace_inputs
from mlm_core.tasks.trace_pairs import pair_for_trace

GOOD, BAD = "The children are in the garden.", "The children is in the garden."


def test_a_pair_hides_the_shared_word_nearest_the_change_and_trace_accepts_it(demo):
    traced = pair_for_trace(demo, GOOD, BAD)
    assert (traced.clean, traced.corrupt) == ("The [MASK] are in the garden.", "The [MASK] is in the garden.")
    assert traced.hidden == 1 and traced.hidden_word == "children" and traced.changed == ("are", "is")
    assert traced.summary() == (
        "Clean: `The [MASK] are in the garden.` · corrupted: `The [MASK] is in the garden.` (changed: 'are' → 'is')"
    )
    assert traced.choices == ((0, "The"), (1, "children"), (3, "in"), (4, "the"), (5, "garden"))
    inputs = trace_inputs(demo, traced.clean, traced.corrupt)  # same length, one mask at the same place
    assert inputs.position == 2


def test_another_shared_word_can_be_hidden_keeping_its_punctuation(demo):
    later = pair_for_trace(demo, GOOD, BAD, hide=5)
    assert (later.clean, later.corrupt) == ("The children are in the [MASK].", "The children is in the [MASK].")
    assert pair_for_trace(demo, GOOD, BAD, hide=3).clean == "The children are [MASK] the garden."


@pytest.mark.parametrize(
    "good, bad, hide, message",
    [
        (
            "We did not find any shells.",
            "We did find any shells.",
            None,
            "The sentences have 6 and 5 words — Trace copies states position by position, so it needs a pair "
            "that swaps one word for one word.",
        ),
        (
            "The dog sees the cats.",
            "The dogs see the cats.",
            None,
            "The sentences differ in 2 words ('dog'/'dogs', 'sees'/'see') — Trace follows one changed word; "
            "pick a pair that changes one.",
        ),
        (GOOD, GOOD, None, "The sentences are the same — there is no difference to trace."),
        (
            "She wrote a letter.",
            "She writed a letter.",
            None,
            "'wrote' and 'writed' are split into different numbers of tokens by model 'demo' (the sentences have 7 and "
            "8) — Trace copies states position by position and needs as many in each.",
        ),
        ("Yes.", "No.", None, "The sentences share no word that could be hidden"),
        (
            GOOD,
            BAD,
            2,
            "Word 2 cannot be hidden (it is the changed word or has no letters) — pick one of 0 (The), "
            "1 (children), 3 (in), 4 (the), 5 (garden).",
        ),
    ],
)
def test_pairs_that_cannot_be_traced_say_why_in_one_line(demo, good, bad, hide, message):
    with pytest.raises(InputError) as error:
        pair_for_trace(demo, good, bad, hide=hide)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_every_shipped_pair_either_lines_up_or_is_refused(demo):
    """Property over the suites: a traceable pair's two texts have as many tokens and one mask at the same place."""
    traced = 0
    for suite in list_suites():
        for pair in load_suite(suite.key)[1]:
            try:
                result = pair_for_trace(demo, pair.good, pair.bad)
            except InputError as error:
                assert "\n" not in str(error)
                continue
            clean, corrupt = (encode(demo, text) for text in (result.clean, result.corrupt))
            assert len(clean.input_ids) == len(corrupt.input_ids)
            assert len(clean.mask_positions) == 1 and clean.mask_positions == corrupt.mask_positions
            traced += 1
    assert traced > 100
