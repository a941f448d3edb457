"""The bulk import: an extract loaded into an empty SQLite store at the database's own speed.

The case-at-a-time import (`store/importer`) upserts each file in turn and then computes every
case it touched from facts read back (`cases.recompute_pending`): an UPDATE of every case, and
a second read of its facts. Into an empty store there is nothing to compare with, so:

1. `store/bulk_rows` reads the five files side by side, so that each case comes with its
   child rows, and `final_rows` computes each case once, from its complete facts, into its
   final row, computed fields included; for a big extract a second process reads and checks
   the files while this one computes and writes;
2. the rows go straight to the driver (`executemany`): no UPDATE, no second read of facts;
3. child rows that came out of their cases' order are loaded last, and only their cases are
   computed again (`cases.recompute_pending`);
4. the cases table's indexes are built after the load (maintaining them row by row costs
   several times the load).

It applies only when everything is valid: at the first bad row, duplicate, unknown case or
unknown entry it gives up (`Fallback`), the transaction is rolled back, and the case-at-a-time
import runs instead, which reports every problem exactly as it always has
(`FILE:LINE: column: reason`, all of them, nothing written). `tests/store/test_bulk.py`
compares the stored rows and history of both paths on generated extracts.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select, update

from solwatch.core.facts import ENTRY_SEPARATOR
from solwatch.store.bulk_rows import (
    CASE_COLUMNS,
    CHILD_COLUMNS,
    CHILD_KINDS,
    WAIVER_ENTRIES,
    Invalid,
    Message,
    Plan,
    final_rows,
)
from solwatch.store.cases import CHILD_TABLES, Case, CaseEntry, recompute_pending


class Fallback(Exception):
    """The bulk path does not apply to this import: the case-at-a-time path runs instead."""


def applies(files: Sequence[tuple[Path, str]], *, session: Session) -> bool:
    """Whether the bulk path can load `files`: one file of each kind (cases among them), and
    a store without cases."""
    kinds = [kind for _, kind in files]
    if session.connection().dialect.name not in WRITERS or "cases" not in kinds:
        return False
    if len(kinds) != len(set(kinds)):
        return False
    return session.exec(select(func.count()).select_from(Case)).one() == 0


class _Writer:
    """The inserts of one bulk load into SQLite, straight to the driver (`executemany`)."""

    # What the ids of the load's rows start from: the cases' first id, and what each child
    # kind's row numbers are offset by (`reserve`).
    first_case_id = 1
    offsets: tuple[int, ...] = (0, 0, 0, 0)

    def __init__(self, session: Session) -> None:
        self.session = session
        self.touched: set[int] = set()
        self.cursor: sqlite3.Cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        marks = ", ".join("?" for _ in CASE_COLUMNS)
        self.case_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({marks})"
        self.child_sql = {
            kind: (
                f"INSERT INTO {CHILD_TABLES[kind].__tablename__} "
                f"(id, case_id, {', '.join(name for name, _ in columns)}) "
                f"VALUES ({', '.join('?' for _ in range(len(columns) + 2))})"
            )
            for kind, columns in CHILD_COLUMNS.items()
        }

    def rows(self, cases: list[tuple[Any, ...]], children: list[list[tuple[Any, ...]]]) -> None:
        try:
            self.cursor.executemany(self.case_sql, cases)
        except sqlite3.IntegrityError:
            raise Fallback("a case number appears twice") from None
        for kind, rows in zip(CHILD_KINDS, children, strict=True):
            if rows:
                self._children(kind, rows)

    def _children(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        try:
            self.cursor.executemany(self.child_sql[kind], rows)
        except sqlite3.IntegrityError:
            raise Fallback(f"{kind}: a row key appears twice") from None

    def indexes(self) -> list[tuple[str, str]]:
        """(name, DDL) of the cases table's own indexes (not those of its UNIQUE
        constraint)."""
        return [
            (name, sql)
            for name, sql in self.session.connection().exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases' "
                "AND sql IS NOT NULL"
            )
        ]

    def reserve(self) -> None:
        """Where the ids of an empty store's tables start: at 1."""

    def finish(self) -> None:
        """What the store needs after rows were written with their ids."""

    def rest(self, kind: str, batch: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Child rows that did not follow the order of their cases, now that every case is in;
        their cases will be computed again. A row whose case is not in the cases file, or that
        repeats a row's key, is for the case-at-a-time path to report."""
        connection = self.session.connection()
        numbers = {number for number, _ in batch}
        ids: dict[str, int] = {
            number: case_id
            for number, case_id in connection.execute(
                select(col(Case.case_number), col(Case.id)).where(
                    col(Case.case_number).in_(numbers)
                )
            )
            if case_id is not None
        }
        if len(ids) != len(numbers):
            raise Fallback(f"{kind}: a row names a case that is not in the cases file")
        offset = self.offsets[CHILD_KINDS.index(kind)]
        rows = [(seq + offset, ids[number], *stored) for number, (seq, *stored) in batch]
        if kind == "waivers":
            self._check_named_entries(rows)
        self._children(kind, rows)
        self.touched |= set(ids.values())

    def _check_named_entries(self, rows: list[tuple[Any, ...]]) -> None:
        """Waivers name only entries their cases have."""
        named = [(row[1], row[WAIVER_ENTRIES]) for row in rows if row[WAIVER_ENTRIES]]
        if not named:
            return
        on_file: dict[int, set[str]] = {}
        for case_id, entry in self.session.connection().execute(
            select(col(CaseEntry.case_id), col(CaseEntry.entry_number)).where(
                col(CaseEntry.case_id).in_({case_id for case_id, _ in named})
            )
        ):
            on_file.setdefault(case_id, set()).add(entry)
        for case_id, entries in named:
            if not set(entries.split(ENTRY_SEPARATOR)) <= on_file.get(case_id, set()):
                raise Fallback("waivers: a row names an entry its case does not have")


class _CopyWriter(_Writer):
    """The inserts of one bulk load into PostgreSQL, straight to the driver (`COPY`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.touched = set()
        self.driver = session.connection().connection.driver_connection

    def _copy(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        import psycopg

        try:
            with (
                self.driver.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            raise Fallback(f"{table}: a row key appears twice") from None

    def rows(self, cases: list[tuple[Any, ...]], children: list[list[tuple[Any, ...]]]) -> None:
        self._copy("cases", CASE_COLUMNS, cases)
        for kind, rows in zip(CHILD_KINDS, children, strict=True):
            if rows:
                self._children(kind, rows)

    def _children(self, kind: str, rows: list[tuple[Any, ...]]) -> None:
        names = ["id", "case_id", *(name for name, _ in CHILD_COLUMNS[kind])]
        self._copy(str(CHILD_TABLES[kind].__tablename__), names, rows)

    def indexes(self) -> list[tuple[str, str]]:
        """As on SQLite, when the import's role owns the table (the schema's owner); a role
        with only the rights to read and write (README, "Running in production") loads with
        the indexes in place."""
        connection = self.session.connection()
        owner = connection.exec_driver_sql(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'cases'"
        ).scalar()
        if not owner:
            return []
        return [
            (name, sql)
            for name, sql in connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = 'cases' AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'cases'::regclass)"
            )
        ]

    def _tables(self) -> list[str]:
        return ["cases", *(str(CHILD_TABLES[kind].__tablename__) for kind in CHILD_KINDS)]

    def _sequence(self, table: str) -> str:
        name: str = (
            self.session.connection()
            .exec_driver_sql(f"SELECT pg_get_serial_sequence('{table}', 'id')")
            .scalar_one()
        )
        return name

    def reserve(self) -> None:
        """Each table's ids start at its sequence's next value, read without taking it: a
        load that gives way leaves the sequences as they were."""
        connection = self.session.connection()
        first = []
        for table in self._tables():
            last, called = connection.exec_driver_sql(
                f"SELECT last_value, is_called FROM {self._sequence(table)}"
            ).one()
            first.append(last + 1 if called else last)
        self.first_case_id = first[0]
        self.offsets = tuple(value - 1 for value in first[1:])

    def finish(self) -> None:
        """Each table's sequence continues after the ids the load gave: it is advanced past
        them one value at a time, as a role with only the right to use a sequence can (the
        import lock keeps other writers out)."""
        connection = self.session.connection()
        for table, first in zip(
            self._tables(), (self.first_case_id, *(o + 1 for o in self.offsets)), strict=True
        ):
            last = connection.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar()
            if last is not None and last >= first:
                connection.exec_driver_sql(
                    f"SELECT count(nextval('{self._sequence(table)}')) "
                    f"FROM generate_series(1, {int(last - first + 1)})"
                )


WRITERS: dict[str, type[_Writer]] = {"sqlite": _Writer, "postgresql": _CopyWriter}


def load(
    plan: Plan,
    source: Callable[[Plan], Iterator[Message]],
    *,
    session: Session,
    now: datetime,
    dry_run: bool = False,
    computing: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Load the final rows `source(plan)` computes (`bulk_rows.messages` or `in_worker`)
    into the empty store, in the session's transaction; returns the rows read from each file.
    Raises Fallback (the caller rolls back) when the case-at-a-time path must run instead."""
    # Nothing read here outlives its batch: the cyclic collector would only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(plan, source, session=session, now=now, dry_run=dry_run, computing=computing)
    except Invalid as problem:
        raise Fallback(str(problem)) from None
    finally:
        if collecting:
            gc.enable()


