"""The bulk exports, computed by the database: every case's CSV line as of a day, from one
query, streamed to the file.

The Python path (`store/assessments` → `core/assessment.assess` → `reports/rows.case_row` →
`CsvRows`) assesses one case at a time; at a million cases that costs many times what the
database needs to read them. Here the query computes what follows from the stored dates:
the standing limitation date (the first date, or the last once every clock has run), days
remaining, the file-by date, expired entries and their loss, amounts as dollars, and the
formula guard and RFC 4180 quoting of `safe_cell` and `csv.writer`. The alerts are looked up
in a table that `classify` itself fills (`reports/alert_codes`). Python computes only what
SQL cannot: the standing of a multi-entry case whose entry clocks straddle the day, from its
clocks (`assess`), into a temporary table the query reads.

The lines are the same bytes the Python path writes; `tests/reports/test_case_lines.py`
compares the two on generated stores, on several days.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import IO, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from solwatch.core.alerts import AlertKind, Thresholds, stand
from solwatch.core.batches import batched
from solwatch.core.dates import file_by_date
from solwatch.core.facts import CaseType
from solwatch.core.limitations import VIOLATION_STATUTES
from solwatch.core.summary import clocks_of
from solwatch.reports.alert_codes import AlertCodes
from solwatch.reports.cear import CEAR_FIELDS, CenterSummary, cear_row, file_key
from solwatch.reports.rows import CASE_FIELDS, FORMULA_STARTS, case_row, safe_cell, write_csv
from solwatch.store.cases import Case, insert_many, load_facts
from solwatch.store.connection import binary_order

# --- what the database computes that SQL does not say the same way everywhere ----------------


def _function(name: str, kind: Any, *, sqlite: str, other: str) -> type[FunctionElement[Any]]:
    """A SQL function spelled `sqlite` on SQLite and `other` elsewhere (PostgreSQL): each a
    template of its arguments, `{0}`, `{1}`, ... or `{all}`."""

    class Function(FunctionElement[Any]):
        type = kind
        inherit_cache = True

    Function.__name__ = Function.__qualname__ = name

    def spell(template: str) -> Any:
        def compile_(element: Function, compiler: SQLCompiler, **kw: Any) -> str:
            arguments = [compiler.process(c, **kw) for c in element.clauses]
            return template.format(*arguments, all=", ".join(arguments))

        return compile_

    compiles(Function, "sqlite")(spell(sqlite))
    compiles(Function)(spell(other))
    return Function


FILE_BY_FUNCTION = "solwatch_file_by"
# Whole days from the first date to the second (Julian day numbers differ by whole numbers).
_DaysBetween = _function(
    "DaysBetween",
    Integer(),
    sqlite="CAST(julianday({1}) - julianday({0}) AS INTEGER)",
    other="(CAST({1} AS DATE) - CAST({0} AS DATE))",
)
# Integer cents as `core/money.dollars` writes them.
_Dollars = _function(
    "Dollars",
    String(),
    sqlite="CASE WHEN {0} >= 0 THEN printf('%d.%02d', {0} / 100, {0} % 100) "
    "WHEN {0} < 0 THEN printf('-%d.%02d', -({0}) / 100, -({0}) % 100) END",
    other="CASE WHEN {0} IS NOT NULL THEN CASE WHEN {0} < 0 THEN '-' ELSE '' END || "
    "CAST(abs({0}) / 100 AS TEXT) || '.' || lpad(CAST(mod(abs({0}), 100) AS TEXT), 2, '0') END",
)
# Whether the text holds the character.
_Contains = _function(
    "Contains", Boolean(), sqlite="instr({0}, {1}) > 0", other="strpos({0}, {1}) > 0"
)
# The arguments as text, each NULL as nothing, by a format of `%s` placeholders.
_Line = _function("Line", String(), sqlite="printf({all})", other="format({all})")
# Whether the text holds a NUL, which SQLite's text functions take for its end (PostgreSQL's
# text cannot hold one).
_HasNul = _function(
    "HasNul", Boolean(), sqlite="instr(CAST({0} AS BLOB), X'00') > 0", other="false"
)
# `YYYY-MM` of a date.
_Month = _function("Month", String(), sqlite="substr({0}, 1, 7)", other="to_char({0}, 'YYYY-MM')")
# `core/dates.file_by_date` of a date: on SQLite a function of this connection, elsewhere the
# table of the days the export needs (`_fill_file_by_days`).
_FileBy = _function(
    "FileBy",
    Date(),
    sqlite=FILE_BY_FUNCTION + "({0})",
    other="(SELECT f.file_by FROM solwatch_file_by_days f WHERE f.day = {0})",
)


class _FileByText(dict[str | None, str | None]):
    """file_by_date of ISO days, remembered: a store holds a few thousand distinct days."""

    def __missing__(self, day: str | None) -> str | None:
        found = None if day is None else file_by_date(date.fromisoformat(day)).isoformat()
        self[day] = found
        return found


_FILE_BY_TEXT = _FileByText()

# --- temporary tables: what Python computed, for the query to read ----------------------------

_TEMPORARY = MetaData()
STRADDLING = Table(
    "solwatch_straddling",
    _TEMPORARY,
    Column("id", Integer, primary_key=True),
    Column("limitation_date", Date),
    Column("entries_expired", Integer),
    Column("expired_loss_cents", BigInteger),
    Column("fallback_date", Date),
    prefixes=["TEMPORARY"],
)
ALERT_SETS = Table(
    "solwatch_alert_sets",
    _TEMPORARY,
    # The AlertCodes code times the number of stored flags values, plus the flags value's
    # place among them: an integer key is the quickest lookup.
    Column("key", Integer, primary_key=True, autoincrement=False),
    Column("alerts", String),
    Column("cear_referral", String),
    Column("summary", Integer),  # SUMMARY_* bits, for the CEAR summary
    prefixes=["TEMPORARY"],
)
OFFICES = Table(
    "solwatch_offices",
    _TEMPORARY,
    Column("port_code", String, primary_key=True),
    Column("office", String),  # the cell as written: formula-guarded and quoted
    prefixes=["TEMPORARY"],
)
# The lines of the cases whose text the query cannot write (a NUL in it, from a store filled
# before imports refused control characters), as the Python path writes them.
PYTHON_LINES = Table(
    "solwatch_python_lines",
    _TEMPORARY,
    Column("id", Integer, primary_key=True),
    Column("case_line", String),
    Column("cear_line", String),
    prefixes=["TEMPORARY"],
)
FILE_BY_DAYS = Table(
    "solwatch_file_by_days",
    _TEMPORARY,
    Column("day", Date, primary_key=True),
    Column("file_by", Date),
    prefixes=["TEMPORARY"],
)
# Text from an extract, written as it is: the cells that need `safe_cell`'s guard and quotes.
FREE_TEXT = ("case_number", "importer_name", "importer_number")
SUMMARY_EXPIRED, SUMMARY_BLANK_SOL, SUMMARY_SOL_LATER, SUMMARY_REFERRAL = 1, 2, 4, 8
SUMMARY_PENDING = 16  # status-correction-pending: listed, but not counted as open
DUE_90, DUE_180, DUE_365 = 1, 2, 4
BATCH = 500
# Lines handed to the file at a time.
CHUNK = 5000


def _text_cell(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """Free text from an extract, as `safe_cell` and `csv.writer` write it."""
    guarded = case((func.substr(text, 1, 1).in_(FORMULA_STARTS), literal("'") + text), else_=text)
    quoted = or_(*(_Contains(text, literal(character)) for character in ',"\r\n'))
    return case(
        (quoted, literal('"') + func.replace(guarded, '"', '""') + literal('"')), else_=guarded
    )


# --- one bulk read ------------------------------------------------------------------------------


@dataclass
class _Frame:
    """The FROM of a bulk read and its as-of expressions, once the temporary tables are
    filled."""

    today: date
    codes: AlertCodes
    where: list[Any]
    offices: bool
    # Every stored flags value among the cases read (`_scan`), in order.
    flag_values: list[str] = field(default_factory=list)
    # Whether some lines are the Python path's (PYTHON_LINES).
    python_lines: bool = False

    def __post_init__(self) -> None:
        c, s, t = Case.__table__.c, STRADDLING.c, self.today  # type: ignore[attr-defined]
        found = s.id.is_not(None)
        self.standing = case(
            (found, s.limitation_date),
            (c.limitation_date >= t, c.limitation_date),
            else_=c.last_limitation_date,
        )
        self.fallback = case(
            (found, s.fallback_date),
            (c.fallback_date >= t, c.fallback_date),
            else_=c.last_fallback_date,
        )
        gone = c.last_limitation_date < t
        self.entries_expired = case((found, s.entries_expired), (gone, c.entries_total), else_=0)
        self.expired_loss = case(
            (found, s.expired_loss_cents), (gone, c.entries_loss_cents), else_=0
        )
        self.anchor = func.coalesce(c.last_action_date, c.initiated_date)
        owed = c.assessed_cents - func.coalesce(c.collected_cents, 0)
        self.uncollected = case((c.assessed_cents.is_(None), null()), (owed > 0, owed), else_=0)
        self.alerts = ALERT_SETS.c
        self.expired = self.alerts.summary.op("&")(SUMMARY_EXPIRED) != 0

    def code(self) -> ColumnElement[int]:
        """The `AlertCodes` code of each case (see `reports/alert_codes`)."""
        c, t, codes = Case.__table__.c, self.today, self.codes  # type: ignore[attr-defined]
        standing, fallback = self.standing, self.fallback

        def days(count: int) -> date:
            return t + timedelta(days=count)

        cuts = codes.day_cuts
        fallback_at, fallback_after = codes.fallback_cuts
        prepenalty = and_(
            c.case_type == CaseType.PENALTY.value, c.statute.in_(sorted(VIOLATION_STATUTES))
        )
        idle = or_(
            self.anchor.is_(None),
            self.anchor <= days(-codes.thresholds.cear_referral_days),
        )
        # Each condition's value (whens, else), in the order of AlertCodes.radices; the days
        # bucket is 1 plus the number of cuts the days remaining reach.
        reached = [(standing >= days(cut), index + 2) for index, cut in enumerate(cuts)]
        conditions: list[tuple[list[tuple[Any, int]], int]] = [
            ([(c.missing_field.is_not(None), 1)], 0),
            ([(c.sol_date.is_(None), 1)], 0),
            ([(c.sol_date > standing, 1), (c.sol_date < standing, 2)], 0),
            ([(standing.is_(None), 0), *reversed(reached)], 1),
            ([(prepenalty, 1)], 0),
            ([(idle, 1)], 0),
            (
                [
                    (fallback.is_(None), 0),
                    (fallback < days(fallback_at), 1),
                    (fallback < days(fallback_after), 2),
                ],
                3,
            ),
        ]
        weighted = [
            case(*((when, value * weight) for when, value in whens), else_=other * weight)
            for (whens, other), weight in zip(conditions, codes.weights, strict=True)
        ]
        return case(
            (and_(c.is_open.is_(True), c.resolved_status.is_not(None)), codes.resolved),
            (c.is_open.is_(True), 1 + sum(weighted)),
            else_=0,
        )

    def select_from(self) -> Any:
        cases = Case.__table__  # type: ignore[attr-defined]
        c = cases.c
        place = case(
            *((c.flags == value, index) for index, value in enumerate(self.flag_values)),
            else_=null(),
        )
        key = self.code() * len(self.flag_values) + place
        joined = cases.outerjoin(STRADDLING, STRADDLING.c.id == c.id).outerjoin(
            ALERT_SETS, ALERT_SETS.c.key == key
        )
        if self.python_lines:
            joined = joined.outerjoin(PYTHON_LINES, PYTHON_LINES.c.id == c.id)
        if self.offices:
            joined = joined.outerjoin(OFFICES, OFFICES.c.port_code == c.port_code)
        return joined

    def cells(self, fields: Sequence[str]) -> list[ColumnElement[Any]]:
        """The expression of each of `fields` (CASE_FIELDS, CEAR_FIELDS)."""
        c, t = Case.__table__.c, self.today  # type: ignore[attr-defined]
        expressions: dict[str, ColumnElement[Any]] = {
            **{name: _text_cell(c[name]) for name in FREE_TEXT},
            "fpf_office": OFFICES.c.office if self.offices else null(),
            "limitation_date": self.standing,
            "fallback_limitation_date": self.fallback,
            "file_by_date": _FileBy(self.standing),
            "days_remaining": _DaysBetween(literal(t, Date), self.standing),
            "recorded_sol_date": c.sol_date,
            "entries_expired": self.entries_expired,
            "waivers": c.waivers_total,
            "alerts": self.alerts.alerts,
            "assessed_amount": _Dollars(c.assessed_cents),
            "collected_amount": _Dollars(c.collected_cents),
            "uncollected_amount": _Dollars(self.uncollected),
            "entries_expired_loss_amount": _Dollars(self.expired_loss),
            "fallback_days_remaining": _DaysBetween(literal(t, Date), self.fallback),
            "days_since_action": _DaysBetween(self.anchor, literal(t, Date)),
            "cear_referral": self.alerts.cear_referral,
            # The verdict shows while the case is past its limit (`Assessment.verdict`).
            "triage": case((self.expired, c.triage), else_=null()),
            "triage_reason": case((self.expired, _text_cell(c.triage_reason)), else_=null()),
        }
        # The stored codes and engine values need no guard: the import normalizes them to
        # letters, digits, `-`, `_` and `;` (statutes, Centers, ports, rule ids, flags).
        plain = {
            "case_type",
            "statute",
            "culpability",
            "status",
            "center",
            "port_code",
            "rule",
            "entries_total",
            "missing_field",
            "fallback_flags",
            "last_action_date",
            "resolved_status",
            "resolved_date",
        }
        unknown = [name for name in fields if name not in expressions and name not in plain]
        if unknown:
            raise ValueError(f"no SQL for the export fields {unknown}")
        return [expressions[name] if name in expressions else c[name] for name in fields]

    def line(self, fields: Sequence[str]) -> ColumnElement[str]:
        """The CSV line of each case: its cells, comma-separated, CRLF-terminated (as the
        Python path wrote it, for the few cases in PYTHON_LINES)."""
        form = ",".join("%s" for _ in fields) + "\r\n"
        line = _Line(literal(form), *self.cells(fields))
        if not self.python_lines:
            return line
        python = PYTHON_LINES.c.case_line if fields == CASE_FIELDS else PYTHON_LINES.c.cear_line
        return case((PYTHON_LINES.c.id.is_not(None), python), else_=line)


def _is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


@contextmanager
def _frame(
    today: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
    where: Sequence[Any] = (),
) -> Iterator[_Frame]:
    """The frame of one bulk read of the cases matching `where`: the temporary tables filled
    (cases whose clocks straddle `today`, alert sets, offices), dropped afterwards."""
    connection = session.connection()
    tables = [STRADDLING, ALERT_SETS, OFFICES, FILE_BY_DAYS, PYTHON_LINES]
    for table in tables:
        table.drop(connection, checkfirst=True)
        table.create(connection)
    try:
        frame = _Frame(today, AlertCodes(thresholds), list(where), bool(offices))
        straddling, flags, unwritable = _scan(frame, session=session)
        frame.flag_values = sorted(flags)
        _fill_straddling(frame, straddling, session=session)
        _fill_python_lines(frame, unwritable, thresholds, session=session, offices=offices)
        frame.python_lines = bool(unwritable)
        places = {value: index for index, value in enumerate(frame.flag_values)}
        insert_many(
            connection,
            ALERT_SETS,
            [
                {
                    "key": code * len(places) + places[value],
                    "alerts": alerts or None,
                    "cear_referral": referral,
                    "summary": _summary_bits(alerts),
                }
                for value, code, alerts, referral in frame.codes.table(flags, today)
            ],
        )
        insert_many(
            connection,
            OFFICES,
            [
                {"port_code": port, "office": _csv_line(OFFICE, {OFFICE[0]: office})[:-2]}
                for port, office in offices.items()
            ],
        )
        if _is_sqlite(connection):
            raw = connection.connection.driver_connection
            raw.create_function(  # type: ignore[union-attr]
                FILE_BY_FUNCTION, 1, _FILE_BY_TEXT.__getitem__, deterministic=True
            )
        else:
            _fill_file_by_days(frame, connection)
        yield frame
    finally:
        for table in reversed(tables):
            table.drop(connection, checkfirst=True)


def _summary_bits(alerts: str) -> int:
    raised = set(alerts.split(";"))
    return (
        SUMMARY_EXPIRED * (AlertKind.EXPIRED in raised)
        + SUMMARY_BLANK_SOL * (AlertKind.BLANK_SOL in raised)
        + SUMMARY_SOL_LATER * (AlertKind.SOL_LATER_THAN_LAW in raised)
        + SUMMARY_REFERRAL * (AlertKind.CEAR_REFERRAL in raised)
        + SUMMARY_PENDING * (AlertKind.STATUS_CORRECTION_PENDING in raised)
    )


# The text a line writes that an import did not normalize to codes, and which a store filled
# before imports refused control characters may therefore hold a NUL in.
LINE_TEXT = FREE_TEXT


def _scan(frame: _Frame, *, session: Session) -> tuple[list[int], set[str], list[int]]:
    """One pass over the cases to read: the ids of those whose per-entry clocks straddle
    `today` (some have run, others not), every stored flags value, and the ids of the cases
    whose text the query cannot write."""
    c, t = Case.__table__.c, frame.today  # type: ignore[attr-defined]
    straddles = or_(
        and_(c.limitation_date < t, c.last_limitation_date >= t),
        and_(c.fallback_date < t, c.last_fallback_date >= t),
    )
    unwritable = or_(*(_HasNul(c[name]) for name in LINE_TEXT))
    ids, flags, odd = [], {""}, []
    for case_id, value, straddling, nul in session.connection().execute(
        select(c.id, c.flags, case((straddles, 1), else_=0), case((unwritable, 1), else_=0)).where(
            *frame.where, or_(c.flags != "", straddles, unwritable)
        )
    ):
        flags.add(value)
        if straddling:
            ids.append(case_id)
        if nul:
            odd.append(case_id)
    return ids, flags, odd


def _fill_python_lines(
    frame: _Frame,
    ids: list[int],
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
) -> None:
    """The lines of the cases with `ids`, assessed and written the Python way (`case_row`,
    `cear_row`, `safe_cell`, `csv.writer`)."""
    from solwatch.store.assessments import assess_batch
    from solwatch.store.cases import iter_records

    c = Case.__table__.c  # type: ignore[attr-defined]
    rows = []
    for start in range(0, len(ids), BATCH):
        where = [c.id.in_(ids[start : start + BATCH])]
        for batch in iter_records(session=session, where=where):
            assessed = assess_batch(batch, frame.today, thresholds, session=session)
            for (case_id, _), assessment in zip(batch, assessed, strict=True):
                rows.append(
                    {
                        "id": case_id,
                        "case_line": _csv_line(CASE_FIELDS, case_row(assessment, offices)),
                        "cear_line": _csv_line(CEAR_FIELDS, cear_row(assessment, offices)),
                    }
                )
    insert_many(session.connection(), PYTHON_LINES, rows)


# The one cell of an office's name, as a line writes it (its line end cut off).
OFFICE = ("fpf_office",)


def _csv_line(fields: Sequence[str], row: Mapping[str, Any]) -> str:
    """The CSV line of `row`, as `CsvRows` writes it."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(n, row.get(n)) for n in fields])
    return out.getvalue()


