"""Creating and upgrading the database schema (alembic), and the rules-version check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import Session

from solwatch.store.cases import mark_all_pending, recompute_pending

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring an older one up to date."""
    config = _alembic(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    """Whether the database exists at the newest schema revision."""
    head = ScriptDirectory.from_config(_alembic(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def recompute(engine: Engine, *, everything: bool = False) -> int:
    """Compute the cases not yet computed under the current rules, or with `everything` every
    case (after a rules or holiday change); returns how many."""
    with Session(engine) as session:
        if everything:
            mark_all_pending(session=session)
        computed = recompute_pending(session=session)
        session.commit()
    return computed
