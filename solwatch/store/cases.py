"""The case store: SQLModel tables modeled on SEACATS, and the queries over them.

Computed limitation fields are materialized on every write (`recompute_pending`), so "open
cases whose limit falls before D" is an index range scan. Rows become domain values here; the
engine never sees an ORM object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Engine,
    Index,
    String,
    UniqueConstraint,
    event,
    func,
    or_,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from solwatch.core.assessment import CaseRecord
from solwatch.core.facts import (
    ENTRY_SEPARATOR,
    CaseFacts,
    CaseType,
    Culpability,
    Entry,
    Event,
    Status,
    TollingPeriod,
    Waiver,
)
from solwatch.core.summary import summary_values
from solwatch.core.triage import verdict_of
from solwatch.store.connection import binary_order, database_url
from solwatch.store.locks import SQLITE_BUSY_MS

# Bump when a rule changes: every case computed under an older version is recomputed.
RULES_VERSION = 3  # 2: the legal corrections of issue 7; 3: the triage verdict (issue 11)


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_open_limitation", "is_open", "limitation_date"),
        Index("ix_cases_open_attention", "is_open", "attention"),
        Index("ix_cases_open_fallback", "is_open", "fallback_date"),
        Index("ix_cases_open_resolved", "is_open", "resolved_status"),
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
    # Flags raised only on a fraud case's negligence fallback, reported with the fallback.
    fallback_flags: str = ""
    attention: bool = False
    entries_total: int = 0
    entries_loss_cents: int = Field(default=0, sa_type=BigInteger)
    waivers_total: int = 0
    # The triage verdict once the limit has passed (core/triage) and the facts it rests on.
    triage: str | None = None
    triage_reason: str | None = None
    rules_version: int | None = None
    # Staff's correction in force (store/resolutions), kept here for the streamed reads.
    resolved_status: str | None = None
    resolved_date: date | None = None


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
    # The entry numbers the waiver names, separated by ";"; NULL: every entry of the case.
    entries: str | None = None
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
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get foreign keys, WAL and a busy timeout; PostgreSQL
    connections are checked before use, so a server restart costs one reconnect, not a job."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    engine = create_engine(parsed)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_schema(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection)


# --- facts and records ------------------------------------------------------------------------
# Bulk paths read plain rows (SQLAlchemy Core), not ORM objects: at a million cases the ORM's
# per-object bookkeeping costs more than the limitation rules themselves.


def _text_date(column: Any) -> Any:
    """A date column read as the database returns it: ISO text on SQLite, a date elsewhere.
    `day()` converts; a million rows share a few thousand distinct days."""
    return type_coerce(column, String).label(column.key)


_DAYS: dict[str, date] = {}


def day(value: Any) -> date | None:
    """A date from a `_text_date` column."""
    if value is None or isinstance(value, date):
        return value
    found = _DAYS.get(value)
    if found is None:
        found = _DAYS[value] = date.fromisoformat(value)
    return found


def _readable(*columns: Any) -> tuple[Any, ...]:
    return tuple(_text_date(c) if isinstance(c.type, Date) else c for c in columns)


FACT_COLUMNS: tuple[Any, ...] = _readable(
    Case.id,
    Case.case_number,
    Case.case_type,
    Case.statute,
    Case.culpability,
    Case.violation_date,
    Case.discovery_date,
    Case.property_discovery_date,
    Case.sol_date,
    Case.assessed_cents,
    Case.collected_cents,
)
CHILD_COLUMNS: dict[str, tuple[Any, ...]] = {
    "entries": _readable(
        CaseEntry.case_id,
        CaseEntry.entry_number,
        CaseEntry.entry_date,
        CaseEntry.loss_cents,
    ),
    "waivers": _readable(
        CaseWaiver.case_id,
        CaseWaiver.signed_date,
        CaseWaiver.expires_date,
        CaseWaiver.term_years,
        CaseWaiver.revoked_date,
        CaseWaiver.revives,
        CaseWaiver.entries,
    ),
    "tolling": _readable(
        CaseTolling.case_id,
        CaseTolling.start_date,
        CaseTolling.end_date,
        CaseTolling.reason,
    ),
    "events": _readable(CaseEvent.case_id, CaseEvent.event_date, CaseEvent.kind),
}
RECORD_COLUMNS: tuple[Any, ...] = _readable(
    Case.id,
    Case.case_number,
    Case.case_type,
    Case.statute,
    Case.culpability,
    Case.status,
    Case.is_open,
    Case.center,
    Case.port_code,
    Case.importer_name,
    Case.importer_number,
    Case.violation_date,
    Case.discovery_date,
    Case.initiated_date,
    Case.last_action_date,
    Case.sol_date,
    Case.assessed_cents,
    Case.collected_cents,
    Case.rule,
    Case.limitation_date,
    Case.last_limitation_date,
    Case.fallback_date,
    Case.last_fallback_date,
    Case.missing_field,
    Case.flags,
    Case.entries_total,
    Case.entries_loss_cents,
    Case.waivers_total,
    Case.fallback_flags,
    Case.triage,
    Case.triage_reason,
    Case.resolved_status,
    Case.resolved_date,
)


def _children(
    *, session: Session, ids: Sequence[int] = (), between: tuple[int, int] | None = None
) -> dict[int, dict[str, list[Any]]]:
    """Child rows of the cases in `ids` or with ids `between` two bounds, grouped by case and
    kind."""
    grouped: dict[int, dict[str, list[Any]]] = {}
    connection = session.connection()
    for kind, columns in CHILD_COLUMNS.items():
        case_id = columns[0]
        where = case_id.between(*between) if between else case_id.in_(list(ids))
        # In row order, so that a case's facts (and their explanation) are the same on every
        # store: PostgreSQL returns rows in no set order after an update.
        table = CHILD_TABLES[kind].__table__  # type: ignore[attr-defined]
        for row in connection.execute(select(*columns).where(where).order_by(table.c.id)).all():
            grouped.setdefault(row[0], {}).setdefault(kind, []).append(row)
    return grouped


def _facts(row: Any, children: dict[str, list[Any]]) -> CaseFacts:
    number, case_type, statute, culpability, violation, discovery, property_found = row[1:8]
    return CaseFacts(
        case_number=number,
        case_type=CaseType(case_type),
        statute=statute,
        culpability=Culpability(culpability) if culpability else None,
        violation_date=day(violation),
        discovery_date=day(discovery),
        property_discovery_date=day(property_found),
        entries=tuple(Entry(e[1], day(e[2]), e[3]) for e in children.get("entries", ())),  # type: ignore[arg-type]
        waivers=tuple(
            Waiver(day(w[1]), day(w[2]), w[3], day(w[4]), bool(w[5]), _split(w[6]))  # type: ignore[arg-type]
            for w in children.get("waivers", ())
        ),
        tolling=tuple(
            TollingPeriod(day(t[1]), day(t[2]), t[3] or "")  # type: ignore[arg-type]
            for t in children.get("tolling", ())
        ),
        events=tuple(
            Event(day(e[1]), e[2])  # type: ignore[arg-type]
            for e in children.get("events", ())
        ),
    )


def _split(entries: str | None) -> tuple[str, ...]:
    return tuple(entries.split(ENTRY_SEPARATOR)) if entries else ()


def load_facts(case_ids: Sequence[int], *, session: Session) -> dict[int, CaseFacts]:
    """The facts of the cases with `case_ids`, with entries, waivers, tolling and events."""
    facts: dict[int, CaseFacts] = {}
    connection = session.connection()
    for start in range(0, len(case_ids), 500):
        ids = list(case_ids[start : start + 500])
        rows = connection.execute(select(*FACT_COLUMNS).where(col(Case.id).in_(ids))).all()
        children = _children(session=session, ids=ids)
        facts.update({row[0]: _facts(row, children.get(row[0], {})) for row in rows})
    return facts


_FLAGS: dict[str, frozenset[str]] = {}


def _flag_set(flags: str) -> frozenset[str]:
    """Stored `a;b` flags as a set; a million rows share a handful of distinct values."""
    found = _FLAGS.get(flags)
    if found is None:
        found = _FLAGS[flags] = frozenset(filter(None, flags.split(";")))
    return found


def record_of(row: Any) -> CaseRecord:
    """A CaseRecord from a row of RECORD_COLUMNS."""
    (
        _,
        number,
        case_type,
        statute,
        culpability,
        status,
        is_open,
        center,
        port,
        name,
        importer,
        violation,
        discovery,
        initiated,
        last_action,
        sol,
        assessed,
        collected,
        rule,
        first,
        last,
        fallback,
        last_fallback,
        missing,
        flags,
        entries,
        loss,
        waivers,
        fallback_flags,
        verdict,
        verdict_reason,
        resolved_status,
        resolved_date,
    ) = row
    return CaseRecord(
        case_number=number,
        case_type=case_type,
        statute=statute,
        culpability=culpability,
        status=status,
        is_open=bool(is_open),
        center=center,
        port_code=port,
        importer_name=name,
        importer_number=importer,
        violation_date=day(violation),
        discovery_date=day(discovery),
        initiated_date=day(initiated),
        last_action_date=day(last_action),
        sol_date=day(sol),
        assessed_cents=assessed,
        collected_cents=collected,
        rule=rule,
        limitation_date=day(first),
        last_limitation_date=day(last),
        fallback_date=day(fallback),
        last_fallback_date=day(last_fallback),
        missing_field=missing,
        flags=_flag_set(flags),
        entries_total=entries,
        entries_loss_cents=loss,
        waivers_total=waivers,
        fallback_flags=_flag_set(fallback_flags),
        triage=verdict,
        triage_reason=verdict_reason,
        resolved_status=resolved_status,
        resolved_date=day(resolved_date),
    )


# --- materialization --------------------------------------------------------------------------


def computed_columns(
    facts: CaseFacts,
    sol_date: date | None,
    assessed_cents: int | None = None,
    collected_cents: int | None = None,
) -> dict[str, Any]:
    """The materialized columns of a case, from its facts and amounts (the rules without
    their explanations, `core/summary`: only `show` needs the steps)."""
    rule, first, last, fallback, last_fallback, missing, flags, entries, loss, fallback_flags = (
        summary_values(facts)
    )
    verdict, reason = (
        verdict_of(facts.events, assessed_cents, collected_cents, first)
        if first is not None
        else (None, None)
    )
    attention = bool(
        missing
        or flags
        or fallback_flags
        or sol_date is None
        or (first is not None and sol_date > first)
    )
    return {
        "rule": rule,
        "limitation_date": first,
        "last_limitation_date": last,
        "fallback_date": fallback,
        "last_fallback_date": last_fallback,
        "missing_field": missing,
        "flags": flags,
        "fallback_flags": fallback_flags,
        "attention": attention,
        "entries_total": entries,
        "entries_loss_cents": loss,
        "waivers_total": len(facts.waivers),
        "triage": verdict,
        "triage_reason": reason,
        "rules_version": RULES_VERSION,
    }


# Stored results whose change, when the rules change, is recorded in a case's history.
TRACKED = ("limitation_date", "last_limitation_date", "fallback_date", "last_fallback_date")
TRACKED_FLAGS = ("flags", "fallback_flags")
PRIOR_COLUMNS: tuple[Any, ...] = (
    Case.rules_version,
    *_readable(*(Case.__table__.c[name] for name in TRACKED)),  # type: ignore[attr-defined]
    *(Case.__table__.c[name] for name in TRACKED_FLAGS),  # type: ignore[attr-defined]
)


def _rule_changes(
    case_id: int, prior: Sequence[Any], computed: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """History rows for the stored results a recomputation changed, saying why."""
    version, *old = prior
    why = (
        "recomputed"
        if version == RULES_VERSION
        else f"rules changed (version {version} to {RULES_VERSION})"
    )
    changes = []
    for name, before in zip((*TRACKED, *TRACKED_FLAGS), old, strict=True):
        was = day(before) if name in TRACKED else before
        now_is = computed[name]
        if was != now_is:
            changes.append(
                {
                    "case_id": case_id,
                    "field": name,
                    "old_value": _history_value(was),
                    "new_value": _history_value(now_is),
                    "changed_at": now,
                    "import_id": None,
                    "source": why,
                }
            )
    return changes


def _history_value(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return value or None


def recompute_pending(
    *,
    session: Session,
    now: datetime,
    everything: bool = False,
    batch: int = 5000,
    advance: Callable[[int], None] | None = None,
) -> int:
    """Compute every case not computed under the current rules (with `everything`, every
    case); returns how many.

    A case computed before (under these or older rules) whose stored dates or flags change gets
    a history row per changed field, its source saying why ("rules changed (version 1 to 2)").
    Cases the import just wrote or changed are computed without one: the import's own history
    says what changed.
    """
    done = 0
    last_id = 0
    pending = or_(col(Case.rules_version).is_(None), col(Case.rules_version) != RULES_VERSION)
    connection = session.connection()
    width = len(FACT_COLUMNS)
    while True:
        rows = connection.execute(
            select(*FACT_COLUMNS, *PRIOR_COLUMNS)
            .where(*(() if everything else (pending,)), col(Case.id) > last_id)
            .order_by(col(Case.id))
            .limit(batch)
        ).all()
        if not rows:
            return done
        children = _children(session=session, between=(rows[0][0], rows[-1][0]))
        values = []
        changes: list[dict[str, Any]] = []
        for row in rows:
            facts = _facts(row[:width], children.get(row[0], {}))
            computed = computed_columns(facts, day(row[8]), row[9], row[10])
            values.append({"b_id": row[0], **computed})
            if row[width] is not None:
                changes += _rule_changes(row[0], row[width:], computed, now)
        update_many(connection, Case.__table__, values)  # type: ignore[attr-defined]
        if changes:
            insert_many(connection, CaseChange.__table__, changes)  # type: ignore[attr-defined]
        last_id = rows[-1][0]
        done += len(rows)
        if advance:
            advance(len(rows))


# --- queries ----------------------------------------------------------------------------------


def find_record(case_number: str, *, session: Session) -> tuple[int, CaseRecord] | None:
    """(id, record) of one case by its number, or None."""
    row = (
        session.connection()
        .execute(select(*RECORD_COLUMNS).where(Case.case_number == case_number))
        .first()
    )
    return None if row is None else (row[0], record_of(row))


def iter_records(
    *,
    session: Session,
    where: Iterable[Any] = (),
    batch: int = 5000,
    by_limitation: bool = False,
) -> Iterator[list[tuple[int, CaseRecord]]]:
    """(id, record) of the cases matching `where`, in batches: by id, or with `by_limitation`
    by stored limitation date (blank first), then case number byte by byte (the same order on
    every store). One streamed query: a server-side cursor on PostgreSQL, so memory holds one
    batch, not the result."""
    connection = session.connection()
    order = (
        (
            col(Case.limitation_date).is_not(None),
            col(Case.limitation_date),
            binary_order(Case.case_number, connection.dialect.name),
        )
        if by_limitation
        else (col(Case.id),)
    )
    result = connection.execute(
        select(*RECORD_COLUMNS).where(*where).order_by(*order).execution_options(yield_per=batch)
    )
    for rows in result.partitions(batch):
        yield [(row[0], record_of(row)) for row in rows]


# --- bulk writes ------------------------------------------------------------------------------


_ISO: dict[date, str] = {}


def _driver_rows(
    table: Any, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[list[Any]]:
    """Rows of values in `names` order, the date columns as the ISO text SQLAlchemy itself
    stores on SQLite (through a memo: a million rows share a few thousand days)."""
    dated = [
        index
        for index, name in enumerate(names)
        if name in table.c and isinstance(table.c[name].type, Date)
    ]
    converted = []
    for row in rows:
        values = list(row)
        for index in dated:
            value = values[index]
            if value is not None:
                text = _ISO.get(value)
                if text is None:
                    text = _ISO[value] = value.isoformat()
                values[index] = text
        converted.append(values)
    return converted


def insert_many(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys). On SQLite the rows go straight to the driver:
    at a million rows SQLAlchemy's per-row parameter processing would cost more than the
    insert."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(table.insert(), rows)
        return
    keys = list(rows[0])
    defaults = {
        column.name: column.default.arg
        for column in table.columns
        if column.name not in rows[0] and column.default is not None and column.default.is_scalar
    }
    names = [*keys, *defaults]
    fill = list(defaults.values())
    marks = ", ".join("?" for _ in names)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(
        sql, _driver_rows(table, names, ([*(row[k] for k in keys), *fill] for row in rows))
    )


def insert_new(
    connection: Connection, table: Any, row: dict[str, Any], keys: Sequence[str]
) -> bool:
    """INSERT `row` unless a row with the same `keys` (a unique constraint) exists: False then.
    ON CONFLICT DO NOTHING, so an expected duplicate (a rerun) is no error on the server, and
    a concurrent writer of the same row is waited for, not raced."""
    from sqlalchemy.dialects import postgresql, sqlite

    statement = (
        postgresql.insert(table).values(row).on_conflict_do_nothing(index_elements=keys)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(table).values(row).on_conflict_do_nothing(index_elements=keys)
    )
    # RETURNING, not rowcount: PostgreSQL's driver reports -1 for a RETURNING insert.
    return connection.execute(statement.returning(*table.primary_key)).first() is not None


def update_many(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE rows by id (key `b_id`), one executemany per set of columns (on PostgreSQL,
    one COPY into a stage and one UPDATE ... FROM)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(name for name in row if name != "b_id"), []).append(row)
    for names, group in groups.items():
        if connection.dialect.name == "postgresql":
            from solwatch.store.pg_copy import update_by_id

            update_by_id(
                connection, table, names, ((row["b_id"], *map(row.get, names)) for row in group)
            )
            continue
        if connection.dialect.name != "sqlite":
            from sqlalchemy import bindparam

            values: dict[str, Any] = {name: bindparam(name) for name in names}
            connection.execute(
                update(table).where(table.c.id == bindparam("b_id")).values(values), group
            )
            continue
        sql = f"UPDATE {table.name} SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            sql,
            _driver_rows(
                table, [*names, "id"], ([*(row[n] for n in names), row["b_id"]] for row in group)
            ),
        )


def waivers_signed_between(first: date, last: date, *, session: Session) -> dict[str | None, int]:
    """Waivers signed from `first` to `last` on open cases, counted per Center."""
    rows = session.connection().execute(
        select(Case.center, func.count())
        .select_from(CaseWaiver)
        .join(Case, col(Case.id) == col(CaseWaiver.case_id))
        .where(col(Case.is_open).is_(True), col(CaseWaiver.signed_date).between(first, last))
        .group_by(Case.center)
    )
    counts: dict[str | None, int] = {}
    for center, count in rows:
        counts[center] = count
    return counts
