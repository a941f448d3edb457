"""`solwatch import`: load extract files into the case store in one transaction.

All rows of all files are checked; if any is invalid (and `skip_invalid` is off) the whole
transaction is rolled back and every problem is reported. Unchanged rows are not written;
every changed value is kept in the history table with the file and line it came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select

from solwatch.core.facts import ENTRY_SEPARATOR, CaseType, Status
from solwatch.core.money import dollars
from solwatch.store import bulk, bulk_rows
from solwatch.store.cases import (
    CHILD_TABLES,
    RULES_VERSION,
    Case,
    CaseChange,
    CaseEntry,
    ImportRun,
    insert_many,
    recompute_pending,
    update_many,
)
from solwatch.store.extract import (
    COLUMNS,
    KINDS,
    ExtractError,
    Row,
    RowError,
    read_header,
    read_rows,
)

BATCH = 2000
# From this size of cases file on, a bulk load is read and merged by a second process.
WORKER_BYTES = 8_000_000
# Extract column -> Case attribute where the two differ.
CASE_ATTRIBUTES = {"assessed_amount": "assessed_cents", "collected_amount": "collected_cents"}
CHILD_KEYS: dict[str, tuple[str, ...]] = {
    "entries": ("entry_number",),
    "waivers": ("signed_date",),
    "tolling": ("start_date",),
    "events": ("event_date", "kind"),
}
# The columns of a new case row, before the extract's values.
NEW_CASE: dict[str, Any] = {
    **{
        CASE_ATTRIBUTES.get(name, name): None
        for name in COLUMNS["cases"]
        if name not in ("case_number", "status")
    },
    "case_type": CaseType.PENALTY.value,
    "rules_version": None,
}
CHILD_ATTRIBUTES = {"loss_amount": "loss_cents"}
# What a blank cell stores, where that is not NULL.
CHILD_DEFAULTS: dict[str, Any] = {"loss_cents": 0, "revives": False}
CHILD_LABELS = {
    "entries": "entry",
    "waivers": "waiver signed",
    "tolling": "tolling from",
    "events": "event",
}

Progress = Callable[[str, int, int], None]  # (file label, bytes done, bytes total)


@dataclass
class FileReport:
    path: str
    kind: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    computed: int = 0
    committed: bool = False
    import_id: int | None = None


def _text(value: Any) -> str | None:
    """A stored value as history text: ISO dates, plain strings."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _history_text(column: str, value: Any) -> str | None:
    if column.endswith("_amount"):
        return dollars(value)
    return _text(value)


