"""Creating and upgrading the database schema (alembic), and the rules-version check."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlmodel import Session

from solwatch.store.cases import recompute_pending
from solwatch.store.locks import IMPORT_LOCK

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic(engine: Engine) -> Config:
    """Alembic's configuration. The URL never goes through it: its ConfigParser reads `%` as
    interpolation, which breaks percent-encoded URLs; migrations get a connection instead."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring an older one up to date. On PostgreSQL it holds the import
    lock meanwhile: two `init` at once (two machines deploying) run one after the other, and
    no import runs against a half-upgraded schema."""
    config = _alembic(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    """Whether the database exists at the newest schema revision."""
    head = ScriptDirectory.from_config(_alembic(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def recompute(engine: Engine, *, now: datetime, everything: bool = False) -> int:
    """Compute the cases not yet computed under the current rules, or with `everything` every
    case (after a rules or holiday change); returns how many. A case whose stored dates move
    gets a history row, stamped `now`, saying why."""
    with Session(engine) as session:
        computed = recompute_pending(session=session, now=now, everything=everything)
        session.commit()
    return computed
