"""Reading SEACATS-style extract CSVs (interface.md §1) into typed rows, or precise errors.

Pure apart from reading the file it is given: no database, no configuration loading. Each row
comes back either with typed values or with every problem found in it, as
`FILE:LINE: column: reason`.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import IO, Any, TypeVar

from solwatch.core.centers import normalize_center
from solwatch.core.dates import add_years, parse_date
from solwatch.core.facts import ENTRY_SEPARATOR, KNOWN_EVENT_KINDS, CaseType, Culpability, Status

E = TypeVar("E", bound=Enum)

KINDS = ("cases", "entries", "waivers", "tolling", "events")
EARLIEST_PLAUSIBLE = date(1950, 1, 1)
# A date that may lie ahead (a recorded SOL date, a waiver's end) is at most this many years
# after the case's start or the waiver's signature: 9999-12-31 is a placeholder, not a limit.
PLAUSIBLE_YEARS_AHEAD = 50
# The largest amount an extract may state: far above any penalty, far inside the store's
# 64-bit integer cents.
MAX_CENTS = 10**15 - 1
# C0 and C1 control characters (line breaks and tabs among them) and DEL: no field of a case
# holds one, and they break the digests, the spreadsheets and the terminal.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The column a rejects file adds after the extract's own (tolling files already have `reason`).
REJECT_REASON = ("reason", "reject_reason")

COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (
        "case_number",
        "case_type",
        "statute",
        "culpability",
        "status",
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
        "assessed_amount",
        "collected_amount",
    ),
    "entries": ("case_number", "entry_number", "entry_date", "loss_amount"),
    "waivers": (
        "case_number",
        "signed_date",
        "expires_date",
        "term_years",
        "revoked_date",
        "revives",
        "entries",
    ),
    "tolling": ("case_number", "start_date", "end_date", "reason"),
    "events": ("case_number", "event_date", "kind"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "cases": ("case_number", "status"),
    "entries": ("case_number", "entry_number", "entry_date"),
    "waivers": ("case_number", "signed_date"),
    "tolling": ("case_number", "start_date", "end_date"),
    "events": ("case_number", "event_date", "kind"),
}
# Dates of things that have already happened: one later than the as-of day is a typing error.
PAST_DATES = frozenset(
    {
        "violation_date",
        "discovery_date",
        "property_discovery_date",
        "initiated_date",
        "last_action_date",
        "entry_date",
        "signed_date",
        "revoked_date",
        "start_date",
        "end_date",
        "event_date",
    }
)
ALL_COLUMNS = frozenset(name for names in COLUMNS.values() for name in names)


@dataclass(frozen=True)
class RowError:
    path: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.column}: {self.reason}"


class ExtractError(Exception):
    """A file that cannot be read at all (bad header, bad encoding, unknown kind), with every
    problem found."""

    def __init__(self, error: RowError, *more: RowError) -> None:
        super().__init__(str(error))
        self.error = error
        self.errors = [error, *more]


@dataclass
class Row:
    """One data row: its line, its cells as read, and typed values or errors."""

    line: int
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def header_key(name: str) -> str:
    """Header names match ignoring case, spaces and underscores."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def check_column_mapping(columns: Mapping[str, str]) -> str | None:
    """A problem with an `[import.columns]` table, or None."""
    for source, target in columns.items():
        if target not in ALL_COLUMNS:
            return f"{source!r} maps to {target!r}, which is not an extract column"
    return None


def kind_of(path: Path) -> str:
    """The extract kind from a file name such as `cases.csv` or `seacats_waivers_2026.csv`."""
    stem = path.stem.lower()
    if stem in KINDS:
        return stem
    tokens = set(re.split(r"[^a-z]+", stem))
    found = [kind for kind in KINDS if kind in tokens]
    if len(found) == 1:
        return found[0]
    raise ExtractError(
        RowError(
            str(path),
            0,
            "(file name)",
            "cannot tell which extract this is; name it cases.csv, "
            "entries.csv, waivers.csv, tolling.csv or events.csv, or pass "
            "--kind",
        )
    )


def extract_files(paths: Iterable[Path], kind: str | None = None) -> list[tuple[Path, str]]:
    """The extract files named by `paths`, each with its kind: a file's kind is `kind` or comes
    from its name; a folder gives those of cases.csv, entries.csv, ... that it holds. ValueError
    with a reason for a missing path, an empty folder or a file whose kind cannot be told."""
    files: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found = [
                (path / f"{name}.csv", name) for name in KINDS if (path / f"{name}.csv").is_file()
            ]
            if not found:
                raise ValueError(
                    f"{path}: no cases.csv, entries.csv, waivers.csv, tolling.csv or "
                    f"events.csv in this folder"
                )
            files += found
        elif not path.is_file():
            raise ValueError(f"{path}: no such file or folder")
        else:
            try:
                files.append((path, kind or kind_of(path)))
            except ExtractError as error:
                raise ValueError(str(error)) from None
    return files


