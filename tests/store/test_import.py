"""`solwatch import`: validation, all-or-nothing, rejects, idempotence and history."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import Cli, write

CASES = """
    case_number,case_type,statute,culpability,status,center,port_code,importer_name,importer_number,violation_date,discovery_date,initiated_date,last_action_date,sol_date,assessed_amount,collected_amount
    C-1,penalty,19 USC 1592,negligence,OPEN,7,2704,Acme Imports,12-3456789,2021-03-04,2022-01-10,2022-02-01,2026-10-01,2026-03-04,"$1,250,000.50",250000
    C-2,,1592(a),fraud,REFERRED,CEE001,1001,Beta LLC,98-7654321,01/15/2019,06/01/2022,2022-07-01,2026-11-01,,5000,
    C-3,liquidated_damages,1623,,CLOSED,PNDING,2709,Gamma Co.,11-1111111,2019-04-01,,2019-05-01,,2025-04-01,900.00,900.00
"""


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    folder = tmp_path / "extract"
    folder.mkdir()
    write(folder / "cases.csv", CASES)
    write(
        folder / "entries.csv",
        """
        case_number,entry_number,entry_date,loss_amount
        C-1,E-100,2021-03-04,1000.00
        C-1,E-101,2021-09-30,"2,500.25"
    """,
    )
    write(
        folder / "waivers.csv",
        """
        case_number,signed_date,expires_date,term_years,revoked_date,revives,entries
        C-1,2025-06-01,,2,,,
    """,
    )
    write(
        folder / "tolling.csv",
        """
        case_number,start_date,end_date,reason
        C-2,2023-01-01,2023-01-31,importer abroad
    """,
    )
    write(
        folder / "events.csv",
        """
        case_number,event_date,kind
        C-3,2022-08-15,acknowledgment
    """,
    )
    return folder


def test_it_imports_a_folder_and_computes_dates(cli: Cli, extract: Path, tmp_path: Path) -> None:
    """All five files load, amounts are exact cents and Centers are normalized."""
    result = cli("import", str(extract), "--as-of", "2026-11-24")
    assert "cases.csv: 3 rows: 3 new, 0 changed, 0 unchanged, 0 rejected" in result.output
    assert "limitation dates computed for 3 cases" in result.output
    assert cli.rows(
        "select case_number, center, statute, assessed_cents, collected_cents, "
        "rule, limitation_date, last_limitation_date from cases order by 1",
    ) == [
        (
            "C-1",
            "CEE007",
            "1592",
            125000050,
            25000000,
            "1621-violation",
            "2027-06-01",  # the waiver's two years run from its signing, 2025-06-01
            "2027-06-01",
        ),
        ("C-2", "CEE001", "1592", 500000, None, "1621-fraud", "2027-07-02", "2027-07-02"),
        ("C-3", "PNDING", "1623", 90000, 90000, "2415-contract", "2028-08-15", "2028-08-15"),
    ]
    assert cli.rows("select entry_number, loss_cents from entries order by 1") == [
        ("E-100", 100000),
        ("E-101", 250025),
    ]


def test_reimporting_the_same_extract_changes_nothing(
    cli: Cli, extract: Path, tmp_path: Path
) -> None:
    """A second import of identical files writes no case and no history."""
    cli("import", str(extract), "--as-of", "2026-11-24")
    before = cli.rows("select * from cases order by id")
    result = cli("import", str(extract), "--as-of", "2026-11-24")
    assert "cases.csv: 3 rows: 0 new, 0 changed, 3 unchanged" in result.output
    assert "entries.csv: 2 rows: 0 new, 0 changed, 2 unchanged" in result.output
    assert cli.rows("select * from cases order by id") == before
    assert cli.rows("select count(*) from history") == [(0,)]


def test_a_changed_extract_updates_and_records_history(
    cli: Cli, extract: Path, tmp_path: Path
) -> None:
    """Each changed value is kept with its old value, new value and source line."""
    cli("import", str(extract), "--as-of", "2026-11-24")
    write(
        extract / "cases.csv",
        CASES.replace("2021-03-04,2022-01-10", "2021-03-05,2022-01-10").replace(
            "C-2,,1592(a),fraud,REFERRED", "C-2,,1592(a),fraud,SUIT_FILED"
        ),
    )
    write(
        extract / "waivers.csv",
        """
        case_number,signed_date,expires_date,term_years,revoked_date,revives
        C-1,2025-06-01,,2,2025-09-01,
    """,
    )
    result = cli(
        "import", str(extract / "cases.csv"), str(extract / "waivers.csv"), "--as-of", "2026-11-24"
    )
    assert "cases.csv: 3 rows: 0 new, 2 changed, 1 unchanged" in result.output
    history = cli.rows(
        "select c.case_number, h.field, h.old_value, h.new_value, h.source "
        "from history h join cases c on c.id = h.case_id order by h.id",
    )
    cases_csv, waivers_csv = extract / "cases.csv", extract / "waivers.csv"
    assert history == [
        ("C-1", "violation_date", "2021-03-04", "2021-03-05", f"{cases_csv}:2"),
        ("C-2", "status", "REFERRED", "SUIT_FILED", f"{cases_csv}:3"),
        ("C-1", "waiver signed 2025-06-01: revoked_date", None, "2025-09-01", f"{waivers_csv}:2"),
    ]
    assert cli.rows(
        "select is_open, flags, limitation_date from cases where "
        "case_number in ('C-1', 'C-2') order by 1 desc",
    ) == [(1, "revoked-waiver", "2026-03-04"), (0, "", "2027-07-02")]


BAD_INPUT = [
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,2021-02-30,,,,,,",
        "violation_date: not a real date",
        id="impossible-date",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,2027-01-01,,,,,,",
        "violation_date: 2027-01-01 is in the future",
        id="future-violation",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,1949-12-31,,,,,,",
        "violation_date: 1949-12-31 is before 1950",
        id="before-1950",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,2021-01-01,2020-12-31,,,,,",
        "discovery_date: 2020-12-31 is before the violation date",
        id="discovery-before-violation",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,,,,,,12.345,",
        "assessed_amount: more than two decimals",
        id="fractional-cents",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,,,,,,-5,",
        "assessed_amount: not an amount of dollars",
        id="negative-amount",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,CEE011,2704,X,1,,,,,,,",
        "center: unknown Center 'CEE011'",
        id="unknown-center",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,PENDING,7,2704,X,1,,,,,,,",
        "status: unknown status 'PENDING'",
        id="unknown-status",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,,7,2704,X,1,,,,,,,",
        "status: required, but blank",
        id="blank-status",
    ),
    pytest.param(
        "cases.csv",
        "C-9,fine,1592,negligence,OPEN,7,2704,X,1,,,,,,,",
        "case_type: unknown case type 'fine'",
        id="unknown-case-type",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,USC 99,negligence,OPEN,7,2704,X,1,,,,,,,",
        "statute: not a section of title 19",
        id="bad-statute",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,careless,OPEN,7,2704,X,1,,,,,,,",
        "culpability: unknown culpability",
        id="bad-culpability",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,27A4,X,1,,,,,,,",
        "port_code: not a port code",
        id="bad-port",
    ),
    pytest.param(
        "cases.csv",
        "C-1,penalty,1592,negligence,OPEN,7,2704,X,1,,,,,,,",
        "case_number: case 'C-1' appears twice",
        id="duplicate-case",
    ),
    pytest.param(
        "cases.csv",
        "C-9,penalty,1592,negligence,OPEN,7,2704,X,1,,,,,,,,extra",
        "(row): 17 cells but the header has 16",
        id="too-many-cells",
    ),
    pytest.param(
        "entries.csv",
        "C-404,E-1,2021-01-01,10",
        "case_number: 'C-404': no such case",
        id="entry-for-unknown-case",
    ),
    pytest.param(
        "entries.csv",
        "C-1,E-100,2021-01-01,10",
        "entry_number: the same row key",
        id="duplicate-entry",
    ),
    pytest.param(
        "entries.csv", "C-1,E-7,,10", "entry_date: required, but blank", id="entry-without-date"
    ),
    pytest.param(
        "waivers.csv",
        "C-1,2026-12-01,,,,",
        "signed_date: 2026-12-01 is in the future",
        id="waiver-signed-in-future",
    ),
    pytest.param(
        "waivers.csv",
        "C-1,2024-01-01,2027-01-01,2,,",
        "term_years: give expires_date or term_years, not both",
        id="waiver-with-end-and-term",
    ),
    pytest.param(
        "waivers.csv",
        "C-1,2024-01-01,,,,true",
        "revives: a reviving waiver must state its expires_date",
        id="reviving-waiver-without-end",
    ),
    pytest.param(
        "waivers.csv",
        "C-1,2024-01-01,2023-01-01,,,",
        "expires_date: 2023-01-01 is before the signed date",
        id="waiver-ends-before-signed",
    ),
    pytest.param(
        "waivers.csv", "C-1,2024-01-01,,0,,", "term_years: not a term", id="zero-year-term"
    ),
    pytest.param(
        "waivers.csv",
        "C-1,2024-01-01,,2,,,E-100;E-9",
        "entries: 'E-9': not an entry of case 'C-1'",
        id="waiver-names-an-entry-the-case-lacks",
    ),
    pytest.param(
        "waivers.csv",
        "C-2,2024-01-01,,2,,,E-100",
        "entries: 'E-100': not an entry of case 'C-2'",
        id="waiver-names-another-cases-entry",
    ),
    pytest.param(
        "waivers.csv",
        "C-1,2024-01-01,,2,,,; ;",
        "entries: no entry numbers in '; ;'",
        id="waiver-entries-only-separators",
    ),
    pytest.param(
        "tolling.csv",
        "C-1,2023-05-01,2023-04-01,abroad",
        "end_date: 2023-04-01 is before the start date",
        id="tolling-backwards",
    ),
    pytest.param(
        "events.csv", "C-3,2022-01-01,", "kind: required, but blank", id="blank-event-kind"
    ),
]


@pytest.mark.parametrize(("name", "line", "message"), BAD_INPUT)
def test_it_refuses_an_extract_with_any_bad_row(
    cli: Cli, extract: Path, tmp_path: Path, name: str, line: str, message: str
) -> None:
    """One bad row refuses the whole import, reported as FILE:LINE: column: reason."""
    path = extract / name
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, line]) + "\n")
    result = cli("import", str(extract), "--as-of", "2026-11-24", code=2)
    assert f"{path}:{len(lines) + 1}: {message}" in result.stderr
    assert "nothing was imported" in result.stderr
    assert cli.rows("select count(*) from cases") == [(0,)]


def test_a_waiver_extends_only_the_entries_it_names(
    cli: Cli, extract: Path, tmp_path: Path
) -> None:
    """`entries` is stored trimmed and once each; blank covers every entry; a changed list is
    kept in the history; only the named entries' clocks move."""
    waivers = extract / "waivers.csv"
    write(
        waivers,
        """
        case_number,signed_date,expires_date,term_years,revoked_date,revives,entries
        C-1,2025-06-01,,2,,," E-101 ;E-101"
        C-2,2023-01-01,,2,,,
    """,
    )
    cli("import", str(extract), "--as-of", "2026-11-24")
    assert cli.rows("select signed_date, entries from waivers order by 1") == [
        ("2023-01-01", None),
        ("2025-06-01", "E-101"),
    ]
    # E-100 (limit 2026-03-04) is not named: it has run; E-101 runs to 2027-06-01.
    assert cli.rows(
        "select limitation_date, last_limitation_date, flags from cases where id = 1"
    ) == [("2026-03-04", "2027-06-01", "")]
    write(
        waivers,
        """
        case_number,signed_date,entries
        C-1,2025-06-01,E-100;E-101
    """,
    )
    cli("import", str(waivers), "--as-of", "2026-11-24")
    assert cli.rows(
        "select field, old_value, new_value from history where field like '%entries'"
    ) == [("waiver signed 2025-06-01: entries", "E-101", "E-100;E-101")]
    # Now E-100 is named too: the waiver, signed before its limit, carries it to 2027-06-01.
    assert cli.rows(
        "select limitation_date, last_limitation_date, flags from cases where id = 1"
    ) == [("2027-06-01", "2027-06-01", "")]


