"""The refusals of event ingestion: each a ``repayguard.errors.RepayguardError``, the one base."""

from __future__ import annotations

from repayguard.errors import InvalidInput


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"
    http_status = 413


class UnreadableFile(InvalidInput):
    code = "unreadable_file"
