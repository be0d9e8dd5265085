"""Errors of the ZEN expression language: a syntax error, a refused construct, a runtime error."""

from __future__ import annotations


class ZenError(ValueError):
    """Base of every ZEN expression error; ``source`` is the expression text when known."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        if self.source is None:
            return self.message
        return f"{self.message} in {self.source!r}"


class ZenSyntaxError(ZenError):
    """An expression that zen-engine would not parse either.

    ``position`` is the 0-based character offset of the problem, ``expected`` what the parser
    wanted there (None when the problem is not a missing token).
    """

    def __init__(
        self,
        message: str,
        *,
        position: int,
        expected: str | None = None,
        source: str | None = None,
    ) -> None:
        detail = f"{message} at position {position}"
        if expected is not None:
            detail += f" (expected {expected})"
        super().__init__(detail, source=source)
        self.position = position
        self.expected = expected
        self.reason = message


class ZenUnsupported(ZenError):
    """A construct repayguard does not evaluate (``construct`` names it), refused rather than
    evaluated with results that could differ from zen-engine's."""

    def __init__(self, construct: str, reason: str, *, source: str | None = None) -> None:
        super().__init__(f"{construct} is not supported: {reason}", source=source)
        self.construct = construct
        self.reason = reason


class ZenEvaluationError(ZenError):
    """An expression that fails on the given values, where zen-engine fails too (a comparison
    of a string with a number, ``len(null)``, a condition that is not a boolean, ...)."""