def _fill_straddling(frame: _Frame, ids: list[int], *, session: Session) -> None:
    """The standing on `today` of the cases with `ids`, whose per-entry clocks straddle it,
    from their clocks: what only the rules can say (`core/assessment.assess`)."""
    t = frame.today
    connection = session.connection()
    for start in range(0, len(ids), BATCH):
        rows = []
        for case_id, facts in load_facts(ids[start : start + BATCH], session=session).items():
            clocks = clocks_of(facts)
            standing = stand(
                clocks.limits,
                t,
                per_entry=clocks.per_entry,
                entries_total=len(facts.entries),
                entries_loss_cents=sum(entry.loss_cents for entry in facts.entries),
            )
            fallback = clocks.fallback
            rows.append(
                {
                    "id": case_id,
                    "limitation_date": standing.limitation_date,
                    "entries_expired": standing.entries_expired,
                    "expired_loss_cents": standing.expired_loss_cents,
                    "fallback_date": (
                        None
                        if fallback is None
                        else stand(fallback.limits, t, per_entry=fallback.per_entry).limitation_date
                    ),
                }
            )
        insert_many(connection, STRADDLING, rows)


def _fill_file_by_days(frame: _Frame, connection: Connection) -> None:
    """The file-by date of every standing date the read will meet (where the database cannot
    call `file_by_date` itself)."""
    days = connection.execute(
        select(frame.standing).distinct().select_from(frame.select_from()).where(*frame.where)
    ).scalars()
    rows = [{"day": day, "file_by": file_by_date(day)} for day in days if day is not None]
    insert_many(connection, FILE_BY_DAYS, rows)


