"""Alembic environment for solwatch's schema; run through `solwatch init`."""

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

# Imported for their side effect: registering the tables on SQLModel.metadata.
import solwatch.notify.ledger
import solwatch.store.cases
import solwatch.store.resolutions  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()


run()