def test_it_reports_every_bad_row_not_just_the_first(cli: Cli, tmp_path: Path) -> None:
    """All problems in all rows are listed, so one fix-up round is enough."""
    path = write(
        tmp_path / "cases.csv",
        """
        case_number,status,violation_date,assessed_amount
        A,OPEN,2021-13-01,1
        B,WHAT,2021-01-01,x
        C,OPEN,2021-01-01,1
    """,
    )
    result = cli("import", str(path), "--as-of", "2026-11-24", code=2)
    assert result.stderr.splitlines() == [
        f"{path}:2: violation_date: not a real date: '2021-13-01' (month must be in 1..12)",
        f"{path}:3: status: unknown status 'WHAT' (expected OPEN, REFERRED, SUIT_FILED, "
        f"CLOSED, or a code listed in [import.status_map])",
        f"{path}:3: assessed_amount: not an amount: 'x'",
        "solwatch: nothing was imported (3 problems)",
    ]


def test_a_file_without_a_required_column_is_refused(cli: Cli, tmp_path: Path) -> None:
    """A missing header column is reported on line 1."""
    path = write(tmp_path / "cases.csv", "case_number,violation_date\nA,2021-01-01\n")
    result = cli("import", str(path), code=2)
    assert f"{path}:1: status: required column is missing from the header" in result.stderr