def _stream(connection: Connection, statement: Any) -> Generator[Sequence[Any], None, None]:
    """The rows of `statement`; on SQLite straight from the driver's cursor."""
    if _is_sqlite(connection):
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        sql = str(compiled)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.arraysize = 1000
        yield from cursor.execute(sql)
        return
    # Options of this statement only: those of the connection would outlive it.
    yield from connection.execute(statement.execution_options(stream_results=True, yield_per=1000))


# --- export cases --------------------------------------------------------------------------


def write_case_lines(
    stream: IO[str],
    today: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
) -> int:
    """Every case as of `today`, by id, as the CSV of CASE_FIELDS; returns how many."""
    with _frame(today, thresholds, session=session, offices=offices) as frame:
        statement = (
            select(frame.line(CASE_FIELDS))
            .select_from(frame.select_from())
            .order_by(Case.__table__.c.id)  # type: ignore[attr-defined]
        )
        write_csv(stream, CASE_FIELDS, ())
        count = 0
        with closing(_stream(session.connection(), statement)) as rows:
            for chunk in batched(rows, CHUNK):
                stream.writelines(map(itemgetter(0), chunk))
                count += len(chunk)
    return count


# --- export cear ------------------------------------------------------------------------------

# The columns of a CEAR read before each case's line.
CENTER, PORT, NUMBER, MONTH, BITS, DUE, OWED, VERDICT, LINE = range(9)
OpenFile = Callable[[str], IO[str]]


