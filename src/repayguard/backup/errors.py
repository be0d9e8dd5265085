"""The refusals of backup and restore.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import RepayguardError


class BackupInvalid(RepayguardError):
    """A folder given to restore is not a complete, intact repayguard backup."""

    code = "backup_invalid"
    http_status = 422


class RestoreRefused(RepayguardError):
    """A restore would overwrite a store, key or checkpoint folder that is not empty, or the
    backup is of another kind of database."""

    code = "restore_refused"
    http_status = 409


class BackupToolMissing(RepayguardError):
    """PostgreSQL's pg_dump / pg_restore is not installed where the command runs."""

    code = "backup_tool_missing"
    http_status = 503


class BackupFailed(RepayguardError):
    """PostgreSQL's pg_dump or pg_restore failed; its own message says why."""

    code = "backup_failed"
    http_status = 503
