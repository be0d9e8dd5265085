"""Commits whose loss in a crash is harmless, returned before they reach the disk.

Every use-case commits durably (SQLite ``synchronous=FULL``, PostgreSQL's default), and that
wait for the disk (``fsync``, ≈ 10 ms a commit on the development machine) is a large part of
an online run's fixed cost (docs/scaling.md, *Online deciders*). Two kinds of transaction on
that path only record bookkeeping whose loss is absorbed by at-least-once delivery:

* the relay's marks that messages were published: a lost mark republishes the message, and
  consumers are idempotent;
* a consumer's processed-markers when its handler wrote nothing (a queue with nothing to
  withdraw): handled again, the message finds what it found the first time.

Both stores write their log in order, so a relaxed commit lost in a crash takes with it every
commit after it, never one before: the store comes back as it was at some earlier instant,
with the bookkeeping merely behind. SQLite (WAL) commits such a transaction with
``synchronous=NORMAL`` (durable against a process crash; an OS crash or power loss may lose
it), PostgreSQL with ``synchronous_commit = off`` for that transaction only.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.orm import Session

RELAXED: Final = "repayguard.relaxed_commit"
"""Set in a pooled SQLite connection's info while its next commit is relaxed; checking the
connection back in restores ``synchronous=FULL`` (:func:`restore_on_checkin`)."""


def wrote_nothing(session: Session) -> bool:
    """Whether the session's transaction has written nothing so far: no pending ORM change and
    no statement that wrote (SQLite opens its transaction at the first write; PostgreSQL
    assigns a transaction id at the first write)."""
    if session.new or session.dirty or session.deleted:
        return False
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection):
        return not raw.in_transaction
    return bool(connection.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NULL")))


def relax_commit(session: Session) -> bool:
    """Let the session's next commit return before it reaches the disk. Only for a transaction
    whose loss in a crash is harmless (the module's docstring says which). Returns whether it
    was relaxed: on SQLite the level cannot change once the transaction wrote, so such a
    transaction commits durably, as before."""
    connection = session.connection()
    fairy = connection.connection
    raw: Any = fairy.dbapi_connection
    if isinstance(raw, sqlite3.Connection):
        if raw.in_transaction:
            return False
        raw.execute("PRAGMA synchronous=NORMAL")
        fairy.info[RELAXED] = True
        return True
    connection.execute(text("SET LOCAL synchronous_commit = off"))  # this transaction only
    return True


def restore_on_checkin(dbapi_connection: Any, record: Any) -> None:
    """Pool ``checkin`` listener: a SQLite connection whose commit was relaxed goes back to
    ``synchronous=FULL`` before anyone else can take it from the pool."""
    if record.info.pop(RELAXED, False) and dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA synchronous=FULL")
