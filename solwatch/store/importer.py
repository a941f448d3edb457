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
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select

from solwatch.core.batches import batched
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
from solwatch.store.locks import DEFAULT_WAIT_SECONDS, lock_imports
from solwatch.store.pg_copy import Stage, apply_cases, apply_children, fill_blanks, settle_revives
from solwatch.store.resolutions import Correction, reconcile_corrections

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
# What a blank cell means for a case, where that is not NULL.
CASE_DEFAULTS: dict[str, Any] = {"case_type": CaseType.PENALTY.value}
CHILD_ATTRIBUTES = {"loss_amount": "loss_cents"}
# What a blank cell stores, where that is not NULL.
CHILD_DEFAULTS: dict[str, Any] = {"loss_cents": 0, "revives": False}
# A waiver's term is stated as a whole: a row that gives its end date or its length replaces
# both (the other blank), so a stored end date never joins a new term.
TERM = ("expires_date", "term_years")
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
    # Stored values whose cell is blank in the extract: kept, or cleared with `blank_clears`.
    blank: int = 0

    def applied(self, staged: int, new: int, changed: int) -> None:
        """Count the rows of a file applied in bulk: `staged` valid rows, of which `new`
        were inserted and `changed` updated."""
        self.new += new
        self.changed += changed
        self.unchanged += staged - new - changed


@dataclass(frozen=True)
class Rejected:
    """A row the import left out: the file it came from and that file's header, the row as
    read, and every reason (`FILE:LINE: column: reason`, joined with "; ")."""

    path: str
    header: list[str]
    row: Row
    reason: str


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    blank_clears: bool = False
    computed: int = 0
    committed: bool = False
    import_id: int | None = None
    # Staff's status corrections in force, against what the extract now says.
    corrections: list[Correction] = field(default_factory=list)


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
        blank_clears: bool,
    ) -> None:
        self.session = session
        self.run = run
        self.as_of = as_of
        self.now = now
        self.columns = columns
        self.status_map = status_map
        self.blank_clears = blank_clears
        self.report = ImportReport(import_id=run.id, blank_clears=blank_clears)
        self.rejected_cases: set[str] = set()
        self.rejects: list[Rejected] = []
        self.headers: dict[str, list[str]] = {}
        # On PostgreSQL each file's valid rows are staged with COPY and applied set-based.
        self.bulk = session.connection().dialect.name == "postgresql"

    # --- shared ---------------------------------------------------------------------------

    def _reject(self, row: Row, errors: Sequence[RowError], file: FileReport) -> None:
        """Report every error of a row, and keep the row once, with all its reasons."""
        self.report.errors.extend(errors)
        reason = "; ".join(str(error) for error in errors)
        self.rejects.append(Rejected(file.path, self.headers.get(file.path, []), row, reason))
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

    def header(self, path: Path, kind: str) -> list[str]:
        """The known columns of a file's header; what it ignores is reported as warnings."""
        header = read_header(path, kind, self.columns)
        self.report.warnings += header.warnings
        self.headers[str(path)] = header.titles
        return header.columns

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
        present = self.header(path, "cases")
        fields = {CASE_ATTRIBUTES.get(n, n): n for n in present if n != "case_number"}
        stage = (
            Stage(self.session.connection(), Case.__table__, ["case_number", *fields])  # type: ignore[attr-defined]
            if self.bulk
            else None
        )
        for batch in batched(rows, BATCH):
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
            if stage is None:
                self._upsert_cases(valid, present, str(path), file)
            else:
                stage.copy(
                    (row.line, number, *(row.values.get(n) for n in fields.values()))
                    for number, row in valid.items()
                )
        if stage is not None:
            file.blank += fill_blanks(
                stage,
                target="cases",
                keys=["case_number"],
                defaults=CASE_DEFAULTS,
                blank_clears=self.blank_clears,
            )
            new, changed = apply_cases(
                stage,
                fields=fields,
                open_statuses=[status.value for status in Status if status.is_open],
                new_case=NEW_CASE,
                source=str(path),
                import_id=self.run.id,
                now=self.now,
            )
            file.applied(stage.rows, new, changed)

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
            old_row = existing.get(number)
            if old_row is None:
                new_rows.append(self._new_case({**values, **_blank_defaults(values)}))
                file.new += 1
                continue
            stored = old_row._mapping
            changed: dict[str, Any] = {}
            for name, value in values.items():
                attribute = CASE_ATTRIBUTES.get(name, name)
                if value is None:
                    value = CASE_DEFAULTS.get(name)
                    if stored[attribute] in (None, value):
                        continue
                    file.blank += 1
                    if not self.blank_clears:
                        continue
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
            for name in self.header(path, kind)
            if name != "case_number"
        ]
        table = CHILD_TABLES[kind].__table__  # type: ignore[attr-defined]
        stage = (
            Stage(self.session.connection(), table, ["case_id", *present]) if self.bulk else None
        )
        for batch in batched(rows, BATCH):
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
            if stage is None:
                self._upsert_children(kind, valid, present, str(path), file)
            else:
                stage.copy((row.line, case_id, *_staged(row, present)) for case_id, row in valid)
        if stage is not None:
            keys = CHILD_KEYS[kind]
            file.blank += fill_blanks(
                stage,
                target=table.name,
                keys=["case_id", *keys],
                defaults=CHILD_DEFAULTS,
                blank_clears=self.blank_clears,
                together=TERM if kind == "waivers" else (),
            )
            if kind == "waivers":
                settle_revives(stage, keys=["case_id", *keys])
            new, changed = apply_children(
                stage,
                keys=keys,
                kind=kind,
                label=CHILD_LABELS[kind],
                columns=_child_columns(CHILD_TABLES[kind]),
                defaults=CHILD_DEFAULTS,
                source=str(path),
                import_id=self.run.id,
                now=self.now,
            )
            file.applied(stage.rows, new, changed)

    def _child_values(
        self,
        kind: str,
        stored: Any,
        values: Mapping[str, Any],
        row: Row,
        present: list[str],
        file: FileReport,
    ) -> dict[str, Any]:
        """The values a row gives a stored child row: a blank cell keeps the stored value
        (counted in `file.blank`) unless `blank_clears`; a waiver's term is taken whole."""
        stated = {CHILD_ATTRIBUTES.get(name, name) for name in row.values}
        if kind == "waivers" and stated & set(TERM):
            stated |= set(TERM)
        result: dict[str, Any] = {}
        for name in present:
            if name in CHILD_KEYS[kind]:
                continue
            old, new = stored[name], values.get(name)
            if name not in stated and old not in (None, CHILD_DEFAULTS.get(name)):
                file.blank += 1
                if not self.blank_clears:
                    new = old
            result[name] = new
        if result.get("revives") and result.get("expires_date", stored["expires_date"]) is None:
            result["revives"] = False  # a reviving waiver needs its end date: its term replaced it
        return result

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
            values = _child_values(row, present)
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
            for name, new in self._child_values(kind, stored, values, row, present, file).items():
                old = stored[name]
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


