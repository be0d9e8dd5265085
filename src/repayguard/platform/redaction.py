"""Log redaction: a structlog processor that keeps personal data and registered secrets out."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from repayguard.platform.crypto import Pseudonymizer

REDACTED: Final = "[redacted]"

PERSONAL_KEYS: Final = frozenset(
    {
        "name",
        "full_name",
        "phone",
        "phone_number",
        "mobile",
        "national_id",
        "id_number",
        "id_card",
        "email",
        "address",
        "region",
        "birth_year",
        "password",
        "token",
        "secret",
        "secret_key",
        "authorization",
    }
)
"""Keys whose values are personal data or credentials: dropped wherever they appear."""

BORROWER_KEYS: Final = frozenset({"borrower_id", "borrower_ids", "borrower"})
"""Keys that name borrowers: replaced by keyed pseudonyms (still joinable, not readable)."""

# Personal data that can hide in free text: mainland mobile numbers, resident ID numbers and
# E.164 numbers, each standing alone (not inside a longer token such as a hex id).
_PATTERNS: Final = re.compile(
    r"(?<![0-9A-Za-z])(?:1[3-9]\d{9}|\d{17}[\dXx]|\+\d{7,15})(?![0-9A-Za-z])"
)
_MIN_SENSITIVE = 4  # shorter registered values would redact ordinary words


class SensitiveValues:
    """Exact values that must never reach a log (secrets, tokens, a test's canaries).

    Registered by whoever holds them (bootstrap registers the configured secrets); the
    redactor replaces each occurrence inside any logged string. Thread-safe.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if len(value) < _MIN_SENSITIVE:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                if not self._values:
                    return text
                ordered = sorted(self._values, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return pattern.sub(REDACTED, text)

    def __len__(self) -> int:
        return len(self._values)


def scrub_text(text: str, sensitive: SensitiveValues | None = None) -> str:
    """``text`` with registered values and personal-data patterns replaced by [redacted]."""
    if sensitive is not None:
        text = sensitive.scrub(text)
    return _PATTERNS.sub(REDACTED, text)


class Redactor:
    """structlog processor: place it after ``format_exc_info`` and before the renderer.

    Values under personal keys become ``[redacted]``; borrower ids become keyed pseudonyms
    (or ``[redacted]`` without a pseudonymizer); every string, exception text included, is
    scrubbed of registered sensitive values and of phone and ID-number patterns.
    """

    def __init__(
        self,
        *,
        pseudonymizer: Pseudonymizer | None = None,
        sensitive: SensitiveValues | None = None,
    ) -> None:
        self._pseudonymizer = pseudonymizer
        self._sensitive = sensitive

    def __call__(self, _logger: Any, _method: str, event_dict: Any) -> Any:
        return {key: self._value(key, value) for key, value in event_dict.items()}

    def _value(self, key: str, value: Any) -> Any:
        lowered = key.lower()
        if lowered == "exc_info":  # formatted (and then scrubbed) by format_exc_info, earlier
            return value
        if lowered in PERSONAL_KEYS:
            return REDACTED
        if lowered in BORROWER_KEYS:
            return self._borrower(value)
        return self._walk(value)

    def _borrower(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._pseudonymizer.pseudonym(value) if self._pseudonymizer else REDACTED
        if isinstance(value, list | tuple | set | frozenset):
            return [self._borrower(v) for v in value]
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return scrub_text(value, self._sensitive)
        if isinstance(value, Mapping):
            return {str(k): self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._walk(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return scrub_text(str(value), self._sensitive)