def _batches(rows: Iterable[Row], size: int = BATCH) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _fingerprint(*parts: Any) -> bytes:
    """A compact key for duplicate detection, so a million keys fit in little memory."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=12).digest()


class _Import:
    def __init__(
        self,
        *,
        session: Session,
        run: ImportRun,
        as_of: date,
        now: datetime,
        columns: Mapping[str, str],
        status_map: Mapping[str, Status],
    ) -> None:
        self.session = session
        self.run = run
        self.as_of = as_of
        self.now = now
        self.columns = columns
        self.status_map = status_map
        self.report = ImportReport(import_id=run.id)
        self.rejected_cases: set[str] = set()
        self.rejects: list[tuple[RowError, Row]] = []

    # --- shared ---------------------------------------------------------------------------

    def _reject(self, row: Row, errors: Sequence[RowError], file: FileReport) -> None:
        """Report every error of a row, and keep the row once, with all its reasons."""
        self.report.errors.extend(errors)
        combined = RowError(
            errors[0].path,
            row.line,
            "; ".join(e.column for e in errors),
            "; ".join(e.reason for e in errors),
        )
        self.rejects.append((combined, row))
        file.rejected += 1

    def _history(self, changes: list[dict[str, Any]]) -> None:
        if changes:
            insert_many(self.session.connection(), CaseChange.__table__, changes)  # type: ignore[attr-defined]

    def _change(
        self, case_id: int, name: str, old: str | None, new: str | None, source: str
    ) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "field": name,
            "old_value": old,
            "new_value": new,
            "changed_at": self.now,
            "import_id": self.run.id,
            "source": source,
        }

    def rows(self, path: Path, kind: str, progress: Progress | None) -> Iterator[Row]:
        return read_rows(
            path,
            kind,
            as_of=self.as_of,
            columns=self.columns,
            status_map=self.status_map,
            progress=progress,
        )

    # --- cases ----------------------------------------------------------------------------

    def cases(self, path: Path, rows: Iterable[Row], file: FileReport) -> None:
        seen: set[bytes] = set()
        present = read_header(path, "cases", self.columns)
        for batch in _batches(rows):
            valid: dict[str, Row] = {}
            for row in batch:
                file.rows += 1
                number = row.values.get("case_number")
                errors = list(row.errors)
                if number is not None:
                    key = _fingerprint(number)
                    if key in seen:
                        errors.append(
                            RowError(
                                str(path),
                                row.line,
                                "case_number",
                                f"case {number!r} appears twice in this file",
                            )
                        )
                    seen.add(key)
                if errors or number is None:
                    if number is not None and number not in valid:
                        self.rejected_cases.add(number)
                    self._reject(row, errors, file)
                else:
                    valid[number] = row
            self._upsert_cases(valid, present, str(path), file)

    def _upsert_cases(
        self, valid: dict[str, Row], present: list[str], path: str, file: FileReport
    ) -> None:
        if not valid:
            return
        attributes = [CASE_ATTRIBUTES.get(name, name) for name in present]
        columns = [Case.__table__.c[a] for a in ("id", "case_number", *attributes)]  # type: ignore[attr-defined]
        connection = self.session.connection()
        existing = {
            row.case_number: row
            for row in connection.execute(
                select(*columns).where(col(Case.case_number).in_(list(valid)))
            )
        }
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for number, row in valid.items():
            values = {name: row.values.get(name) for name in present}
            if values.get("case_type") is None and "case_type" in values:
                values["case_type"] = CaseType.PENALTY.value
            old_row = existing.get(number)
            if old_row is None:
                new_rows.append(self._new_case(values))
                file.new += 1
                continue
            stored = old_row._mapping
            changed: dict[str, Any] = {}
            for name, value in values.items():
                attribute = CASE_ATTRIBUTES.get(name, name)
                if stored[attribute] != value:
                    changes.append(
                        self._change(
                            old_row.id,
                            name,
                            _history_text(name, stored[attribute]),
                            _history_text(name, value),
                            f"{path}:{row.line}",
                        )
                    )
                    changed[attribute] = value
            if changed:
                merged = {attribute: stored[attribute] for attribute in attributes}
                merged.update(changed)
                if "status" in merged:
                    merged["is_open"] = Status(merged["status"]).is_open
                updates.append({"b_id": old_row.id, **merged, "rules_version": None})
                file.changed += 1
            else:
                file.unchanged += 1
        if new_rows:
            insert_many(connection, Case.__table__, new_rows)  # type: ignore[attr-defined]
        update_many(connection, Case.__table__, updates)  # type: ignore[attr-defined]
        self._history(changes)

    def _new_case(self, values: dict[str, Any]) -> dict[str, Any]:
        record = dict(NEW_CASE)
        for name, value in values.items():
            record[CASE_ATTRIBUTES.get(name, name)] = value
        record["is_open"] = Status(record["status"]).is_open
        record["created_import_id"] = self.run.id
        return record

    # --- child rows -----------------------------------------------------------------------

    def children(self, path: Path, kind: str, rows: Iterable[Row], file: FileReport) -> None:
        seen: set[bytes] = set()
        present = [
            CHILD_ATTRIBUTES.get(name, name)
            for name in read_header(path, kind, self.columns)
            if name != "case_number"
        ]
        for batch in _batches(rows):
            numbers = {row.values["case_number"] for row in batch if "case_number" in row.values}
            ids: dict[str, int] = {}
            if numbers:
                ids = {
                    number: case_id
                    for number, case_id in self.session.exec(
                        select(Case.case_number, Case.id).where(col(Case.case_number).in_(numbers))
                    )
                    if case_id is not None
                }
            valid: list[tuple[int, Row]] = []
            entries = self._entries_of(batch, ids) if kind == "waivers" else {}
            for row in batch:
                file.rows += 1
                errors = list(row.errors)
                number = row.values.get("case_number")
                if number is not None and number not in ids:
                    why = (
                        "its row in the cases file was rejected"
                        if number in self.rejected_cases
                        else "no such case in the cases file or the store"
                    )
                    errors.append(
                        RowError(str(path), row.line, "case_number", f"{number!r}: {why}")
                    )
                elif number is not None and row.values.get("entries"):
                    errors += _unknown_entries(path, row, number, entries.get(ids[number], set()))
                if not errors:
                    key = _fingerprint(number, *(row.values.get(k) for k in CHILD_KEYS[kind]))
                    if key in seen:
                        errors.append(
                            RowError(
                                str(path),
                                row.line,
                                CHILD_KEYS[kind][0],
                                "the same row key appears twice in this file",
                            )
                        )
                    seen.add(key)
                if errors or number is None:
                    self._reject(row, errors, file)
                else:
                    valid.append((ids[number], row))
            self._upsert_children(kind, valid, present, str(path), file)

    def _entries_of(self, batch: list[Row], ids: Mapping[str, int]) -> dict[int, set[str]]:
        """The entry numbers on file for the cases of the waivers in `batch` that name
        entries (entries files are imported first, so this import's entries are there)."""
        wanted = {
            ids[row.values["case_number"]]
            for row in batch
            if row.values.get("entries") and row.values.get("case_number") in ids
        }
        found: dict[int, set[str]] = {}
        if wanted:
            for case_id, entry in self.session.connection().execute(
                select(CaseEntry.case_id, CaseEntry.entry_number).where(
                    col(CaseEntry.case_id).in_(wanted)
                )
            ):
                found.setdefault(case_id, set()).add(entry)
        return found

    def _upsert_children(
        self,
        kind: str,
        valid: list[tuple[int, Row]],
        present: list[str],
        path: str,
        file: FileReport,
    ) -> None:
        if not valid:
            return
        table = CHILD_TABLES[kind].__table__  # type: ignore[attr-defined]
        keys = CHILD_KEYS[kind]
        columns = _child_columns(CHILD_TABLES[kind])
        case_ids = {case_id for case_id, _ in valid}
        connection = self.session.connection()
        existing = {
            (row.case_id, *(row._mapping[k] for k in keys)): row
            for row in connection.execute(select(table).where(table.c.case_id.in_(case_ids)))
        }
        new_cases = set(
            connection.execute(
                select(Case.id).where(
                    col(Case.id).in_(case_ids), col(Case.created_import_id) == self.run.id
                )
            ).scalars()
        )
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        touched: set[int] = set()
        for case_id, row in valid:
            values = {
                CHILD_ATTRIBUTES.get(name, name): value
                for name, value in row.values.items()
                if name != "case_number"
            }
            values.update(
                {name: CHILD_DEFAULTS.get(name) for name in present if values.get(name) is None}
            )
            label = f"{CHILD_LABELS[kind]} " + " ".join(
                _text(row.values.get(k)) or "" for k in keys
            )
            source = f"{path}:{row.line}"
            found = existing.get((case_id, *(row.values.get(k) for k in keys)))
            if found is None:
                record = {name: values.get(name, CHILD_DEFAULTS.get(name)) for name in columns}
                record["case_id"] = case_id
                inserts.append(record)
                file.new += 1
                if case_id not in new_cases:
                    touched.add(case_id)
                    changes.append(self._change(case_id, kind, None, f"added {label}", source))
                continue
            stored = found._mapping
            changed = {}
            for name in present:
                if name in keys:
                    continue
                old, new = stored[name], values.get(name)
                if old != new:
                    changes.append(
                        self._change(case_id, f"{label}: {name}", _text(old), _text(new), source)
                    )
                    changed[name] = new
            if changed:
                merged = {name: stored[name] for name in present if name not in keys}
                updates.append({"b_id": found.id, **merged, **changed})
                touched.add(case_id)
                file.changed += 1
            else:
                file.unchanged += 1
        if inserts:
            insert_many(connection, table, inserts)
        update_many(connection, table, updates)
        if touched:
            connection.execute(
                update(Case).where(col(Case.id).in_(touched)).values(rules_version=None)
            )
        self._history(changes)


def _unknown_entries(path: Path, row: Row, number: str, on_file: set[str]) -> list[RowError]:
    """An error if a waiver names an entry its case does not have."""
    unknown = [e for e in row.values["entries"].split(ENTRY_SEPARATOR) if e not in on_file]
    if not unknown:
        return []
    listed = ", ".join(repr(entry) for entry in unknown)
    return [
        RowError(
            str(path),
            row.line,
            "entries",
            f"{listed}: not an entry of case {number!r} (in the entries file or the store)",
        )
    ]


def _child_columns(table: type[SQLModel]) -> list[str]:
    return [
        column.name
        for column in table.__table__.columns  # type: ignore[attr-defined]
        if column.name not in ("id", "case_id", "created_import_id")
    ]


def ordered(paths: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Cases first, then the files that refer to them."""
    return sorted(paths, key=lambda item: KINDS.index(item[1]))


def import_extracts(
    files: Sequence[tuple[Path, str]],
    *,
    session: Session,
    as_of: date,
    now: datetime,
    columns: Mapping[str, str] | None = None,
    status_map: Mapping[str, Status] | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    computing: Callable[[int], None] | None = None,
) -> tuple[ImportReport, list[tuple[RowError, Row]]]:
    """Import `files` (path, kind) in one transaction; returns the report and rejected rows.

    Commits only when nothing was invalid (or `skip_invalid`) and not `dry_run`. Into an empty
    SQLite store a valid extract is loaded in bulk (`store/bulk`); anything else, or any
    problem found on the way, is imported case by case.
    """
    options: dict[str, Any] = {
        "as_of": as_of,
        "now": now,
        "columns": columns,
        "status_map": status_map,
        "dry_run": dry_run,
        "progress": progress,
        "computing": computing,
    }
    if bulk.applies(files, session=session):
        done = _import_in_bulk(files, session=session, **options)
        if done is not None:
            return done
    return _import_case_by_case(files, session=session, skip_invalid=skip_invalid, **options)


def _started(
    files: Sequence[tuple[Path, str]],
    *,
    session: Session,
    as_of: date,
    now: datetime,
    columns: Mapping[str, str] | None,
    status_map: Mapping[str, Status] | None,
) -> tuple[ImportRun, _Import]:
    run = ImportRun(started_at=now, as_of=as_of, files=json.dumps([str(path) for path, _ in files]))
    session.add(run)
    session.flush()
    job = _Import(
        session=session,
        run=run,
        as_of=as_of,
        now=now,
        columns=columns or {},
        status_map=status_map or {},
    )
    return run, job


def _import_in_bulk(
    files: Sequence[tuple[Path, str]],
    *,
    session: Session,
    as_of: date,
    now: datetime,
    columns: Mapping[str, str] | None,
    status_map: Mapping[str, Status] | None,
    dry_run: bool,
    progress: Progress | None,
    computing: Callable[[int], None] | None,
) -> tuple[ImportReport, list[tuple[RowError, Row]]] | None:
    """The bulk load into an empty store; None (all of it rolled back) when the extract has
    anything the case-at-a-time path must report."""
    run, job = _started(
        files, session=session, as_of=as_of, now=now, columns=columns, status_map=status_map
    )
    assert run.id is not None
    plan = bulk_rows.Plan(
        paths={kind: path for path, kind in files},
        as_of=as_of,
        columns=dict(columns or {}),
        status_map=dict(status_map or {}),
        run_id=run.id,
        rules_version=RULES_VERSION,
    )
    big = plan.paths["cases"].stat().st_size >= WORKER_BYTES
    compute = bulk_rows.in_worker if big else bulk_rows.messages
    try:
        counts = bulk.load(
            plan,
            lambda plan: compute(plan, progress),
            session=session,
            now=now,
            dry_run=dry_run,
            computing=computing,
        )
    except (bulk.Fallback, ExtractError):
        session.rollback()
        return None
    for path, kind in ordered(files):
        count = counts[kind]
        job.report.files.append(FileReport(str(path), kind, rows=count, new=count))
    if dry_run:
        session.rollback()
        return job.report, job.rejects
    job.report.computed = counts["cases"]
    run.summary = json.dumps([file.__dict__ for file in job.report.files])
    session.commit()
    job.report.committed = True
    return job.report, job.rejects


def _import_case_by_case(
    files: Sequence[tuple[Path, str]],
    *,
    session: Session,
    as_of: date,
    now: datetime,
    columns: Mapping[str, str] | None,
    status_map: Mapping[str, Status] | None,
    dry_run: bool,
    skip_invalid: bool,
    progress: Progress | None,
    computing: Callable[[int], None] | None,
) -> tuple[ImportReport, list[tuple[RowError, Row]]]:
    """Each file in turn, each row upserted with its history, then every case it touched
    recomputed."""
    run, job = _started(
        files, session=session, as_of=as_of, now=now, columns=columns, status_map=status_map
    )
    try:
        for path, kind in ordered(files):
            file = FileReport(str(path), kind)
            job.report.files.append(file)
            rows = job.rows(path, kind, progress)
            if kind == "cases":
                job.cases(path, rows, file)
            else:
                job.children(path, kind, rows, file)
    except ExtractError as error:
        job.report.errors.append(error.error)
        session.rollback()
        return job.report, job.rejects
    if dry_run or (job.report.errors and not skip_invalid):
        session.rollback()
        return job.report, job.rejects
    job.report.computed = recompute_pending(session=session, now=now, advance=computing)
    run.summary = json.dumps([file.__dict__ for file in job.report.files])
    session.commit()
    job.report.committed = True
    return job.report, job.rejects