def _blank_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: default
        for name, default in CASE_DEFAULTS.items()
        if name in values and values[name] is None
    }


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


def _child_values(row: Row, present: Sequence[str]) -> dict[str, Any]:
    """A child row's stored values, blanks in `present` columns as CHILD_DEFAULTS; the
    `present` columns first, in order."""
    values = {
        CHILD_ATTRIBUTES.get(name, name): value
        for name, value in row.values.items()
        if name != "case_number"
    }
    staged = {name: values.get(name) for name in present}
    staged.update({name: CHILD_DEFAULTS.get(name) for name in present if staged[name] is None})
    return {**staged, **{k: v for k, v in values.items() if k not in staged}}


def _staged(row: Row, present: Sequence[str]) -> list[Any]:
    """A child row's `present` values as staged on PostgreSQL: a blank cell is NULL, settled
    by pg_copy.fill_blanks."""
    values = {CHILD_ATTRIBUTES.get(name, name): value for name, value in row.values.items()}
    return [values.get(name) for name in present]


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
    blank_clears: bool = False,
    progress: Progress | None = None,
    computing: Callable[[int], None] | None = None,
    lock_wait_seconds: float = DEFAULT_WAIT_SECONDS,
    waiting: Callable[[], None] | None = None,
    keep_rejects: Callable[[list[Rejected]], None] | None = None,
) -> tuple[ImportReport, list[Rejected]]:
    """Import `files` (path, kind) in one transaction; returns the report and rejected rows.

    Commits only when nothing was invalid (or `skip_invalid`) and not `dry_run`. A blank cell
    keeps the stored value unless `blank_clears`. One import at a time per store (see
    locks): if another import holds it, `waiting` is called and the import waits up to
    `lock_wait_seconds` (then StoreBusy, nothing written). `keep_rejects` is given the
    rejected rows before the import commits: if it fails, nothing is imported.

    Into an empty store a valid extract is loaded in bulk (`store/bulk`); anything
    else, or any problem found on the way, is imported case by case, which reports it.
    """
    options = _Options(
        as_of=as_of,
        now=now,
        columns=columns or {},
        status_map=status_map or {},
        blank_clears=blank_clears,
        dry_run=dry_run,
        progress=progress,
        computing=computing,
    )
    lock_imports(session, waiting, wait_seconds=lock_wait_seconds)
    if bulk.applies(files, session=session):
        done = _import_in_bulk(files, session, options)
        if done is not None:
            return done
        # The rollback let the lock go: take it again for the case-at-a-time import.
        lock_imports(session, waiting, wait_seconds=lock_wait_seconds)
    return _import_case_by_case(
        files, session, options, skip_invalid=skip_invalid, keep_rejects=keep_rejects
    )