def _cear_read(frame: _Frame, where: Sequence[Any], dialect: str, *, by_center: bool) -> Any:
    """The CEAR read of the open cases matching `where`, most urgent first (by Center first
    when `by_center`): what each case adds to a summary, and its line."""
    c, t = Case.__table__.c, frame.today  # type: ignore[attr-defined]
    due = case(
        (frame.standing < t, 0),
        (frame.standing <= t + timedelta(days=90), DUE_90 + DUE_180 + DUE_365),
        (frame.standing <= t + timedelta(days=180), DUE_180 + DUE_365),
        (frame.standing <= t + timedelta(days=365), DUE_365),
        else_=0,
    )
    owed = case((frame.expired, func.coalesce(frame.uncollected, 0)), else_=0)
    urgency = [
        frame.standing.is_not(None),
        frame.standing,
        binary_order(c.case_number, dialect),
    ]
    grouping = [c.center.is_(None), binary_order(c.center, dialect)] if by_center else []
    return (
        select(
            c.center,
            c.port_code,
            c.case_number,
            _Month(frame.standing),
            frame.alerts.summary,
            due,
            owed,
            c.triage,
            frame.line(CEAR_FIELDS),
        )
        .select_from(frame.select_from())
        .where(*where)
        .order_by(*grouping, *urgency)
    )


