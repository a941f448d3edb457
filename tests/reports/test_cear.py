"""`solwatch export cear`: the monthly CEAR files, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, write

SMALL = Path(__file__).parent.parent / "data" / "small"
HEADER = (
    "case_number,case_type,statute,culpability,status,center,port_code,fpf_office,"
    "importer_name,importer_number,rule,limitation_date,fallback_limitation_date,file_by_date,"
    "days_remaining,recorded_sol_date,entries_total,entries_expired,waivers,alerts,"
    "assessed_amount,collected_amount,uncollected_amount,entries_expired_loss_amount,"
    "missing_field,last_action_date,days_since_action,cear_referral,fallback_days_remaining,"
    "fallback_flags,triage,triage_reason,resolved_status,resolved_date"
)


@pytest.fixture
def small(cli: Cli) -> Cli:
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    return cli


def lines(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return data.decode("utf-8-sig").split("\r\n")


def test_it_writes_each_centers_open_cases_and_a_summary(small: Cli, tmp_path: Path) -> None:
    """One file per Center with open cases, the CEAR columns last, and a summary row each."""
    out = tmp_path / "cear"
    result = small(
        "export", "cear", "--month", "2026-11", "--as-of", "2026-11-24", "--out", str(out)
    )
    assert "CEAR files for 2026-11 as of 2026-11-24:" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "cear-2026-11-CEE001.csv",
        "cear-2026-11-CEE004.csv",
        "cear-2026-11-CEE007.csv",
        "cear-2026-11-summary.csv",
        "cear-2026-11-unassigned.csv",
    ]
    assert lines(out / "cear-2026-11-CEE004.csv") == [
        HEADER,
        "C-5,penalty,1592,gross_negligence,OPEN,CEE004,2709,,Echo Ltd,33-3333333,"
        "1621-violation,2026-11-20,,2026-11-20,-4,2026-11-20,0,0,0,expired,75000.00,,"
        "75000.00,0.00,,2026-09-01,84,no,,,likely-lost,no suit filed; no closing event; "
        "$75000.00 uncollected,,",
        "",
    ]
    assert lines(out / "cear-2026-11-CEE001.csv")[1].startswith(
        'C-2,penalty,1592,fraud,REFERRED,CEE001,1001,,"\'=HYPERLINK(""http://x"")",'
    )
    assert lines(out / "cear-2026-11-summary.csv") == [
        "center,open,expired,expired_uncollected,due_90,due_180,due_365,blank_sol,"
        "sol_later_than_law,waivers_signed_in_month,cear_referrals_due,expired_likely_lost,"
        "expired_likely_lost_uncollected,expired_likely_miscoded,"
        "expired_likely_miscoded_uncollected,expired_unknown,expired_unknown_uncollected,"
        "status_correction_pending",
        "CEE001,1,0,0.00,0,0,1,1,0,0,0,0,0.00,0,0.00,0,0.00,0",
        "CEE004,1,1,75000.00,0,0,0,0,0,0,0,1,75000.00,0,0.00,0,0.00,0",
        "CEE007,1,0,0.00,0,0,0,0,0,0,0,0,0.00,0,0.00,0,0.00,0",
        "unassigned,1,0,0.00,0,0,0,0,0,0,0,0,0.00,0,0.00,0,0.00,0",
        "",
    ]


def test_a_past_month_exports_the_same_bytes_twice(small: Cli, tmp_path: Path) -> None:
    """Computed as of the month's last day: a re-export of a past month is identical."""
    from freezegun import freeze_time

    first, second = tmp_path / "one", tmp_path / "two"
    with freeze_time("2026-11-24 09:15:00"):
        small(
            "export",
            "cear",
            "--month",
            "2026-10",
            "--as-of",
            "2026-11-24",
            "--out",
            str(first),
            "--xlsx",
        )
    with freeze_time("2026-12-31 17:42:09"):
        small(
            "export",
            "cear",
            "--month",
            "2026-10",
            "--as-of",
            "2026-12-31",
            "--out",
            str(second),
            "--xlsx",
        )
    names = sorted(p.name for p in first.iterdir())
    assert "cear-2026-10-CEE004.xlsx" in names
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (
        "C-5,penalty,1592,gross_negligence,OPEN,CEE004,2709,,Echo Ltd,33-3333333,"
        "1621-violation,2026-11-20,,2026-11-20,20," in lines(first / "cear-2026-10-CEE004.csv")[1]
    )


def test_month_end_boundaries(cli: Cli, tmp_path: Path) -> None:
    """A limit on the month's last day is still due (0 days); the next day's is 1 day out;
    no action for exactly 90 days at month end is a referral, 89 is not."""
    cases = write(
        tmp_path / "cases.csv",
        """
        case_number,statute,culpability,status,center,violation_date,last_action_date,sol_date
        LAST,1592,negligence,OPEN,7,2021-11-30,2026-09-01,2026-11-30
        FIRST,1592,negligence,OPEN,7,2021-12-01,2026-09-02,2026-12-01
    """,
    )
    cli("import", str(cases), "--as-of", "2026-11-24")
    out = tmp_path / "cear"
    cli("export", "cear", "--month", "2026-11", "--as-of", "2026-12-05", "--out", str(out))
    rows = [line.split(",") for line in lines(out / "cear-2026-11-CEE007.csv")[1:-1]]
    header = HEADER.split(",")

    def cell(row: list[str], name: str) -> str:
        return row[header.index(name)]

    assert [
        (
            cell(r, "case_number"),
            cell(r, "days_remaining"),
            cell(r, "alerts"),
            cell(r, "days_since_action"),
            cell(r, "cear_referral"),
        )
        for r in rows
    ] == [
        ("LAST", "0", "due;request-waiver;prepenalty-short-window;cear-referral", "90", "yes"),
        ("FIRST", "1", "due;request-waiver;prepenalty-short-window", "89", "no"),
    ]