@dataclass(frozen=True)
class _Options:
    """What both ways of importing are given."""

    as_of: date
    now: datetime
    columns: Mapping[str, str]
    status_map: Mapping[str, Status]
    blank_clears: bool = False
    dry_run: bool = False
    progress: Progress | None = None
    computing: Callable[[int], None] | None = None


def _started(
    files: Sequence[tuple[Path, str]], session: Session, options: _Options
) -> tuple[ImportRun, _Import]:
    run = ImportRun(
        started_at=options.now,
        as_of=options.as_of,
        files=json.dumps([str(path) for path, _ in files]),
    )
    session.add(run)
    session.flush()
    job = _Import(
        session=session,
        run=run,
        as_of=options.as_of,
        now=options.now,
        columns=options.columns,
        status_map=options.status_map,
        blank_clears=options.blank_clears,
    )
    return run, job


def _import_in_bulk(
    files: Sequence[tuple[Path, str]], session: Session, options: _Options
) -> tuple[ImportReport, list[Rejected]] | None:
    """The bulk load into an empty store; None (all of it rolled back) when the extract has
    anything the case-at-a-time path must report."""
    run, job = _started(files, session, options)
    assert run.id is not None
    plan = bulk_rows.Plan(
        paths={kind: path for path, kind in files},
        as_of=options.as_of,
        columns=dict(options.columns),
        status_map=dict(options.status_map),
        run_id=run.id,
        rules_version=RULES_VERSION,
    )
    big = plan.paths["cases"].stat().st_size >= WORKER_BYTES
    compute = bulk_rows.in_worker if big else bulk_rows.messages
    try:
        for path, kind in ordered(files):
            job.header(path, kind)  # its warnings, as the case-at-a-time import gives them
        counts = bulk.load(
            plan,
            lambda plan: compute(plan, options.progress),
            session=session,
            now=options.now,
            dry_run=options.dry_run,
            computing=options.computing,
        )
    except (bulk.Fallback, ExtractError):
        session.rollback()
        return None
    for path, kind in ordered(files):
        count = counts[kind]
        job.report.files.append(FileReport(str(path), kind, rows=count, new=count))
    if options.dry_run:
        session.rollback()
        return job.report, job.rejects
    job.report.computed = counts["cases"]
    run.summary = json.dumps([file.__dict__ for file in job.report.files])
    session.commit()
    job.report.committed = True
    return job.report, job.rejects


def _import_case_by_case(
    files: Sequence[tuple[Path, str]],
    session: Session,
    options: _Options,
    *,
    skip_invalid: bool,
    keep_rejects: Callable[[list[Rejected]], None] | None,
) -> tuple[ImportReport, list[Rejected]]:
    """Each file in turn, each row upserted with its history, then every case it touched
    recomputed."""
    run, job = _started(files, session, options)
    try:
        for path, kind in ordered(files):
            file = FileReport(str(path), kind)
            job.report.files.append(file)
            rows = job.rows(path, kind, options.progress)
            if kind == "cases":
                job.cases(path, rows, file)
            else:
                job.children(path, kind, rows, file)
    except ExtractError as error:
        job.report.errors.extend(error.errors)
        session.rollback()
        return job.report, job.rejects
    if options.dry_run or (job.report.errors and not skip_invalid):
        session.rollback()
        return job.report, job.rejects
    if keep_rejects is not None and job.rejects:
        keep_rejects(job.rejects)
    job.report.computed = recompute_pending(
        session=session, now=options.now, advance=options.computing
    )
    job.report.corrections = reconcile_corrections(
        session=session, now=options.now, import_id=run.id
    )
    run.summary = json.dumps([file.__dict__ for file in job.report.files])
    session.commit()
    job.report.committed = True
    return job.report, job.rejects