def _load(
    plan: Plan,
    source: Callable[[Plan], Iterator[Message]],
    *,
    session: Session,
    now: datetime,
    dry_run: bool,
    computing: Callable[[int], None] | None,
) -> dict[str, int]:
    connection = session.connection()
    writer = WRITERS[connection.dialect.name](session)
    indexes = [] if dry_run else writer.indexes()
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    if not dry_run:
        writer.reserve()
    first_case_id, offsets = writer.first_case_id, writer.offsets
    counts: dict[str, int] = {}
    with closing(source(plan)) as messages:  # type: ignore[type-var]
        for kind, *body in messages:
            if kind == "cases":
                batch, first_id = body
                if not dry_run:
                    writer.rows(*final_rows(batch, plan, first_id - 1 + first_case_id, offsets))
                if computing:
                    computing(len(batch))
            elif kind == "rest":
                if dry_run:
                    raise Fallback("child rows out of their cases' order, in a dry run")
                writer.rest(*body)
            else:
                counts = body[0]
    if writer.touched:
        connection.execute(
            update(Case).where(col(Case.id).in_(writer.touched)).values(rules_version=None)
        )
        recompute_pending(session=session, now=now)
    writer.finish()
    for _, ddl in indexes:
        connection.exec_driver_sql(ddl)
    return counts
