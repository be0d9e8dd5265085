"""Checksums of the state a restore must reproduce: entitlements and the decision log.

Each table is read in primary-key order and every row hashed as canonical JSON, so two stores
of the same kind holding the same rows give the same digest whatever order the rows were
written in. The audit chain needs no checksum of its own: its head hash already commits to
every record, and ``audit verify`` checks it against the signed checkpoints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Connection, text

CHECKED: Final = {
    "entitlements": ("borrower_id", "loan_scope"),
    "decisions": ("decision_id",),
    "decision_repeats": ("id_prefix",),
}
"""The tables a restore must reproduce row for row, with the key they are read in order of."""


@dataclass(frozen=True, slots=True)
class TableChecksum:
    """How many rows a table holds and the SHA-256 over them in key order."""

    rows: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.sha256}


def store_checksums(connection: Connection) -> dict[str, TableChecksum]:
    """The checksum of every table in :data:`CHECKED`, read on ``connection`` (inside its
    transaction, so a backup's checksums describe exactly the snapshot it dumps)."""
    return {table: _checksum(connection, table, key) for table, key in CHECKED.items()}


def _checksum(connection: Connection, table: str, key: tuple[str, ...]) -> TableChecksum:
    digest = hashlib.sha256()
    rows = 0
    result = connection.execution_options(yield_per=5_000).execute(
        text(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
    )
    columns = sorted(result.keys())
    for row in result.mappings():
        digest.update(
            orjson.dumps([row[c] for c in columns], default=str, option=orjson.OPT_SORT_KEYS)
        )
        digest.update(b"\n")
        rows += 1
    return TableChecksum(rows, digest.hexdigest())
