"""The final rows of a bulk load (`store/bulk`): an extract read, checked and computed once,
in this process or a second one, while the first writes.

Extracts list a case's child rows in the order of their cases, so the cases file and the
entries, waivers, tolling and events files are read side by side: each case's rows are at hand
when the case is read, and memory holds one batch, not the extract. Each case is computed once,
from its complete facts, with the rules' fast path (`core/summary`), into its final stored
row, computed fields included, and its child rows. Child rows out of that order come last, as
they are, for `store/bulk` to load once every case is in.

    python -m solwatch.store.bulk_rows

does the same in a second process: it reads a pickled `Plan` on standard input and writes the
pickled messages of `messages` on standard output. It imports only the extract reader and the
core, so it starts in a fraction of a second. Parsing and computing are most of an import's
work; the other core does them while this one writes.
"""

from __future__ import annotations

import gc
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from solwatch.core.batches import batched
from solwatch.core.facts import (
    ENTRY_SEPARATOR,
    CaseType,
    Culpability,
    Entry,
    Event,
    Status,
    TollingPeriod,
    Waiver,
)
from solwatch.core.summary import summary_of
from solwatch.core.triage import verdict_of
from solwatch.store.extract import COLUMNS, KINDS, ExtractError, Row, read_rows

BATCH = 5000
CHILD_KINDS = KINDS[1:]
CASE_TYPES = {kind.value: kind for kind in CaseType}
CULPABILITIES = {kind.value: kind for kind in Culpability}
OPEN = frozenset(status.value for status in Status if status.is_open)
PENALTY = CaseType.PENALTY.value
FIELDS = COLUMNS["cases"]
# The stored columns of a case, in the order of its final row.
CASE_COLUMNS = (
    "id",
    "case_number",
    "case_type",
    "statute",
    "culpability",
    "status",
    "is_open",
    "center",
    "port_code",
    "importer_name",
    "importer_number",
    "violation_date",
    "discovery_date",
    "property_discovery_date",
    "initiated_date",
    "last_action_date",
    "sol_date",
    "assessed_cents",
    "collected_cents",
    "created_import_id",
    "rule",
    "limitation_date",
    "last_limitation_date",
    "fallback_date",
    "last_fallback_date",
    "missing_field",
    "flags",
    "fallback_flags",
    "attention",
    "entries_total",
    "entries_loss_cents",
    "waivers_total",
    "triage",
    "triage_reason",
    "rules_version",
)
# The stored columns of each child row after its id and case_id, and the extract column each
# comes from.
CHILD_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "entries": (
        ("entry_number", "entry_number"),
        ("entry_date", "entry_date"),
        ("loss_cents", "loss_amount"),
    ),
    "waivers": (
        ("signed_date", "signed_date"),
        ("expires_date", "expires_date"),
        ("term_years", "term_years"),
        ("revoked_date", "revoked_date"),
        ("revives", "revives"),
        ("entries", "entries"),
    ),
    "tolling": (("start_date", "start_date"), ("end_date", "end_date"), ("reason", "reason")),
    "events": (("event_date", "event_date"), ("kind", "kind")),
}
# What a blank cell stores, where that is not NULL (as `store/importer` stores it).
CHILD_DEFAULTS = {"loss_cents": 0, "revives": False}
# The columns that identify a child row within its case.
CHILD_KEYS = {"entries": (0,), "waivers": (0,), "tolling": (0,), "events": (0, 1)}
# Where a waiver's entries are in its final row: (id, case_id, signed_date, ..., entries).
WAIVER_ENTRIES = 2 + [name for name, _ in CHILD_COLUMNS["waivers"]].index("entries")


class Invalid(Exception):
    """A row with a problem, or a file that cannot be read: for the case-at-a-time import to
    report."""


@dataclass(frozen=True)
class Plan:
    """What to read and how: the files by kind, the import's settings, and what the rows
    carry (the import run's id, the rules' version)."""

    paths: dict[str, Path]
    as_of: date
    columns: Mapping[str, str] = field(default_factory=dict)
    status_map: Mapping[str, Status] = field(default_factory=dict)
    run_id: int = 0
    rules_version: int = 0


# ("cases", [(values in FIELDS order, child rows of each kind or None), ...], the first case's
# id) per batch of cases, which `final_rows` computes into the stored rows; then ("rest", kind,
# [(case number, child row without its case_id), ...]) for child rows out of their cases'
# order; then ("done", rows read from each file); and ("progress", file name, bytes read,
# bytes in all) as it goes.
Message = tuple[Any, ...]
Progress = Callable[[str, int, int], None]


class _IsoDays(dict[Any, Any]):
    """Days as the ISO text SQLAlchemy stores on SQLite, remembered (a million rows share a
    few thousand days); None stays None."""

    def __missing__(self, day: date) -> str:
        text = self[day] = day.isoformat()
        return text


class _Days(dict[Any, Any]):
    """ISO days as dates, remembered; None stays None."""

    def __missing__(self, text: str) -> date:
        day = self[text] = date.fromisoformat(text)
        return day


