"""Backup and restore of a whole store (database, keys, signed checkpoints, a manifest of
hashes), each restore proven by ``audit verify`` and checksums equal to the source's."""

from repayguard.backup.checksums import CHECKED, TableChecksum, store_checksums
from repayguard.backup.manifest import Manifest
from repayguard.backup.service import (
    BackupReport,
    BackupStore,
    RestoreReport,
    RestoreStore,
    backup_store,
    restore_store,
)

__all__ = [
    "CHECKED",
    "BackupReport",
    "BackupStore",
    "Manifest",
    "RestoreReport",
    "RestoreStore",
    "TableChecksum",
    "backup_store",
    "restore_store",
    "store_checksums",
]