@pytest.mark.parametrize(
    ("month", "message"),
    [
        pytest.param("2026-13", "not a month: '2026-13'", id="month-13"),
        pytest.param("November", "not a month", id="words"),
        pytest.param("2026-12", "2026-12 has not started yet", id="future"),
    ],
)
def test_it_refuses_a_bad_month(small: Cli, month: str, message: str) -> None:
    """A month that is malformed or has not begun is bad usage, exit 2."""
    result = small("export", "cear", "--month", month, "--as-of", "2026-11-24", code=2)
    assert message in result.stderr


def test_the_summary_counts_waivers_signed_that_month(small: Cli, tmp_path: Path) -> None:
    """C-1's waivers were signed in June and July 2025: each month's summary counts its own
    for CEE007."""
    for month, expected in (("2025-06", "1"), ("2025-07", "1"), ("2025-08", "0")):
        out = tmp_path / month
        small("export", "cear", "--month", month, "--as-of", "2026-11-24", "--out", str(out))
        summary = [line.split(",") for line in lines(out / f"cear-{month}-summary.csv")[1:-1]]
        assert {row[0]: row[9] for row in summary}["CEE007"] == expected


def test_the_files_split_the_expired_and_list_the_corrections_pending(
    cli: Cli, tmp_path: Path
) -> None:
    """The Center's file shows each expired case's verdict and the case staff corrected (for
    the source record to be fixed); the summary counts both verdicts, with their dollars,
    and the corrections pending apart from the open cases."""
    extract = tmp_path / "extract"
    extract.mkdir()
    write(
        extract / "cases.csv",
        """
        case_number,statute,culpability,status,center,violation_date,sol_date,assessed_amount,collected_amount
        STALE,1592,negligence,OPEN,7,2020-01-10,2025-01-10,1000,0
        LOST,1592,negligence,OPEN,7,2020-02-10,2025-02-10,2500,100
        FIXED,1592,negligence,OPEN,7,2020-03-10,2025-03-10,300,0
        """,
    )
    write(
        extract / "events.csv",
        """
        case_number,event_date,kind
        STALE,2024-05-01,treasury_offset
        FIXED,2024-06-01,closed
        """,
    )
    cli("import", str(extract), "--as-of", "2026-11-24")
    cli(
        "resolve",
        "FIXED",
        "--status",
        "CLOSED",
        "--date",
        "2024-06-01",
        "--reason",
        "letter",
        "--as-of",
        "2026-11-24",
    )
    out = tmp_path / "cear"
    cli("export", "cear", "--month", "2026-11", "--as-of", "2026-11-24", "--out", str(out))
    rows = {line.split(",")[0]: line for line in lines(out / "cear-2026-11-CEE007.csv")[1:-1]}
    tails = {number: row.split(",")[-4:] for number, row in rows.items()}
    assert tails == {
        "STALE": ["likely-miscoded", "treasury_offset recorded 2024-05-01", "", ""],
        "LOST": ["likely-lost", "no suit filed; no closing event; $2400.00 uncollected", "", ""],
        "FIXED": ["", "", "CLOSED", "2024-06-01"],
    }
    assert ",status-correction-pending," in rows["FIXED"]
    header, center, _ = lines(out / "cear-2026-11-summary.csv")
    summary = dict(zip(header.split(","), center.split(","), strict=True))
    assert (summary["open"], summary["expired"], summary["expired_uncollected"]) == (
        "2",
        "2",
        "3400.00",
    )
    assert [summary[key] for key in header.split(",")[-7:]] == [
        "1",
        "2400.00",
        "1",
        "1000.00",
        "0",
        "0.00",
        "1",
    ]


def test_the_workbooks_keep_codes_as_text_and_never_hold_a_formula(
    cli: Cli, tmp_path: Path
) -> None:
    """Port 0901 keeps its zero, a formula-like name stays text, dates and dollars are typed."""
    from datetime import date

    from openpyxl import load_workbook

    cases = write(
        tmp_path / "cases.csv",
        """
        case_number,statute,culpability,status,center,port_code,importer_name,violation_date,assessed_amount
        B-1,1592,negligence,OPEN,9,0901,"=HYPERLINK(""http://x"")",2022-03-01,"1,234.50"
    """,
    )
    cli("import", str(cases), "--as-of", "2026-11-24")
    out = tmp_path / "cear"
    cli(
        "export", "cear", "--month", "2026-11", "--as-of", "2026-11-24", "--out", str(out), "--xlsx"
    )
    sheet = load_workbook(out / "cear-2026-11-CEE009.xlsx").active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert (row["port_code"].value, row["port_code"].data_type) == ("0901", "s")
    assert (row["importer_name"].value, row["importer_name"].data_type) == (
        '=HYPERLINK("http://x")',
        "s",
    )
    assert row["case_number"].value == "B-1"
    assert row["limitation_date"].value.date() == date(2027, 3, 1)
    assert row["assessed_amount"].value == 1234.5
    assert row["days_remaining"].value == 97
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)