def _open_cases(centers: Sequence[str | None]) -> list[ColumnElement[bool]]:
    c = Case.__table__.c  # type: ignore[attr-defined]
    # A scan, not a walk of an index that starts with is_open: most cases are open.
    where: list[ColumnElement[bool]] = [func.coalesce(c.is_open, False).is_(True)]
    if centers:
        where.append(or_(*(c.center == code for code in centers)))
    return where


def write_cear_lines(
    open_file: OpenFile,
    as_of: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
    centers: Sequence[str | None] = (),
) -> dict[str, CenterSummary]:
    """Each Center's CEAR lines (the open cases, only those of `centers` when given), most
    urgent first, from one read sorted by the database, into `open_file(Center's file key)`
    as the read reaches it; returns each Center's summary (but its waivers signed in the
    month)."""
    where = _open_cases(centers)
    summaries: dict[str, CenterSummary] = {}
    dialect = session.connection().dialect.name
    with _frame(as_of, thresholds, session=session, offices=offices, where=where) as frame:
        statement = _cear_read(frame, where, dialect, by_center=True)
        with closing(_stream(session.connection(), statement)) as rows:
            for center, group in groupby(rows, itemgetter(CENTER)):
                key = file_key(center)
                summaries[key] = _write_group(open_file(key), group)
    return summaries


