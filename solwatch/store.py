"""The case store: SQLModel tables modeled on SEACATS, and the queries over them.

Computed limitation fields are materialized on every write (`recompute_pending`), so "open
cases whose limit falls before D" is an index range scan. Rows become domain values here; the
engine never sees an ORM object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, Index, UniqueConstraint, event, func, or_, update
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from solwatch.facts import (
    CaseFacts,
    CaseType,
    Culpability,
    Entry,
    Event,
    EventKind,
    Status,
    TollingPeriod,
    Waiver,
)
from solwatch.limitations import compute_limitation, summarize
from solwatch.reports import CaseRecord

# Bump when a rule changes: every case computed under an older version is recomputed.
RULES_VERSION = 1


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_open_limitation", "is_open", "limitation_date"),
        Index("ix_cases_open_attention", "is_open", "attention"),
        Index("ix_cases_rules_version", "rules_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_number: str = Field(unique=True)
    case_type: str = CaseType.PENALTY.value
    statute: str | None = None
    culpability: str | None = None
    status: str = Status.OPEN.value
    is_open: bool = True
    center: str | None = Field(default=None, index=True)
    port_code: str | None = Field(default=None, index=True)
    importer_name: str | None = None
    importer_number: str | None = None
    violation_date: date | None = None
    discovery_date: date | None = None
    property_discovery_date: date | None = None
    initiated_date: date | None = None
    last_action_date: date | None = Field(default=None, index=True)
    sol_date: date | None = None
    assessed_cents: int | None = Field(default=None, sa_type=BigInteger)
    collected_cents: int | None = Field(default=None, sa_type=BigInteger)
    created_import_id: int | None = None
    # Materialized by recompute_pending; rules_version NULL means "not yet computed".
    rule: str | None = None
    limitation_date: date | None = None
    last_limitation_date: date | None = None
    fallback_date: date | None = None
    last_fallback_date: date | None = None
    missing_field: str | None = None
    flags: str = ""
    attention: bool = False
    entries_total: int = 0
    entries_loss_cents: int = Field(default=0, sa_type=BigInteger)
    waivers_total: int = 0
    rules_version: int | None = None


class CaseEntry(SQLModel, table=True):
    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("case_id", "entry_number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    entry_number: str
    entry_date: date
    loss_cents: int = Field(default=0, sa_type=BigInteger)


class CaseWaiver(SQLModel, table=True):
    __tablename__ = "waivers"
    __table_args__ = (UniqueConstraint("case_id", "signed_date"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    signed_date: date
    expires_date: date | None = None
    term_years: int | None = None
    revoked_date: date | None = None
    revives: bool = False
    created_import_id: int | None = None


class CaseTolling(SQLModel, table=True):
    __tablename__ = "tolling"
    __table_args__ = (UniqueConstraint("case_id", "start_date"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    start_date: date
    end_date: date
    reason: str | None = None


class CaseEvent(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("case_id", "event_date", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    event_date: date
    kind: str


class CaseChange(SQLModel, table=True):
    """One changed value of a case or of one of its rows: nothing an import replaces is lost."""

    __tablename__ = "history"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    field: str
    old_value: str | None = None
    new_value: str | None = None
    changed_at: datetime
    import_id: int | None = Field(default=None, foreign_key="import_runs.id")
    source: str | None = None


class ImportRun(SQLModel, table=True):
    __tablename__ = "import_runs"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    as_of: date
    files: str
    summary: str = ""


CHILD_TABLES: dict[str, type[SQLModel]] = {
    "entries": CaseEntry,
    "waivers": CaseWaiver,
    "tolling": CaseTolling,
    "events": CaseEvent,
}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get foreign keys, WAL and a busy timeout."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_schema(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection)


# --- facts and records ------------------------------------------------------------------------


def _facts(case: Case, children: dict[str, list[Any]]) -> CaseFacts:
    return CaseFacts(
        case_number=case.case_number,
        case_type=CaseType(case.case_type),
        statute=case.statute,
        culpability=Culpability(case.culpability) if case.culpability else None,
        violation_date=case.violation_date,
        discovery_date=case.discovery_date,
        property_discovery_date=case.property_discovery_date,
        entries=tuple(
            Entry(e.entry_number, e.entry_date, e.loss_cents) for e in children["entries"]
        ),
        waivers=tuple(
            Waiver(w.signed_date, w.expires_date, w.term_years, w.revoked_date, w.revives)
            for w in children["waivers"]
        ),
        tolling=tuple(
            TollingPeriod(t.start_date, t.end_date, t.reason or "") for t in children["tolling"]
        ),
        events=tuple(Event(e.event_date, EventKind(e.kind)) for e in children["events"]),
    )


def load_facts(cases: Sequence[Case], *, session: Session) -> dict[int, CaseFacts]:
    """The facts of `cases`, with their entries, waivers, tolling and events."""
    ids = [case.id for case in cases if case.id is not None]
    children: dict[int, dict[str, list[Any]]] = {
        case_id: {kind: [] for kind in CHILD_TABLES} for case_id in ids
    }
    for kind, table in CHILD_TABLES.items():
        case_id_column = table.case_id  # type: ignore[attr-defined]
        for row in session.exec(select(table).where(case_id_column.in_(ids))):
            children[row.case_id][kind].append(row)  # type: ignore[attr-defined]
    return {case.id: _facts(case, children[case.id]) for case in cases if case.id is not None}


def record_of(case: Case) -> CaseRecord:
    return CaseRecord(
        case_number=case.case_number,
        case_type=case.case_type,
        statute=case.statute,
        culpability=case.culpability,
        status=case.status,
        is_open=case.is_open,
        center=case.center,
        port_code=case.port_code,
        importer_name=case.importer_name,
        importer_number=case.importer_number,
        violation_date=case.violation_date,
        discovery_date=case.discovery_date,
        initiated_date=case.initiated_date,
        last_action_date=case.last_action_date,
        sol_date=case.sol_date,
        assessed_cents=case.assessed_cents,
        collected_cents=case.collected_cents,
        rule=case.rule,
        limitation_date=case.limitation_date,
        last_limitation_date=case.last_limitation_date,
        fallback_date=case.fallback_date,
        last_fallback_date=case.last_fallback_date,
        missing_field=case.missing_field,
        flags=frozenset(filter(None, case.flags.split(";"))),
        entries_total=case.entries_total,
        entries_loss_cents=case.entries_loss_cents,
        waivers_total=case.waivers_total,
    )


# --- materialization --------------------------------------------------------------------------


def computed_columns(case: Case, facts: CaseFacts) -> dict[str, Any]:
    """The materialized columns of a case, from its facts."""
    summary = summarize(facts, compute_limitation(facts))
    attention = bool(
        summary.missing
        or summary.flags
        or case.sol_date is None
        or (summary.first_date is not None and case.sol_date > summary.first_date)
    )
    return {
        "rule": summary.rule,
        "limitation_date": summary.first_date,
        "last_limitation_date": summary.last_date,
        "fallback_date": summary.fallback_first_date,
        "last_fallback_date": summary.fallback_last_date,
        "missing_field": summary.missing,
        "flags": summary.flags,
        "attention": attention,
        "entries_total": summary.entries_total,
        "entries_loss_cents": summary.entries_loss_cents,
        "waivers_total": len(facts.waivers),
        "rules_version": RULES_VERSION,
    }


def recompute_pending(
    *, session: Session, batch: int = 2000, advance: Callable[[int], None] | None = None
) -> int:
    """Compute every case not computed under the current rules; returns how many."""
    done = 0
    last_id = 0
    pending = or_(col(Case.rules_version).is_(None), col(Case.rules_version) != RULES_VERSION)
    while True:
        cases = list(
            session.exec(
                select(Case)
                .where(pending, col(Case.id) > last_id)
                .order_by(col(Case.id))
                .limit(batch)
            )
        )
        if not cases:
            return done
        facts = load_facts(cases, session=session)
        values = [
            {"b_id": case.id, **computed_columns(case, facts[case.id])}
            for case in cases
            if case.id is not None
        ]
        _bulk_update(session, values)
        last_id = cases[-1].id or last_id
        done += len(cases)
        session.expunge_all()
        if advance:
            advance(len(cases))


def _bulk_update(session: Session, values: list[dict[str, Any]]) -> None:
    from sqlalchemy import bindparam

    if not values:
        return
    columns: dict[str, Any] = {key: bindparam(key) for key in values[0] if key != "b_id"}
    statement = update(Case).where(col(Case.id) == bindparam("b_id")).values(columns)
    session.connection().execute(statement, values)


def mark_all_pending(*, session: Session) -> None:
    """After a rules change: every case will be recomputed."""
    session.connection().execute(update(Case).values(rules_version=None))


# --- queries ----------------------------------------------------------------------------------


def find_case(case_number: str, *, session: Session) -> Case | None:
    return session.exec(select(Case).where(Case.case_number == case_number)).first()


def count_cases(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(Case)).one()


def iter_cases(
    *, session: Session, where: Iterable[Any] = (), batch: int = 5000
) -> Iterator[list[Case]]:
    """Cases matching `where`, in batches ordered by id, without holding them all."""
    last_id = 0
    conditions = list(where)
    while True:
        cases = list(
            session.exec(
                select(Case)
                .where(*conditions, col(Case.id) > last_id)
                .order_by(col(Case.id))
                .limit(batch)
            )
        )
        if not cases:
            return
        yield cases
        last_id = cases[-1].id or last_id
        session.expunge_all()
