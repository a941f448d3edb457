"""Creating and upgrading the database schema (alembic), and the rules-version check."""

from __future__ import annotations

import ast
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlmodel import Session

from solwatch.store.cases import recompute_pending
from solwatch.store.locks import IMPORT_LOCK

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic(engine: Engine) -> Config:
    """Alembic's configuration. The URL never goes through it: its ConfigParser reads `%` as
    interpolation, which breaks percent-encoded URLs; migrations get a connection instead."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring an older one up to date. On PostgreSQL it holds the import
    lock meanwhile: two `init` at once (two machines deploying) run one after the other, and
    no import runs against a half-upgraded schema."""
    from alembic import command

    config = _alembic(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _as_set(value: object) -> set[str]:
    """A `revision` or `down_revision` value (none, one, or a merge's several) as a set."""
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, tuple | list):
        return {str(item) for item in value}
    raise ValueError(f"not a revision: {value!r}")


@cache
def head_revisions() -> frozenset[str]:
    """The newest revisions of the migrations: those no other revision follows.

    Read from the revision files' `revision` and `down_revision` assignments rather than
    through alembic, whose import costs more than every other thing a quick command does
    (a test checks that both agree)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if node.value is None:
                    continue
                if "revision" in names:
                    revisions |= _as_set(ast.literal_eval(node.value))
                elif "down_revision" in names:
                    followed |= _as_set(ast.literal_eval(node.value))
    return frozenset(revisions - followed)


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database is at (none for a database never initialized)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return frozenset()
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(str(row[0]) for row in rows)


def is_current(engine: Engine) -> bool:
    """Whether the database exists at the newest schema revision."""
    return current_revisions(engine) == head_revisions()


def recompute(engine: Engine, *, now: datetime, everything: bool = False) -> int:
    """Compute the cases not yet computed under the current rules, or with `everything` every
    case (after a rules or holiday change); returns how many. A case whose stored dates move
    gets a history row, stamped `now`, saying why."""
    with Session(engine) as session:
        computed = recompute_pending(session=session, now=now, everything=everything)
        session.commit()
    return computed