def write_fpf_lines(
    open_file: OpenFile,
    as_of: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
    office_of_port: Mapping[str, str],
) -> dict[str, CenterSummary]:
    """Each FP&F office's SOL report lines (the open cases of its ports, CEAR columns), most
    urgent first, from one read sorted by the database, into `open_file(office key)` (opened
    by the caller for every office beforehand); returns each office's summary."""
    c = Case.__table__.c  # type: ignore[attr-defined]
    where = [*_open_cases(()), c.port_code.in_(sorted(office_of_port))]
    dialect = session.connection().dialect.name
    keys = sorted(set(office_of_port.values()))
    tallies = {key: _Tally() for key in keys}
    handles = {key: open_file(key) for key in keys}
    with _frame(as_of, thresholds, session=session, offices=offices, where=where) as frame:
        statement = _cear_read(frame, where, dialect, by_center=False)
        with closing(_stream(session.connection(), statement)) as rows:
            for chunk in batched(rows, CHUNK):
                for port, group in groupby(chunk, itemgetter(PORT)):
                    key = office_of_port[port]
                    taken = list(group)
                    handles[key].writelines(map(itemgetter(LINE), taken))
                    tallies[key].add(taken)
    return {key: tally.summary() for key, tally in tallies.items()}


def _write_group(handle: IO[str], rows: Iterator[Sequence[Any]]) -> CenterSummary:
    """One file's lines from its rows of a CEAR read, and its summary, counted as the rows
    go by."""
    tally = _Tally()
    for chunk in batched(rows, CHUNK):
        handle.writelines(map(itemgetter(LINE), chunk))
        tally.add(chunk)
    return tally.summary()


