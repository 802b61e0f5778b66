"""The Layers page in a real browser: a deep link restores the text, the mask and the switched-off heads, and the
address follows the user's changes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from test_browser import browser, open_view, page, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

TEXT = "The cat sat on the [MASK] near the [MASK]."


def test_deep_link_restores_switched_off_heads_and_follows_changes(page, server):  # noqa: F811
    open_view(page, server, page="layers", model="demo", text=TEXT, mask="2", heads="2.9,6.11")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    chips = page.locator("[data-testid='stMultiSelect'] .react-aria-ComboBox [data-tag]")
    assert chips.all_inner_texts() == ["2.9", "6.11"]
    assert page.get_by_text("The top words with every head, and with 2 heads off:").count() == 1
    assert page.get_by_text("P, heads off").count() >= 1
    for title in (
        "1 · Layer by layer",
        "2 · Which heads it needs",
        "3 · Switch heads off",
        "4 · Where the mask's information comes from",
    ):
        assert page.get_by_role("heading", name=title).count() == 1
    # removing one head updates the table and the address
    page.get_by_role("button", name="Remove 6.11").last.click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('heads') === '2.9'")
    page.wait_for_timeout(500)
    query = parse_qs(urlparse(page.url).query)
    assert query["heads"] == ["2.9"] and query["mask"] == ["2"] and query["text"] == [TEXT]
    assert page.get_by_text("The top words with every head, and with 1 head off:").count() == 1


def test_a_typed_word_is_followed_and_kept_in_the_address(page, server):  # noqa: F811
    """Typing 'nurse' (not among the top words) into the picker: its lines and head scan, and ?target=nurse."""
    open_view(page, server, page="layers", model="demo", text="The woman worked as a [MASK] .")
    picker = page.locator("[data-testid='stSelectbox']").filter(has_text="Word to follow")
    picker.locator("input").click()
    page.keyboard.type("nurse")
    page.keyboard.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('target') === 'nurse'")
    page.get_by_text("'nurse' layer by layer as a table").wait_for()
    page.get_by_text("how much log P('nurse') changes").wait_for()
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