# Rows travel, and are stored, with their days as ISO text: a date object costs several
# times a string to pickle, and each distinct day's text is one object, which pickle sends once.
_ISO = _IsoDays({None: None})
_DAY = _Days({None: None})
CASE_DATES = tuple(place for place, name in enumerate(FIELDS) if name.endswith("_date"))


def _as_text(values: list[Any], places: Sequence[int]) -> tuple[Any, ...]:
    """`values` with the days at `places` as ISO text."""
    for place in places:
        values[place] = _ISO[values[place]]
    return tuple(values)


class _Children:
    """One child file, read alongside the cases file: the rows of each case in turn, as
    (row number in the file, stored values), while they follow the cases' order."""

    def __init__(self, kind: str, rows: Iterator[Row]) -> None:
        self.kind = kind
        self.columns = CHILD_COLUMNS[kind]
        self.sources = tuple(source for _, source in self.columns)
        # The places of the days in a stored row (after its row number).
        self.dates = tuple(
            place + 1 for place, (name, _) in enumerate(self.columns) if name.endswith("_date")
        )
        # (place in the stored values, what a blank stores) where that is not NULL
        self.defaults = tuple(
            (place, CHILD_DEFAULTS[name])
            for place, (name, _) in enumerate(self.columns)
            if name in CHILD_DEFAULTS
        )
        self.rows = rows
        self.count = 0
        self.pending: Row | None = None
        self.pending_case: str | None = None
        self._advance()

    def _advance(self) -> None:
        self.pending = pending = next(self.rows, None)
        self.pending_case = None
        if pending is not None:
            self.count += 1
            if pending.errors:
                raise Invalid(f"{self.kind}: row {pending.line} is not valid")
            self.pending_case = pending.values["case_number"]

    def _stored(self) -> tuple[Any, ...]:
        assert self.pending is not None
        stored = [self.count, *map(self.pending.values.get, self.sources)]
        for place, default in self.defaults:
            if stored[place + 1] is None:
                stored[place + 1] = default
        return _as_text(stored, self.dates)

    def take(self, number: str) -> list[tuple[Any, ...]]:
        """The rows of case `number` that come next in the file."""
        found = []
        while self.pending_case == number:
            found.append(self._stored())
            self._advance()
        return found

    def rest(self) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """(case number, stored values) of the rows left once every case was read."""
        while self.pending is not None:
            number = self.pending.values["case_number"]
            yield number, self._stored()
            self._advance()


def _named(entries: str | None) -> tuple[str, ...]:
    return tuple(entries.split(ENTRY_SEPARATOR)) if entries else ()


def _children_facts(
    kids: list[list[tuple[Any, ...]]],
) -> tuple[tuple[Entry, ...], tuple[Waiver, ...], tuple[TollingPeriod, ...], tuple[Event, ...]]:
    """A case's child rows as the facts the rules read (as `store/cases` reads them back)."""
    day = _DAY.__getitem__
    return (
        tuple(Entry(e[1], day(e[2]), e[3]) for e in kids[0]),
        tuple(
            Waiver(day(w[1]), day(w[2]), w[3], day(w[4]), bool(w[5]), _named(w[6])) for w in kids[1]
        ),
        tuple(TollingPeriod(day(t[1]), day(t[2]), t[3] or "") for t in kids[2]),
        tuple(Event(day(e[1]), e[2]) for e in kids[3]),
    )


def _check_children(number: str, kids: list[list[tuple[Any, ...]]]) -> None:
    """A child key twice for one case, or a waiver naming an entry the case does not have,
    is a problem the case-at-a-time path reports on its line."""
    for kind, rows in zip(CHILD_KINDS, kids, strict=True):
        if len(rows) > 1:
            keys = CHILD_KEYS[kind]
            seen = {tuple(row[1 + k] for k in keys) for row in rows}
            if len(seen) != len(rows):
                raise Invalid(f"{kind}: a row key appears twice for case {number!r}")
    named = [w[6] for w in kids[1] if w[6]]
    if named:
        on_file = {e[1] for e in kids[0]}
        for entries in named:
            if not set(entries.split(ENTRY_SEPARATOR)) <= on_file:
                raise Invalid(f"waivers: an entry of case {number!r} is not on file")


def _parsed(
    batch: list[Row], children: Sequence[_Children | None]
) -> list[tuple[tuple[Any, ...], list[list[tuple[Any, ...]]] | None]]:
    """Each case of a batch as (its values in FIELDS order, its child rows of each kind or
    None)."""
    parsed = []
    readers = [(index, child) for index, child in enumerate(children) if child is not None]
    for row in batch:
        if row.errors:
            raise Invalid(f"cases: row {row.line} is not valid")
        values = row.values
        number: str = values["case_number"]
        kids: list[list[tuple[Any, ...]]] | None = None
        for index, child in readers:
            if child.pending_case == number:
                kids = kids or [[], [], [], []]
                kids[index] = child.take(number)
        if kids is not None:
            _check_children(number, kids)
        parsed.append((_as_text(list(map(values.get, FIELDS)), CASE_DATES), kids))
    return parsed