class _Tally:
    """A CEAR summary (`reports/cear.CenterSummary`) counted from rows of a CEAR read: the
    counts by (limit month, summary bits, due bits, verdict), the dollars of expired cases by
    verdict, and the case numbers in order."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[Any, ...]] = Counter()
        self.owed: Counter[str | None] = Counter()
        self.numbers: list[str] = []

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        self.counts.update(map(itemgetter(MONTH, BITS, DUE, VERDICT), rows))
        self.numbers += map(itemgetter(NUMBER), rows)
        for row in rows:
            if row[OWED]:
                self.owed[row[VERDICT]] += row[OWED]

    def summary(self) -> CenterSummary:
        summary = CenterSummary(case_numbers=self.numbers)
        verdicts = summary.triage
        for (month, bits, due, verdict), count in self.counts.items():
            if bits & SUMMARY_PENDING:
                verdicts.status_correction_pending += count
                continue
            summary.open += count
            if month is not None:
                summary.limit_months[month] += count
            summary.blank_sol += count * bool(bits & SUMMARY_BLANK_SOL)
            summary.sol_later_than_law += count * bool(bits & SUMMARY_SOL_LATER)
            summary.cear_referrals_due += count * bool(bits & SUMMARY_REFERRAL)
            summary.due_90 += count * bool(due & DUE_90)
            summary.due_180 += count * bool(due & DUE_180)
            summary.due_365 += count * bool(due & DUE_365)
            if bits & SUMMARY_EXPIRED:
                summary.expired += count
                verdicts.count_expired(verdict, count, 0)
        for verdict, cents in self.owed.items():
            summary.expired_uncollected_cents += cents
            verdicts.count_expired(verdict, 0, cents)
        return summary
