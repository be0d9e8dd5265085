"""A data directory's store opened to read: published policies and registered models.

A notebook reads what the services publish and never writes: no bus, no relay, no keys, no
audit trail — just the database the settings name (the data directory's SQLite file, or
``REPAYGUARD_DATABASE__URL``) and the model registry beside it. A folder that holds no store,
or a database behind the current schema, is refused with what to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from repayguard.config import Settings
from repayguard.errors import DatabaseNotReady
from repayguard.platform import schema
from repayguard.platform.clock import SystemClock
from repayguard.platform.db import make_engine, make_session_factory
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Store:
    """The settings of a data directory and its database, for read-only units of work."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def uow(self) -> UnitOfWork:
        """A unit of work to read in (nothing here commits)."""
        return UnitOfWork(self.sessions, clock=SystemClock())


def settings_for(data_dir: str | Path | None) -> Settings:
    """The settings from the environment, with ``data_dir`` on top when given (as the CLI's
    ``--data-dir``)."""
    settings = Settings()
    if data_dir is None:
        return settings
    return settings.model_copy(update={"data_dir": Path(data_dir).expanduser()})


@contextmanager
def read_store(data_dir: str | Path | None) -> Iterator[Store]:
    """The store of ``data_dir`` (default: the settings' data directory), closed on exit."""
    settings = settings_for(data_dir)
    if not settings.database.url and not (settings.data_dir / "repayguard.db").is_file():
        raise DatabaseNotReady(
            f"{settings.data_dir} holds no repayguard store (no repayguard.db)",
            hint="give the data directory 'repayguard serve' uses (data_dir=...), or create "
            "one with 'repayguard demo' or 'repayguard db upgrade --data-dir DIR'",
        )
    engine = make_engine(settings.database_url)
    try:
        if not schema.is_current(engine):
            raise DatabaseNotReady(
                f"the database at {settings.database_url} is not at the current schema",
                hint="run 'repayguard db upgrade' first",
            )
        yield Store(settings, engine, make_session_factory(engine))
    finally:
        engine.dispose()