# --- cell parsers: text in, value out, ValueError with a reason otherwise ---------------------


def _text(cell: str) -> str:
    return cell


_PLAIN_AMOUNT = re.compile(r"(\d{1,13})(?:\.(\d{1,2}))?")
_AMOUNT = re.compile(r"(-?)(\d*)(?:\.(\d*))?")
_SCIENTIFIC = re.compile(r"[-+]?[\d.]+[eE][-+]?\d+")


def _amount(cell: str) -> int:
    """Dollars, `$` and thousands separators allowed, to integer cents, exactly. Plain decimal
    notation only (`1e3` is refused), at most MAX_CENTS."""
    cleaned = cell.replace("$", "").replace(",", "").replace(" ", "")
    plain = _PLAIN_AMOUNT.fullmatch(cleaned)
    if plain:  # the usual case, quickly: at most 13 digits of dollars, at most 2 of cents
        whole, part = plain.groups()
        return int(whole) * 100 + (int(part.ljust(2, "0")) if part else 0)
    match = _AMOUNT.fullmatch(cleaned)
    if not match or not (match.group(2) or match.group(3)):
        if _SCIENTIFIC.fullmatch(cleaned):
            raise ValueError(
                f"scientific notation is not an amount: {cell!r} (write plain dollars)"
            )
        raise ValueError(f"not an amount: {cell!r}")
    sign, whole, fraction = match.group(1), match.group(2).lstrip("0"), match.group(3) or ""
    if sign and (whole or fraction.strip("0")):
        raise ValueError(f"not an amount of dollars: {cell!r}")
    if fraction[2:].strip("0"):
        raise ValueError(f"more than two decimals: {cell!r}")
    if len(whole) > len(str(MAX_CENTS // 100)):
        raise ValueError(f"more than ${MAX_CENTS // 100:,}.99, not a plausible amount: {cell!r}")
    cents = int(whole or "0") * 100 + int(fraction[:2].ljust(2, "0"))
    if cents > MAX_CENTS:
        raise ValueError(f"more than ${MAX_CENTS // 100:,}.99, not a plausible amount: {cell!r}")
    return cents


def _statute(cell: str) -> str:
    """`19 USC 1592`, `19 U.S.C. § 1592(a)(1)` and `1592(a)` all mean `1592`."""
    text = re.sub(r"^19\s*u\.?\s*s\.?\s*c\.?\s*", "", cell.strip().lower())
    text = text.replace("§", "").replace("sec.", "").strip()
    match = re.fullmatch(r"(\d{3,4}[a-z]?)\s*(\(.*)?", text)
    if not match:
        raise ValueError(f"not a section of title 19: {cell!r}")
    return match.group(1)


def _word(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lower())


def _choice(kind: type[E], what: str) -> Callable[[str], str]:
    """A parser for one of an enum's values, spelled with any case, spaces or hyphens; it
    returns the canonical value, as stored."""
    expected = ", ".join(member.value for member in kind)

    def parse(cell: str) -> str:
        try:
            return str(kind(_word(cell)).value)
        except ValueError:
            raise ValueError(f"unknown {what} {cell!r} (expected {expected})") from None

    return parse


_case_type = _choice(CaseType, "case type")
_culpability = _choice(Culpability, "culpability")


def _event_kind(cell: str) -> str:
    """A kind solwatch knows, spelled with any case, spaces or hyphens, as its canonical value;
    any other kind as written: kept and shown, never an error (no rule reads it)."""
    word = _word(cell)
    return word if word in KNOWN_EVENT_KINDS else cell.strip()


def _port(cell: str) -> str:
    if not re.fullmatch(r"\d{1,4}", cell):
        raise ValueError(f"not a port code: {cell!r} (expected four digits)")
    return cell.zfill(4)


def _center(cell: str) -> str | None:
    return normalize_center(cell)


def _term(cell: str) -> int:
    if not re.fullmatch(r"\d{1,2}", cell) or not 1 <= int(cell) <= 20:
        raise ValueError(f"not a term in whole years from 1 to 20: {cell!r}")
    return int(cell)


def _entry_numbers(cell: str) -> str:
    """Entry numbers separated by `;`, stored the same way: trimmed, each once, in order."""
    numbers = dict.fromkeys(part.strip() for part in cell.split(ENTRY_SEPARATOR))
    numbers.pop("", None)
    if not numbers:
        raise ValueError(f"no entry numbers in {cell!r} (separate them with {ENTRY_SEPARATOR})")
    return ENTRY_SEPARATOR.join(numbers)


def _boolean(cell: str) -> bool:
    word = cell.strip().lower()
    if word in ("true", "yes", "y", "1"):
        return True
    if word in ("false", "no", "n", "0"):
        return False
    raise ValueError(f"not true or false: {cell!r}")


def _status_parser(status_map: Mapping[str, Status]) -> Callable[[str], str]:
    mapping = {key.strip().upper(): value for key, value in status_map.items()}

    def parse(cell: str) -> str:
        code = cell.strip().upper()
        if code in mapping:
            return mapping[code].value
        try:
            return Status(code.replace(" ", "_")).value
        except ValueError:
            raise ValueError(
                f"unknown status {cell!r} (expected OPEN, REFERRED, SUIT_FILED, "
                f"CLOSED, or a code listed in [import.status_map])"
            ) from None

    return parse


PARSERS: dict[str, Callable[[str], Any]] = {
    "case_type": _case_type,
    "statute": _statute,
    "culpability": _culpability,
    "center": _center,
    "port_code": _port,
    "assessed_amount": _amount,
    "collected_amount": _amount,
    "loss_amount": _amount,
    "term_years": _term,
    "revives": _boolean,
    "kind": _event_kind,
    "entries": _entry_numbers,
}


def _parser_for(name: str, status: Callable[[str], str]) -> Callable[[str], Any]:
    if name == "status":
        return status
    if name.endswith("_date"):
        return parse_date
    return PARSERS.get(name, _text)


# --- whole rows --------------------------------------------------------------------------------


def _cross_checks(
    kind: str, values: dict[str, Any], as_of: date, dates: Sequence[str]
) -> list[tuple[str, str]]:
    """Problems between the cells of one row: implausible or contradictory dates."""
    problems: list[tuple[str, str]] = []
    for name in dates:
        value = values.get(name)
        if value is not None:
            if value < EARLIEST_PLAUSIBLE:
                problems.append((name, f"{value.isoformat()} is before 1950"))
            elif name in PAST_DATES and value > as_of:
                problems.append(
                    (name, f"{value.isoformat()} is in the future (after {as_of.isoformat()})")
                )
    problems += _too_far_ahead(kind, values, as_of)
    violation, discovery = values.get("violation_date"), values.get("discovery_date")
    if violation and discovery and discovery < violation:
        problems.append(
            (
                "discovery_date",
                f"{discovery.isoformat()} is before the violation date {violation.isoformat()}",
            )
        )
    if kind == "waivers":
        signed, expires = values.get("signed_date"), values.get("expires_date")
        if expires is not None and values.get("term_years") is not None:
            problems.append(("term_years", "give expires_date or term_years, not both"))
        if values.get("revives") and expires is None:
            problems.append(("revives", "a reviving waiver must state its expires_date"))
        if signed and expires and expires < signed:
            problems.append(
                (
                    "expires_date",
                    f"{expires.isoformat()} is before the signed date {signed.isoformat()}",
                )
            )
        revoked = values.get("revoked_date")
        if signed and revoked and revoked < signed:
            problems.append(
                (
                    "revoked_date",
                    f"{revoked.isoformat()} is before the signed date {signed.isoformat()}",
                )
            )
    if kind == "tolling":
        start, end = values.get("start_date"), values.get("end_date")
        if start and end and end < start:
            problems.append(
                ("end_date", f"{end.isoformat()} is before the start date {start.isoformat()}")
            )
    return problems


def _too_far_ahead(kind: str, values: dict[str, Any], as_of: date) -> list[tuple[str, str]]:
    """A recorded SOL date or a waiver's end more than PLAUSIBLE_YEARS_AHEAD after the case's
    start (its earliest date in the row, else the as-of day) or the waiver's signature: a
    placeholder such as 9999-12-31 would otherwise read as "time enough"."""
    if kind == "cases":
        name, what, value = "sol_date", "the case's start", values.get("sol_date")
        if value is None:
            return []
        start: date = as_of
        for column in ("violation_date", "discovery_date", "initiated_date"):
            known = values.get(column)
            if known is not None and known < start:
                start = known
    elif kind == "waivers":
        name, what, value = "expires_date", "the waiver's signature", values.get("expires_date")
        signed = values.get("signed_date")
        if value is None or signed is None:
            return []
        start = signed
    else:
        return []
    if value.year - start.year < PLAUSIBLE_YEARS_AHEAD or value <= add_years(
        start, PLAUSIBLE_YEARS_AHEAD
    ):
        return []
    return [
        (
            name,
            f"{value.isoformat()} is more than {PLAUSIBLE_YEARS_AHEAD} years after {what} "
            f"({start.isoformat()}): not a plausible date",
        )
    ]


@dataclass(frozen=True)
class Header:
    """A checked header: which cell holds each known column, and what is ignored (warnings)."""

    positions: dict[str, int]
    warnings: list[RowError] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # the header's cells, as written

    @property
    def columns(self) -> list[str]:
        """The known columns the header names, in header order."""
        return list(self.positions)


def _control_name(text: str) -> str:
    found = CONTROL.search(text)
    assert found is not None
    code = ord(found.group())
    names = {0x00: "NUL", 0x09: "tab", 0x0A: "line break", 0x0D: "carriage return"}
    return f"U+{code:04X}" + (f" ({names[code]})" if code in names else "")


def check_header(
    header: Sequence[str], *, path: str, kind: str, mapping: Mapping[str, str]
) -> Header:
    """Which cell holds each known column of `kind`, by name (after `[import.columns]`).

    Raises ExtractError, with every problem, for a header that cannot be trusted: a name with
    a control character (a line break, a NUL), a column named twice, a name one slip away
    from a column of `kind`, or a required column missing. Any other unknown name is ignored
    with a warning; so is the `reason` column a rejects file ends with."""
    canonical = {header_key(name): name for name in COLUMNS[kind]}
    renamed = {header_key(source): target for source, target in mapping.items()}
    others = {header_key(n): other for other in KINDS if other != kind for n in COLUMNS[other]}
    errors: list[RowError] = []
    unknown: list[tuple[int, str]] = []
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        if CONTROL.search(title):
            errors.append(
                RowError(
                    path,
                    1,
                    "(header)",
                    f"column {index + 1} ({title!r}) holds a control character "
                    f"{_control_name(title)}: a header name is one line of text",
                )
            )
            continue
        key = header_key(title)
        name = renamed.get(key) or canonical.get(key)
        if name not in COLUMNS[kind]:
            unknown.append((index, title))
        elif name in positions:
            errors.append(
                RowError(
                    path,
                    1,
                    name,
                    f"named twice in the header (columns {positions[name] + 1} and {index + 1})",
                )
            )
        else:
            positions[name] = index
    free = {key: name for key, name in canonical.items() if name not in positions}
    warnings: list[RowError] = []
    for index, title in unknown:
        key = header_key(title)
        close = difflib.get_close_matches(key, list(free), n=1, cutoff=0.8)
        if close:
            errors.append(
                RowError(
                    path,
                    1,
                    title,
                    f"unknown column; did you mean {free[close[0]]}? (rename it, or map it in "
                    f"[import.columns])",
                )
            )
        elif index == len(header) - 1 and key in map(header_key, REJECT_REASON):
            continue
        elif not key:
            warnings.append(RowError(path, 1, f"column {index + 1}", "no name: ignored"))
        elif key in others:
            what = f"a column of {others[key]} files, not of {kind} files: ignored"
            warnings.append(RowError(path, 1, title, what))
        else:
            warnings.append(RowError(path, 1, title, f"not a column of {kind} files: ignored"))
    missing = [name for name in REQUIRED[kind] if name not in positions]
    if missing:
        errors.append(
            RowError(
                path,
                1,
                missing[0],
                f"required column is missing from the header ({', '.join(missing)})",
            )
        )
    if errors:
        raise ExtractError(*errors)
    return Header(positions, warnings, list(header))


def _csv_reason(error: csv.Error) -> str:
    text = str(error)
    if text.startswith("new-line character seen in unquoted field"):
        return (
            "a line break inside a cell that is not quoted; a file whose lines end with a "
            "carriage return alone (old Mac format) must be saved with Windows or Unix line ends"
        )
    if text.startswith("field larger than field limit"):
        return f"a cell longer than {csv.field_size_limit()} characters (a quote left open?)"
    return text


def decoded(raw_lines: Iterable[bytes], path: str) -> Iterator[str]:
    """An extract's lines as text, decoded one by one so that a bad byte is reported on its
    own line (ExtractError, column `(encoding)`); a byte-order mark on the first is dropped."""
    for number, raw in enumerate(raw_lines, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise ExtractError(
                RowError(path, number, "(encoding)", f"not UTF-8 text ({error.reason})")
            ) from None


def read_header(path: Path, kind: str, mapping: Mapping[str, str]) -> Header:
    """A file's header, checked (see check_header). Raises ExtractError for a file that is
    empty, not UTF-8 on its first line, or whose header cannot be read or trusted."""
    with path.open("rb") as handle:
        reader = csv.reader(decoded(handle, str(path)))
        try:
            header = next(reader, None)
        except csv.Error as error:
            raise ExtractError(
                RowError(str(path), reader.line_num, "(csv)", _csv_reason(error))
            ) from None
    if header is None:
        raise ExtractError(RowError(str(path), 1, "(header)", "the file is empty"))
    return check_header(header, path=str(path), kind=kind, mapping=mapping)


Plan = list[tuple[str, int, Callable[[str], Any] | None, dict[str, Any] | None]]
# Parsers of values that repeat across a large extract (dates, codes): their results are
# memoised per file, which makes a million-row extract several times faster to read.
MEMOISED = frozenset(
    {
        "case_type",
        "statute",
        "culpability",
        "status",
        "center",
        "port_code",
        "term_years",
        "revives",
        "kind",
    }
)
MEMO_LIMIT = 200_000


def _plan(
    path: str,
    kind: str,
    header: list[str],
    mapping: Mapping[str, str],
    status: Callable[[str], str],
) -> Plan:
    plan: Plan = []
    for name, index in check_header(
        header, path=path, kind=kind, mapping=mapping
    ).positions.items():
        parser = _parser_for(name, status)
        memo: dict[str, Any] | None = {} if name in MEMOISED or name.endswith("_date") else None
        plan.append((name, index, None if parser is _text else parser, memo))
    return plan


def parse_rows(
    lines: Iterable[str],
    *,
    path: str,
    kind: str,
    as_of: date,
    columns: Mapping[str, str] | None = None,
    status_map: Mapping[str, Status] | None = None,
) -> Iterator[Row]:
    """Typed rows of one extract. Raises ExtractError if the file cannot be read at all.

    A row with more or fewer cells than the header is an error on its line (a short row would
    otherwise read as blanks), and so is a control character in a cell of a known column."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            raise ExtractError(RowError(path, 1, "(header)", "the file is empty"))
        plan = _plan(path, kind, header, columns or {}, _status_parser(status_map or {}))
        required = REQUIRED[kind]
        width = len(header)
        dates = [name for name, *_ in plan if name.endswith("_date")]
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            row = Row(line, cells)
            count = len(cells)
            if count != width:
                row.errors.append(
                    RowError(path, line, "(row)", f"{count} cells but the header has {width}")
                )
            suspect = CONTROL.search("".join(cells)) is not None
            values = row.values
            for name, index, parse, memo in plan:
                raw = cells[index] if index < count else ""
                if suspect and CONTROL.search(raw):
                    reason = f"control character {_control_name(raw)} in the cell"
                    row.errors.append(RowError(path, line, name, reason))
                    continue
                cell = raw.strip()
                if not cell:
                    if name in required:
                        row.errors.append(RowError(path, line, name, "required, but blank"))
                    continue
                if parse is None:
                    values[name] = cell
                    continue
                if memo is not None and cell in memo:
                    values[name] = memo[cell]
                    continue
                try:
                    value = values[name] = parse(cell)
                except ValueError as error:
                    row.errors.append(RowError(path, line, name, str(error)))
                    continue
                if memo is not None and len(memo) < MEMO_LIMIT:
                    memo[cell] = value
            for name, reason in _cross_checks(kind, values, as_of, dates):
                row.errors.append(RowError(path, line, name, reason))
            yield row
    except csv.Error as error:
        raise ExtractError(RowError(path, reader.line_num, "(csv)", _csv_reason(error))) from None


def read_rows(
    path: Path,
    kind: str,
    *,
    as_of: date,
    columns: Mapping[str, str] | None = None,
    status_map: Mapping[str, Status] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Iterator[Row]:
    """The typed rows of the extract file at `path` (`parse_rows`), with `progress(file name,
    bytes read, bytes in all)` as it goes. Raises ExtractError if the file cannot be read."""
    total = path.stat().st_size
    label = path.name

    def counted(handle: IO[bytes]) -> Iterator[bytes]:
        done = 0
        for number, raw in enumerate(handle, 1):
            done += len(raw)
            if progress and number % 20000 == 0:
                progress(label, done, total)
            yield raw
        if progress:
            progress(label, total, total)

    with path.open("rb") as handle:
        yield from parse_rows(
            decoded(counted(handle), str(path)),
            path=str(path),
            kind=kind,
            as_of=as_of,
            columns=columns,
            status_map=status_map,
        )
