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
from collections import Counter
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
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
from solwatch.core.dates import file_by_date
from solwatch.core.facts import CaseType
from solwatch.core.limitations import VIOLATION_STATUTES
from solwatch.core.summary import clocks_of
from solwatch.reports.alert_codes import AlertCodes
from solwatch.reports.cear import CEAR_FIELDS, CenterSummary, file_key
from solwatch.reports.rows import CASE_FIELDS, FORMULA_STARTS, safe_cell
from solwatch.store.cases import Case, insert_many, load_facts

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
    "CAST(abs({0}) / 100 AS TEXT) || '.' || lpad(CAST(abs({0}) % 100 AS TEXT), 2, '0') END",
)
# Whether the text holds the character.
_Contains = _function(
    "Contains", Boolean(), sqlite="instr({0}, {1}) > 0", other="strpos({0}, {1}) > 0"
)
# The arguments as text, each NULL as nothing, by a format of `%s` placeholders.
_Line = _function("Line", String(), sqlite="printf({all})", other="format({all})")
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
DUE_90, DUE_180, DUE_365 = 1, 2, 4
BATCH = 500


def csv_cell(text: str) -> str:
    """One cell as `csv.writer` writes it (QUOTE_MINIMAL, CRLF line ends)."""
    if any(character in text for character in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


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
        return case((c.is_open.is_(True), 1 + sum(weighted)), else_=0)

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
        }
        unknown = [name for name in fields if name not in expressions and name not in plain]
        if unknown:
            raise ValueError(f"no SQL for the export fields {unknown}")
        return [expressions[name] if name in expressions else c[name] for name in fields]

    def line(self, fields: Sequence[str]) -> ColumnElement[str]:
        """The CSV line of each case: its cells, comma-separated, CRLF-terminated."""
        form = ",".join("%s" for _ in fields) + "\r\n"
        return _Line(literal(form), *self.cells(fields))


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
    tables = [STRADDLING, ALERT_SETS, OFFICES, FILE_BY_DAYS]
    for table in tables:
        table.drop(connection, checkfirst=True)
        table.create(connection)
    try:
        frame = _Frame(today, AlertCodes(thresholds), list(where), bool(offices))
        straddling, flags = _scan(frame, session=session)
        frame.flag_values = sorted(flags)
        _fill_straddling(frame, straddling, session=session)
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
                {"port_code": port, "office": csv_cell(safe_cell("fpf_office", office))}
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
    )


def _scan(frame: _Frame, *, session: Session) -> tuple[list[int], set[str]]:
    """One pass over the cases to read: the ids of those whose per-entry clocks straddle
    `today` (some have run, others not), and every stored flags value."""
    c, t = Case.__table__.c, frame.today  # type: ignore[attr-defined]
    straddles = or_(
        and_(c.limitation_date < t, c.last_limitation_date >= t),
        and_(c.fallback_date < t, c.last_fallback_date >= t),
    )
    ids, flags = [], {""}
    for case_id, value, straddling in session.connection().execute(
        select(c.id, c.flags, case((straddles, 1), else_=0)).where(
            *frame.where, or_(c.flags != "", straddles)
        )
    ):
        flags.add(value)
        if straddling:
            ids.append(case_id)
    return ids, flags


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
    yield from connection.execution_options(stream_results=True, yield_per=1000).execute(statement)


def _header(stream: IO[str], fields: Sequence[str]) -> None:
    csv.writer(stream, lineterminator="\r\n").writerow(fields)


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
        _header(stream, CASE_FIELDS)
        count = 0
        with closing(_stream(session.connection(), statement)) as rows:
            for chunk in _chunks(rows):
                stream.writelines(map(itemgetter(0), chunk))
                count += len(chunk)
    return count


def _chunks(rows: Iterator[Sequence[Any]], size: int = 5000) -> Iterator[list[Sequence[Any]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


# --- export cear ------------------------------------------------------------------------------


def write_cear_lines(
    folder: Path,
    month: str,
    as_of: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
    centers: Sequence[str | None] = (),
) -> dict[str, CenterSummary]:
    """`cear-MONTH-<center>.csv.partial` of each Center with open cases (only those of
    `centers` when given), most urgent first, from one read sorted by the database, each file
    written as the read reaches it; returns each Center's summary (but its waivers signed in
    the month). `reports/exports.finish_cear_files` names the files when all are written."""
    c = Case.__table__.c  # type: ignore[attr-defined]
    # A scan, not a walk of an index that starts with is_open: most cases are open.
    where: list[ColumnElement[bool]] = [func.coalesce(c.is_open, False).is_(True)]
    if centers:
        where.append(or_(*(c.center == code for code in centers)))
    summaries: dict[str, CenterSummary] = {}
    folder.mkdir(parents=True, exist_ok=True)
    with _frame(as_of, thresholds, session=session, offices=offices, where=where) as frame:
        t = as_of
        due = case(
            (frame.standing < t, 0),
            (frame.standing <= t + timedelta(days=90), DUE_90 + DUE_180 + DUE_365),
            (frame.standing <= t + timedelta(days=180), DUE_180 + DUE_365),
            (frame.standing <= t + timedelta(days=365), DUE_365),
            else_=0,
        )
        expired_owed = case(
            (
                frame.alerts.summary.op("&")(SUMMARY_EXPIRED) != 0,
                func.coalesce(frame.uncollected, 0),
            ),
            else_=0,
        )
        statement = (
            select(
                c.center,
                _Month(frame.standing),
                frame.alerts.summary,
                due,
                expired_owed,
                frame.line(CEAR_FIELDS),
            )
            .select_from(frame.select_from())
            .where(*where)
            .order_by(
                c.center.is_(None),
                c.center,
                frame.standing.is_not(None),
                frame.standing,
                c.case_number,
            )
        )
        with closing(_stream(session.connection(), statement)) as rows:
            for center, group in groupby(rows, itemgetter(0)):
                key = file_key(center)
                summaries[key] = _write_center(folder / f"cear-{month}-{key}.csv.partial", group)
    return summaries


def _write_center(path: Path, rows: Iterator[Sequence[Any]]) -> CenterSummary:
    """One Center's file from its rows of the CEAR read, and its summary, counted as the rows
    go by."""
    counts: Counter[tuple[Any, ...]] = Counter()
    owed = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        _header(handle, CEAR_FIELDS)
        for chunk in _chunks(rows):
            handle.writelines(map(itemgetter(5), chunk))
            counts.update(map(itemgetter(1, 2, 3), chunk))
            owed += sum(map(itemgetter(4), chunk))
    return _summary(counts, owed)


def _summary(counts: Counter[tuple[Any, ...]], owed: int) -> CenterSummary:
    """A Center's CEAR summary from the counts of its cases by (limit month, summary bits,
    due bits)."""
    summary = CenterSummary(expired_uncollected_cents=owed)
    for (month, bits, due), count in counts.items():
        summary.open += count
        if month is not None:
            summary.limit_months[month] += count
        summary.expired += count * bool(bits & SUMMARY_EXPIRED)
        summary.blank_sol += count * bool(bits & SUMMARY_BLANK_SOL)
        summary.sol_later_than_law += count * bool(bits & SUMMARY_SOL_LATER)
        summary.cear_referrals_due += count * bool(bits & SUMMARY_REFERRAL)
        summary.due_90 += count * bool(due & DUE_90)
        summary.due_180 += count * bool(due & DUE_180)
        summary.due_365 += count * bool(due & DUE_365)
    return summary
