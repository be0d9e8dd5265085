"""Schema management: apply Alembic migrations, and tell whether the database is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration up to ``revision`` (idempotent: a current database is left as is).

    ``heads``: capabilities may add migrations on branches of their own from a common base.
    """
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    """The heads a current database records: a branch head that another migration names in
    ``depends_on`` is recorded through that migration (Alembic stores only the latter)."""
    script = ScriptDirectory.from_config(_config())
    needed: set[str] = set()
    for revision in script.walk_revisions():
        found = revision.dependencies or ()
        needed.update((found,) if isinstance(found, str) else found)
    return set(script.get_heads()) - needed


def is_current(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
