"""Messages name roles, token kinds and input types with the right article."""

from __future__ import annotations

import pytest

from repayguard.core.articles import with_article


@pytest.mark.parametrize(
    ("word", "phrase"),
    [
        ("analyst", "an analyst"),
        ("admin", "an admin"),
        ("approver", "an approver"),
        ("auditor", "an auditor"),
        ("cs_agent", "a cs_agent"),
        ("borrower", "a borrower"),
        ("service", "a service"),
        ("integer", "an integer"),
        ("number", "a number"),
        ("user", "a user"),
    ],
)
def test_the_article_fits_the_word(word: str, phrase: str) -> None:
    assert with_article(word) == phrase
