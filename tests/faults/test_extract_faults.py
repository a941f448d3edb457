"""Hostile and careless extracts: each is refused on its line, or loads without losing a stored
value; none ends in a traceback."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from tests.conftest import Cli, write

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")
CASES_HEADER = (SMALL / "cases.csv").read_text().splitlines()[0]
C1 = (SMALL / "cases.csv").read_text().splitlines()[1]


def case_1(cli: Cli) -> list[tuple[object, ...]]:
    return cli.rows(
        "select sol_date, discovery_date, initiated_date, assessed_cents, collected_cents, "
        "case_type, importer_name from cases where case_number = 'C-1'",
    )


@pytest.fixture
def stored(cli: Cli) -> Cli:
    cli("import", str(SMALL), *AS_OF)
    return cli


def test_a_short_row_is_an_error_on_its_line_and_blanks_nothing(
    stored: Cli, tmp_path: Path
) -> None:
    """A cases row cut to 10 of its 16 cells is refused on its line; the case keeps its SOL
    date, discovery date and amounts (the fault campaign's `cut -d, -f1-10`)."""
    before = case_1(stored)
    path = write(tmp_path / "t_cases.csv", CASES_HEADER + "\n" + ",".join(C1.split(",")[:10]))
    result = stored("import", str(path), *AS_OF, code=2)
    assert f"{path}:2: (row): 10 cells but the header has 16" in result.stderr
    assert case_1(stored) == before


def _blanked(tmp_path: Path) -> Path:
    """C-1 with its SOL date, assessed amount and case type blank, in a full-width row."""
    cells = next(csv.reader([C1]))
    header = CASES_HEADER.split(",")
    for name in ("sol_date", "assessed_amount", "case_type"):
        cells[header.index(name)] = ""
    path = tmp_path / "blank_cases.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, cells])
    return path


def test_a_blank_cell_keeps_the_stored_value_and_the_summary_counts_it(
    stored: Cli, tmp_path: Path
) -> None:
    """Blank cells in named columns leave the stored values as they were, and the summary
    says how many stored values --blank-clears would have cleared."""
    before = case_1(stored)
    path = _blanked(tmp_path)
    result = stored("import", str(path), *AS_OF)
    assert (
        f"{path}: 1 rows: 0 new, 0 changed, 1 unchanged, 0 rejected; 2 stored values kept where "
        f"cells are blank (--blank-clears would clear them)"
    ) in result.output
    assert case_1(stored) == before
    assert stored.rows("select count(*) from history") == [(0,)]


def test_blank_clears_clears_the_stored_values_and_keeps_them_in_history(
    stored: Cli, tmp_path: Path
) -> None:
    """With --blank-clears an empty cell means no value: the stored ones are cleared (the case
    type to its default), each kept in the history."""
    path = _blanked(tmp_path)
    result = stored("import", str(path), *AS_OF, "--blank-clears")
    assert "1 changed, 0 unchanged, 0 rejected; 2 stored values cleared by blank cells" in (
        result.output
    )
    assert case_1(stored)[0][0] is None
    assert case_1(stored)[0][3] is None
    assert stored.rows("select field, old_value, new_value from history order by id") == [
        ("sol_date", "2026-03-04", None),
        ("assessed_amount", "1250000.50", None),
    ]


def test_a_blank_cell_never_lifts_a_waivers_revocation(stored: Cli, tmp_path: Path) -> None:
    """A waivers row with its revoked_date blank keeps the stored revocation: lifting it
    silently would extend the limit."""
    revoked = SMALL / "waivers.csv"
    path = write(
        tmp_path / "waivers.csv", revoked.read_text().replace(",,,,E-100", ",,2025-08-01,,E-100")
    )
    stored("import", str(path), *AS_OF)
    limit = stored.rows("select limitation_date from cases where case_number = 'C-1'")
    result = stored("import", str(revoked), *AS_OF)
    assert "1 stored values kept where cells are blank" in result.output
    assert stored.rows("select revoked_date from waivers where signed_date = '2025-06-01'") == [
        ("2025-08-01",)
    ]
    assert stored.rows("select limitation_date from cases where case_number = 'C-1'") == limit


def test_a_waivers_new_term_replaces_its_stated_end(stored: Cli, tmp_path: Path) -> None:
    """A waiver's term is taken whole: a row that gives term_years clears the stored
    expires_date instead of keeping both."""
    path = write(
        tmp_path / "waivers.csv",
        """
        case_number,signed_date,expires_date,term_years,revoked_date,revives,entries
        C-1,2025-06-01,,1,,,E-100
        """,
    )
    stored("import", str(path), *AS_OF)
    assert stored.rows(
        "select expires_date, term_years from waivers where signed_date = '2025-06-01'"
    ) == [(None, 1)]


@pytest.mark.parametrize("how", ["same-path", "symlink", "hard-link", "file-in-input-folder"])
def test_rejects_may_not_name_an_input(stored: Cli, tmp_path: Path, how: str) -> None:
    """--rejects naming an input file, however spelt, is refused before anything is read or
    written: the extract is not overwritten and nothing is imported."""
    extract = tmp_path / "extract"
    extract.mkdir()
    cases = write(extract / "cases.csv", CASES_HEADER + "\nC-9,,1592,,OPEN,,,,,2021-02-30,,,,,,\n")
    original = cases.read_bytes()
    rejects = {
        "same-path": cases,
        "symlink": tmp_path / "link.csv",
        "hard-link": tmp_path / "hard.csv",
        "file-in-input-folder": extract / "cases.csv",
    }[how]
    if how == "symlink":
        rejects.symlink_to(cases)
    if how == "hard-link":
        os.link(cases, rejects)
    source = extract if how == "file-in-input-folder" else cases
    result = stored(
        "import", str(source), *AS_OF, "--skip-invalid", "--rejects", str(rejects), code=2
    )
    assert result.stderr.splitlines() == [
        f"solwatch: --rejects {rejects}: is the input file {cases}; name another file"
    ]
    assert cases.read_bytes() == original
    assert stored.rows("select count(*) from import_runs") == [(1,)]


def test_rejects_in_a_missing_folder_stops_before_importing(stored: Cli, tmp_path: Path) -> None:
    """A rejects file whose folder does not exist is one line, exit 2, before the import:
    the valid rows are not loaded without their rejected neighbours."""
    path = write(
        tmp_path / "cases.csv",
        CASES_HEADER + "\nC-9,,1592,,OPEN,,,,,,,,,,,\nC-8,,1592,,WHAT,,,,,,,,,,,\n",
    )
    rejects = tmp_path / "no-such-folder" / "rejects.csv"
    result = stored(
        "import", str(path), *AS_OF, "--skip-invalid", "--rejects", str(rejects), code=2
    )
    assert result.stderr.splitlines() == [
        f"solwatch: --rejects {rejects}: there is no folder {tmp_path / 'no-such-folder'}"
    ]
    assert stored.rows("select count(*) from cases") == [(5,)]


def test_rejects_can_be_corrected_and_imported_again(stored: Cli, tmp_path: Path) -> None:
    """Rejected rows keep their file's header and their cells as proper CSV (a comma inside
    a name included), plus a reason: fixed in place, the file imports as it is."""
    path = write(
        tmp_path / "cases.csv",
        CASES_HEADER + '\nC-9,,1592,,OPEN,,,"Smith, Jones & Co",,2021-02-30,,,,,"$1,000.00",\n',
    )
    rejects = tmp_path / "rejects.csv"
    stored("import", str(path), *AS_OF, "--skip-invalid", "--rejects", str(rejects))
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        header, row = list(csv.reader(handle))
    assert header == [*CASES_HEADER.split(","), "reason"]
    assert row[7] == "Smith, Jones & Co"
    assert row[14] == "$1,000.00"
    assert row[-1].startswith(f"{path}:2: violation_date: not a real date")
    rejects.write_text(rejects.read_text(encoding="utf-8-sig").replace("2021-02-30", "2021-02-28"))
    result = stored("import", str(rejects), "--kind", "cases", *AS_OF)
    assert "1 new" in result.output
    assert "warning" not in result.stderr
    assert stored.rows(
        "select importer_name, assessed_cents from cases where case_number = 'C-9'",
    ) == [("Smith, Jones & Co", 100000)]


CONTROL = [
    pytest.param('C-9,OPEN,"Bad\x1bName"\n', 2, "importer_name", "U+001B", id="escape-in-a-name"),
    pytest.param(
        '"C-9\nC-10",OPEN,X\n',
        3,
        "case_number",
        "U+000A (line break)",
        id="newline-in-a-case-number",
    ),
    pytest.param("C-9\t,OPEN,X\n", 2, "case_number", "U+0009 (tab)", id="tab-in-a-case-number"),
    pytest.param('C-9,OPEN,"A\x00B"\n', 2, "importer_name", "U+0000 (NUL)", id="nul-in-a-name"),
    pytest.param("C-9,OPEN,A\x7fB\n", 2, "importer_name", "U+007F", id="delete-in-a-name"),
]


@pytest.mark.parametrize(("row", "line", "column", "code"), CONTROL)
def test_control_characters_are_refused_on_their_line(
    cli: Cli, tmp_path: Path, row: str, line: int, column: str, code: str
) -> None:
    """A control character in any cell is an error naming its line and column: it would break
    the digests and the workbooks of every Center."""
    path = tmp_path / "cases.csv"
    path.write_text("case_number,status,importer_name\n" + row, encoding="utf-8", newline="")
    result = cli("import", str(path), *AS_OF, code=2)
    assert f"{path}:{line}: {column}: control character {code} in the cell" in result.stderr
    assert cli.rows("select count(*) from cases") == [(0,)]


BAD_FILES = [
    pytest.param(
        b"case_number,status\rX,OPEN\r",
        "1: (csv): a line break inside a cell that is not quoted; a file whose lines end with a "
        "carriage return alone (old Mac format) must be saved with Windows or Unix line ends",
        id="cr-only-line-ends",
    ),
    pytest.param(
        b'"case\nnumber",status\nX,OPEN\n',
        "1: (header): column 1 ('case\\nnumber') holds a control character U+000A (line "
        "break): a header name is one line of text",
        id="line-break-in-a-header-name",
    ),
    pytest.param(
        b"case_number,sta\x00tus\nX,OPEN\n",
        "1: (header): column 2 ('sta\\x00tus') holds a control character U+0000 (NUL)",
        id="nul-in-a-header-name",
    ),
    pytest.param(
        b"case_number,status,Status\nX,OPEN,CLOSED\n",
        "1: status: named twice in the header (columns 2 and 3)",
        id="column-named-twice",
    ),
    pytest.param(
        b"case_number,status,sol_dat\nX,OPEN,2025-01-01\n",
        "1: sol_dat: unknown column; did you mean sol_date? (rename it, or map it in "
        "[import.columns])",
        id="misspelt-column",
    ),
    pytest.param(
        b"case_number,staus\nX,OPEN\n",
        "1: staus: unknown column; did you mean status?",
        id="misspelt-required-column",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_FILES)
def test_an_unreadable_or_untrustworthy_header_is_one_line(
    cli: Cli, tmp_path: Path, data: bytes, message: str
) -> None:
    """Line ends, header names and duplicated columns that cannot be read as meant stop the
    import with FILE:LINE: column: reason, exit 2, nothing written."""
    path = tmp_path / "cases.csv"
    path.write_bytes(data)
    result = cli("import", str(path), *AS_OF, code=2)
    assert f"{path}:{message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli.rows("select count(*) from cases") == [(0,)]


def test_an_unknown_column_is_a_warning_naming_it(cli: Cli, tmp_path: Path) -> None:
    """A column solwatch does not know is ignored, but said so, with the file and its name;
    one from another extract says which."""
    path = write(tmp_path / "cases.csv", "case_number,status,notes,entry_number\nX,OPEN,hi,E-1\n")
    result = cli("import", str(path), *AS_OF)
    assert result.stderr.splitlines() == [
        f"{path}:1: warning: notes: not a column of cases files: ignored",
        f"{path}:1: warning: entry_number: a column of entries files, not of cases files: ignored",
    ]
    assert "1 new" in result.output


AMOUNTS = [
    pytest.param(
        "99999999999999999999999",
        "more than $9,999,999,999,999.99, not a plausible amount",
        id="beyond-the-store",
    ),
    pytest.param(
        "1e309",
        "scientific notation is not an amount: '1e309' (write plain dollars)",
        id="float-overflow",
    ),
    pytest.param("1E+999999999", "scientific notation is not an amount", id="decimal-overflow"),
    pytest.param("1.5e3", "scientific notation is not an amount", id="scientific-notation"),
]


@pytest.mark.parametrize(("amount", "message"), AMOUNTS)
def test_amounts_the_store_cannot_hold_are_refused_on_their_line(
    cli: Cli, tmp_path: Path, amount: str, message: str
) -> None:
    """Amounts beyond any penalty, or in scientific notation, are errors on their cell, not an
    overflow in the database driver."""
    path = write(tmp_path / "cases.csv", f"case_number,status,assessed_amount\nX,OPEN,{amount}\n")
    result = cli("import", str(path), *AS_OF, code=2)
    assert f"{path}:2: assessed_amount: {message}" in result.stderr


def test_a_placeholder_sol_date_is_implausible(cli: Cli, tmp_path: Path) -> None:
    """9999-12-31 as a recorded SOL date is more than 50 years after the case's start: an
    error, not a limit that reads as decades of time left."""
    path = write(
        tmp_path / "cases.csv",
        "case_number,status,violation_date,sol_date\nX,OPEN,2021-01-05,9999-12-31\n"
        "Y,OPEN,2021-01-05,2071-01-05\n",
    )
    result = cli("import", str(path), *AS_OF, code=2)
    assert result.stderr.splitlines()[0] == (
        f"{path}:2: sol_date: 9999-12-31 is more than 50 years after the case's start "
        f"(2021-01-05): not a plausible date"
    )
    assert f"{path}:3:" not in result.stderr


def test_a_placeholder_waiver_end_is_implausible(stored: Cli, tmp_path: Path) -> None:
    """A waiver that "expires" on 9999-12-31 is refused, instead of making C-1's limit
    9999-12-31."""
    path = write(
        tmp_path / "waivers.csv",
        "case_number,signed_date,expires_date\nC-1,2025-01-01,9999-12-31\n",
    )
    result = stored("import", str(path), *AS_OF, code=2)
    assert (
        f"{path}:2: expires_date: 9999-12-31 is more than 50 years after the waiver's signature "
        f"(2025-01-01): not a plausible date"
    ) in result.stderr
    assert stored.rows("select max(limitation_date) from cases") < [("2100",)]