def test_it_refuses_text_that_is_not_utf8(cli: Cli, tmp_path: Path) -> None:
    """A Latin-1 file is an error naming the file, not a crash."""
    path = tmp_path / "cases.csv"
    path.write_bytes("case_number,status,importer_name\nA,OPEN,Bücher GmbH\n".encode("latin-1"))
    result = cli("import", str(path), code=2)
    assert f"{path}:2: (encoding): not UTF-8 text" in result.stderr


def test_it_refuses_a_child_file_that_is_not_utf8(cli: Cli, extract: Path) -> None:
    """A bad byte in an entries file is reported on its line, like one in a cases file."""
    path = extract / "entries.csv"
    path.write_bytes(path.read_bytes() + "C-1,É-9,2021-01-01,1\n".encode("latin-1"))
    result = cli("import", str(extract), "--as-of", "2026-11-24", code=2)
    assert f"{path}:4: (encoding): not UTF-8 text" in result.stderr


def test_skip_invalid_loads_the_rest_and_writes_rejects(
    cli: Cli, extract: Path, tmp_path: Path
) -> None:
    """With --skip-invalid the valid rows load and the rejected ones are kept with reasons."""
    cases = extract / "cases.csv"
    bad = "C-4,penalty,1592,negligence,OPEN,7,2704,X,1,2021-02-30,,,,,,"
    cases.write_text(cases.read_text() + bad + "\n")
    entries = extract / "entries.csv"
    entries.write_text(entries.read_text() + "C-4,E-1,2021-01-01,10\n")
    rejects = tmp_path / "rejects.csv"
    result = cli(
        "import", str(extract), "--as-of", "2026-11-24", "--skip-invalid", "--rejects", str(rejects)
    )
    siblings = tmp_path / "rejects-entries.csv"
    assert f"1 rejected row written to {rejects}" in result.output
    assert f"1 rejected row written to {siblings}" in result.output
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [
            [*CASES.split()[0].split(","), "reason"],
            [
                *next(csv.reader([bad])),
                f"{cases}:5: violation_date: not a real date: '2021-02-30' (day is out of range "
                f"for month)",
            ],
        ]
    with siblings.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["case_number", "entry_number", "entry_date", "loss_amount", "reason"],
            [
                "C-4",
                "E-1",
                "2021-01-01",
                "10",
                f"{entries}:4: case_number: 'C-4': its row in the cases file was rejected",
            ],
        ]
    assert cli.rows("select count(*) from cases") == [(3,)]


