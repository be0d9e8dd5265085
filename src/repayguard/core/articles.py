"""The English indefinite article for a word put into a message ("an analyst", "a cs_agent")."""

from __future__ import annotations

from typing import Final

_SOUNDS_LIKE_YOU: Final = ("uni", "use", "usu", "uti")
"""Words spelt with a vowel that start with a consonant sound ("a unique", "a user")."""


def with_article(word: str) -> str:
    """``word`` after "a" or "an", chosen by its first letter: roles, kinds and input types are
    plain lowercase identifiers, so the spelling rule (and its "you" exceptions) is enough."""
    lowered = word.lower()
    vowel = lowered[:1] in ("a", "e", "i", "o", "u") and not lowered.startswith(_SOUNDS_LIKE_YOU)
    return f"{'an' if vowel else 'a'} {word}"