def final_rows(
    batch: list[tuple[tuple[Any, ...], list[list[tuple[Any, ...]]] | None]],
    plan: Plan,
    next_id: int,
    child_offsets: Sequence[int] = (0, 0, 0, 0),
) -> tuple[list[tuple[Any, ...]], list[list[tuple[Any, ...]]]]:
    """The stored rows of a batch of cases (`messages`), each computed once from its complete
    facts, in CASE_COLUMNS order, ids from `next_id`; and their children's rows (id, case_id,
    CHILD_COLUMNS), each id its row number in its file plus its kind's `child_offsets`."""
    cases: list[tuple[Any, ...]] = []
    rows: list[list[tuple[Any, ...]]] = [[], [], [], []]
    iso, day = _ISO.__getitem__, _DAY.__getitem__
    run_id, version = plan.run_id, plan.rules_version
    case_id = next_id - 1
    for values, kids in batch:
        case_id += 1
        (
            number,
            case_type,
            statute,
            culpability,
            status,
            center,
            port,
            name,
            importer,
            violation,
            discovery,
            found,
            initiated,
            last_action,
            sol,
            assessed,
            collected,
        ) = values
        facts: tuple[Any, ...] = () if kids is None else _children_facts(kids)
        summary = summary_of(
            CASE_TYPES[case_type or PENALTY],
            statute,
            CULPABILITIES[culpability] if culpability else None,
            day(violation),
            day(discovery),
            day(found),
            *facts,
        )
        rule, first, last, fallback, last_fallback, missing, flags = summary[:7]
        entries, loss, fallback_flags = summary[7:]
        verdict, reason = (
            (None, None)
            if first is None
            else verdict_of(facts[3] if facts else (), assessed, collected, first)
        )
        recorded = day(sol)
        if kids is not None:
            for index, taken in enumerate(kids):
                into, offset = rows[index], child_offsets[index]
                for child in taken:
                    into.append((child[0] + offset, case_id, *child[1:]))
        cases.append(
            (
                case_id,
                number,
                case_type or PENALTY,
                statute,
                culpability,
                status,
                status in OPEN,
                center,
                port,
                name,
                importer,
                violation,
                discovery,
                found,
                initiated,
                last_action,
                sol,
                assessed,
                collected,
                run_id,
                rule,
                iso(first),
                iso(last),
                iso(fallback),
                iso(last_fallback),
                missing,
                flags,
                fallback_flags,
                bool(
                    missing
                    or flags
                    or fallback_flags
                    or sol is None
                    or (first is not None and recorded > first)
                ),
                entries,
                loss,
                len(facts[1]) if facts else 0,
                verdict,
                reason,
                version,
            )
        )
    return cases, rows


def messages(plan: Plan, progress: Progress | None = None) -> Iterator[Message]:
    """The final rows of `plan`'s files, as Message-s. Raises Invalid at the first row with a
    problem (the store is then left to the case-at-a-time import)."""

    def read(kind: str) -> Iterator[Row]:
        return read_rows(
            plan.paths[kind],
            kind,
            as_of=plan.as_of,
            columns=plan.columns,
            status_map=plan.status_map,
            progress=progress,
        )

    try:
        children = [
            _Children(kind, read(kind)) if kind in plan.paths else None for kind in CHILD_KINDS
        ]
        read_cases = 0
        for batch in batched(read("cases"), BATCH):
            yield "cases", _parsed(batch, children), read_cases + 1
            read_cases += len(batch)
        for child in children:
            if child is not None:
                for rest in batched(child.rest(), BATCH):
                    yield "rest", child.kind, rest
        counts = {child.kind: child.count for child in children if child is not None}
        yield "done", {"cases": read_cases, **counts}
    except ExtractError as error:
        raise Invalid(str(error)) from None


def in_worker(plan: Plan, progress: Progress | None = None) -> Iterator[Message]:
    """`messages`, computed by a second process."""
    process = subprocess.Popen(
        [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        pickle.dump(plan, process.stdin)
        process.stdin.close()
        while True:
            # One pickle per message (an Unpickler's memo would outlive each one).
            message = pickle.load(process.stdout)
            if message[0] == "progress":
                if progress:
                    progress(*message[1:])
            elif message[0] == "invalid":
                raise Invalid(message[1])
            else:
                yield message
                if message[0] == "done":
                    return
    except EOFError:
        raise Invalid("the second process stopped") from None
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def _serve(source: IO[bytes], out: IO[bytes]) -> None:
    """The second process: a Plan in, its messages out."""
    # Nothing read here outlives its batch: the cyclic collector would only cost time.
    gc.disable()
    plan: Plan = pickle.load(source)

    def send(*message: Any) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)

    def progress(label: str, done: int, total: int) -> None:
        send("progress", label, done, total)
        out.flush()

    try:
        for message in messages(plan, progress):
            send(*message)
    except Invalid as problem:
        send("invalid", str(problem))
    out.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