def test_skip_invalid_needs_a_rejects_file(cli: Cli, extract: Path) -> None:
    """Rejected rows are never silently dropped."""
    result = cli("import", str(extract), "--skip-invalid", code=2)
    assert "--skip-invalid needs --rejects" in result.stderr


def test_dry_run_checks_everything_and_writes_nothing(
    cli: Cli, extract: Path, tmp_path: Path
) -> None:
    """--dry-run reports what would load and leaves the database untouched."""
    result = cli("import", str(extract), "--dry-run", "--as-of", "2026-11-24")
    assert "cases.csv: 3 rows: 3 new" in result.output
    assert "Dry run: everything is valid; nothing was written." in result.output
    assert cli.rows("select count(*) from cases") == [(0,)]


def test_it_maps_columns_and_statuses_from_the_config(tmp_path: Path, database_url: str) -> None:
    """[import.columns] and [import.status_map] adapt another extract's vocabulary."""
    cli = Cli(tmp_path, database_url)
    cli.config.write_text(
        cli.config.read_text() + '[import.columns]\n"Case Nbr" = "case_number"\n'
        '"SOL Dt" = "sol_date"\n[import.status_map]\n"ACTIVE" = "OPEN"\n'
    )
    cli("init")
    path = tmp_path / "seacats_cases.csv"
    path.write_bytes(
        "\ufeffCASE NBR,Status,Statute,Violation Date,sol dt\n"
        "X-1,active,1592,2021-01-05,01/05/2026\n".encode()
    )
    cli("import", str(path), "--as-of", "2026-11-24")
    assert cli.rows("select case_number, status, sol_date, limitation_date from cases") == [
        ("X-1", "OPEN", "2026-01-05", "2026-01-05")
    ]


def test_it_needs_to_know_which_extract_a_file_is(cli: Cli, tmp_path: Path) -> None:
    """A file whose name does not say its kind needs --kind."""
    path = write(tmp_path / "monday.csv", "case_number,status\nA,OPEN\n")
    assert "pass --kind" in cli("import", str(path), code=2).stderr
    cli("import", str(path), "--kind", "cases")
    assert cli.rows("select case_number from cases") == [("A",)]


def test_it_asks_for_init_on_a_new_database(tmp_path: Path, database_url: str) -> None:
    """Commands on a database that does not exist yet say what to do."""
    result = Cli(tmp_path, database_url)("at-risk", code=2)
    assert "run `solwatch init` first" in result.stderr
