"""The CLI through its real entry point: exact JSON and CSV on a small fixed store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from solwatch.cli import main
from solwatch.core.alerts import AlertKind
from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
ROOT = Path(__file__).resolve().parents[2]
AS_OF = ("--as-of", "2026-11-24")

C4 = {
    "case_number": "C-4",
    "case_type": "penalty",
    "statute": "1595a",
    "culpability": None,
    "status": "OPEN",
    "center": None,
    "port_code": "2704",
    "fpf_office": "Los Angeles FP&F",
    "importer_name": "Delta Corp",
    "importer_number": "22-2222222",
    "rule": "1621-discovery",
    "limitation_date": None,
    "fallback_limitation_date": None,
    "file_by_date": None,
    "days_remaining": None,
    "recorded_sol_date": "2025-06-01",
    "entries_total": 0,
    "entries_expired": 0,
    "waivers": 0,
    "alerts": ["uncomputable"],
    "assessed_amount": "100.00",
    "collected_amount": None,
    "uncollected_amount": "100.00",
    "entries_expired_loss_amount": "0.00",
    "missing_field": "discovery_date",
    "fallback_days_remaining": None,
    "fallback_flags": [],
    "triage": None,
    "triage_reason": None,
    "resolved_status": None,
    "resolved_date": None,
}
C5 = {
    "case_number": "C-5",
    "case_type": "penalty",
    "statute": "1592",
    "culpability": "gross_negligence",
    "status": "OPEN",
    "center": "CEE004",
    "port_code": "2709",
    "fpf_office": None,
    "importer_name": "Echo Ltd",
    "importer_number": "33-3333333",
    "rule": "1621-violation",
    "limitation_date": "2026-11-20",
    "fallback_limitation_date": None,
    "file_by_date": "2026-11-20",
    "days_remaining": -4,
    "recorded_sol_date": "2026-11-20",
    "entries_total": 0,
    "entries_expired": 0,
    "waivers": 0,
    "alerts": ["expired"],
    "assessed_amount": "75000.00",
    "collected_amount": None,
    "uncollected_amount": "75000.00",
    "entries_expired_loss_amount": "0.00",
    "missing_field": None,
    "fallback_days_remaining": None,
    "fallback_flags": [],
    "triage": "likely-lost",
    "triage_reason": "no suit filed; no closing event; $75000.00 uncollected",
    "resolved_status": None,
    "resolved_date": None,
}
C2 = {
    "case_number": "C-2",
    "case_type": "penalty",
    "statute": "1592",
    "culpability": "fraud",
    "status": "REFERRED",
    "center": "CEE001",
    "port_code": "1001",
    "fpf_office": None,
    "importer_name": '=HYPERLINK("http://x")',
    "importer_number": "98-7654321",
    "rule": "1621-fraud",
    "limitation_date": "2027-07-02",
    "fallback_limitation_date": "2024-02-15",
    "file_by_date": "2027-07-02",
    "days_remaining": 220,
    "recorded_sol_date": None,
    "entries_total": 0,
    "entries_expired": 0,
    "waivers": 0,
    "alerts": [
        "due",
        "blank-sol",
        "request-waiver",
        "prepenalty-short-window",
        "fallback-expired",
    ],
    "assessed_amount": "5000.00",
    "collected_amount": None,
    "uncollected_amount": "5000.00",
    "entries_expired_loss_amount": "0.00",
    "missing_field": None,
    "fallback_days_remaining": -1013,
    "fallback_flags": [],
    "triage": None,
    "triage_reason": None,
    "resolved_status": None,
    "resolved_date": None,
}


@pytest.fixture
def small(cli: Cli) -> Cli:
    cli("import", str(SMALL), *AS_OF)
    return cli


def test_at_risk_json_lists_the_urgent_cases_exactly(small: Cli) -> None:
    """Uncomputable first, then by days remaining; every field as interface.md §3 says."""
    result = small("at-risk", *AS_OF, "--format", "json")
    assert json.loads(result.output) == [C4, C5, C2]


def test_at_risk_csv_is_exact_and_formula_safe(small: Cli) -> None:
    """The CSV has the contract's columns in order and neutralises formula-like text."""
    result = small("at-risk", *AS_OF, "--format", "csv")
    assert result.stdout_bytes.decode().split("\r\n") == [
        "case_number,case_type,statute,culpability,status,center,port_code,fpf_office,"
        "importer_name,importer_number,rule,limitation_date,fallback_limitation_date,"
        "file_by_date,days_remaining,recorded_sol_date,entries_total,entries_expired,waivers,"
        "alerts,assessed_amount,collected_amount,uncollected_amount,"
        "entries_expired_loss_amount,missing_field,fallback_days_remaining,fallback_flags,"
        "triage,triage_reason,resolved_status,resolved_date",
        "C-4,penalty,1595a,,OPEN,,2704,Los Angeles FP&F,Delta Corp,22-2222222,1621-discovery,"
        ",,,,2025-06-01,0,0,0,uncomputable,100.00,,100.00,0.00,discovery_date,,,,,,",
        "C-5,penalty,1592,gross_negligence,OPEN,CEE004,2709,,Echo Ltd,33-3333333,"
        "1621-violation,2026-11-20,,2026-11-20,-4,2026-11-20,0,0,0,expired,75000.00,,75000.00,"
        "0.00,,,,likely-lost,no suit filed; no closing event; $75000.00 uncollected,,",
        'C-2,penalty,1592,fraud,REFERRED,CEE001,1001,,"\'=HYPERLINK(""http://x"")",'
        "98-7654321,1621-fraud,2027-07-02,2024-02-15,2027-07-02,220,,0,0,0,"
        "due;blank-sol;request-waiver;prepenalty-short-window;fallback-expired,5000.00,,5000.00,"
        "0.00,,-1013,,,,,",
        "",
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(("--within", "0"), ["C-4", "C-5", "C-2"], id="blank-sol-keeps-c2"),
        pytest.param(("--center", "4"), ["C-5"], id="center-by-number"),
        pytest.param(("--port", "2704"), ["C-4"], id="port"),
        pytest.param(("--kind", "expired"), ["C-5"], id="kind-expired"),
        pytest.param(("--kind", "sol-earlier-than-law"), ["C-1"], id="kind-informational"),
        pytest.param(("--kind", "due", "--within", "219"), [], id="due-day-before"),
        pytest.param(("--kind", "due", "--within", "220"), ["C-2"], id="due-on-the-day"),
    ],
)
def test_at_risk_filters(small: Cli, options: tuple[str, ...], expected: list[str]) -> None:
    """--within bounds `due`; --center, --port and --kind narrow the list."""
    result = small("at-risk", *AS_OF, "--format", "json", *options)
    assert [case["case_number"] for case in json.loads(result.output)] == expected


def test_at_risk_table_is_readable(small: Cli) -> None:
    """The table names the cases and their alerts."""
    output = small("at-risk", *AS_OF).output
    assert "At-risk cases as of 2026-11-24: 3" in output
    assert re.search(r"C-5 .* CEE004 .* -4 .* expired", output)


def test_show_explains_the_derivation(small: Cli) -> None:
    """show --format json adds the steps, each with its legal source, ending on the date."""
    case = json.loads(small("show", "C-1", *AS_OF, "--format", "json").output)
    assert case["limitation_date"] == "2028-03-04"
    assert (case["entries_total"], case["entries_expired"], case["waivers"]) == (2, 0, 2)
    assert case["alerts"] == ["due", "sol-earlier-than-law", "request-waiver"]
    steps = case.pop("explanation")
    assert [step["text"] for step in steps] == [
        "Penalty under 19 U.S.C. §1592 (negligence): five years after the date of the "
        "violation, each entry being a separate violation.",
        "Entry E-100: Dated 2021-03-04 + 5 years = 2026-03-04, the last day suit may be commenced.",
        "Entry E-100: Waiver signed 2025-06-01 states an end date of 2028-03-04, and takes "
        "effect without CBP's acceptance: limit 2026-03-04 becomes 2028-03-04.",
        "Entry E-100: Waiver signed 2025-07-01 names entry E-101, not this one: it does not "
        "extend this entry's clock.",
        "Entry E-101: Dated 2021-09-30 + 5 years = 2026-09-30, the last day suit may be commenced.",
        "Entry E-101: Waiver signed 2025-06-01 names entry E-100, not this one: it does not "
        "extend this entry's clock.",
        "Entry E-101: Waiver signed 2025-07-01 runs 3 year(s) commencing with the date of "
        "execution, to 2028-07-01, and takes effect without CBP's acceptance: limit 2026-09-30 "
        "becomes 2028-07-01.",
        "As of 2026-11-24, 0 of 2 entry clocks have run; the earliest one still running ends "
        "2028-03-04, the case's limitation date.",
        "2028-03-04 falls on a Saturday. FRCP 6(a)(1)(C) and Wood-Ivey would roll a last day "
        "on a weekend or holiday forward to the next business day, but no §1621 ruling says so, "
        "and solwatch never moves the limit later: file by 2028-03-03 (Friday), the business "
        "day before.",
    ]
    assert all(step["source"] for step in steps)
    assert steps[-2]["date"] == "2028-03-04"
    assert case["file_by_date"] == "2028-03-03"


def test_show_text_says_when_to_file(small: Cli) -> None:
    """The text view gives the date, the file-by day and the days left."""
    output = small("show", "C-2", "--as-of", "2027-07-01").output
    assert "Limitation date: 2027-07-02 (Friday), file by 2027-07-02: 1 days remaining" in output
    assert "Fallback if fraud is not proven: 2024-02-15" in output


def test_show_a_partially_expired_case(small: Cli) -> None:
    """Once the first entry's clock has run, the case stands on the next one."""
    case = json.loads(small("show", "C-1", "--as-of", "2028-03-05", "--format", "json").output)
    assert (
        case["limitation_date"],
        case["entries_expired"],
        case["entries_expired_loss_amount"],
    ) == ("2028-07-01", 1, "1000.00")


def test_show_an_unknown_case_is_an_error(small: Cli) -> None:
    """A case number that is not in the store exits 2 and says so."""
    assert "no case 'C-404'" in small("show", "C-404", code=2).stderr


def test_stats_json(small: Cli) -> None:
    """Per-Center totals over open cases, with a total row."""
    stats = json.loads(small("stats", *AS_OF, "--format", "json").output)
    zero = {
        "open": 1,
        "expired": 0,
        "expired_uncollected": "0.00",
        "blank_sol": 0,
        "due_90": 0,
        "due_365": 0,
        "sol_later_than_law": 0,
        "waivers_on_file": 0,
        "lost": 0,
        "lost_uncollected": "0.00",
        "fallback_due": 0,
        "fallback_expired": 0,
    }
    no_triage = {
        "expired_likely_lost": 0,
        "expired_likely_lost_uncollected": "0.00",
        "expired_likely_miscoded": 0,
        "expired_likely_miscoded_uncollected": "0.00",
        "expired_unknown": 0,
        "expired_unknown_uncollected": "0.00",
        "status_correction_pending": 0,
    }
    zero.update(no_triage)
    lost = {"expired_likely_lost": 1, "expired_likely_lost_uncollected": "75000.00"}
    expired = {"expired": 1, "expired_uncollected": "75000.00", **lost}
    assert stats == {
        "as_of": "2026-11-24",
        "from": "2025-11-25",
        "to": "2026-11-24",
        "centers": [
            {"center": "CEE001", **zero, "blank_sol": 1, "due_365": 1, "fallback_expired": 1},
            {"center": "CEE004", **zero, **expired},
            {"center": "CEE007", **zero, "waivers_on_file": 2},
            {"center": None, **zero},
        ],
        "total": {
            "open": 4,
            "expired": 1,
            "expired_uncollected": "75000.00",
            "blank_sol": 1,
            "due_90": 0,
            "due_365": 1,
            "sol_later_than_law": 0,
            "waivers_on_file": 2,
            "lost": 0,
            "lost_uncollected": "0.00",
            "fallback_due": 0,
            "fallback_expired": 1,
            **no_triage,
            **lost,
        },
    }


def test_export_cases_writes_every_case(small: Cli, tmp_path: Path) -> None:
    """Every case, open or not, into a UTF-8 CSV with a BOM."""
    out = tmp_path / "cases.csv"
    small("export", "cases", *AS_OF, "--out", str(out))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert [line.split(",")[0] for line in lines[1:-1]] == ["C-1", "C-2", "C-3", "C-4", "C-5"]
    assert lines[3].startswith(
        "C-3,liquidated_damages,1623,,CLOSED,PNDING,2709,,Gamma Co.,"
        "11-1111111,2415-contract,2028-08-15,,2028-08-15,"
    )


def test_the_date_option_is_checked(small: Cli) -> None:
    """A malformed --as-of is bad usage, exit 2."""
    assert "--as-of: not a date" in small("at-risk", "--as-of", "24/11/26", code=2).stderr


def test_a_bad_config_stops_the_program(tmp_path: Path) -> None:
    """An unknown configuration key exits 2 naming it."""
    cli = Cli(tmp_path)
    cli.config.write_text("[alerts]\nladdr = [1]\n")
    assert "alerts.laddr: unknown key" in cli("init", code=2).stderr


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


@pytest.mark.parametrize("command", _commands(main))
def test_every_command_has_help_and_is_documented(command: str) -> None:
    """Each command explains itself in --help and appears in the README."""
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert f"`solwatch {command}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("kind", [kind.value for kind in AlertKind])
def test_every_alert_kind_is_documented(kind: str) -> None:
    """The README's alert table names every alert kind solwatch raises."""
    assert f"| `{kind}` |" in (ROOT / "README.md").read_text()


def test_demo_shows_every_rule_and_alert(tmp_path: Path, database_url: str) -> None:
    """The demo's sample data has cases under every rule and with every alert kind, expired
    cases of every triage verdict in their two digest sections, and corrections pending."""
    cli = Cli(tmp_path, database_url)
    output = cli("demo", "--dir", str(tmp_path / "sample"), *AS_OF).output
    assert "Imported into" in output
    rules = {
        case["rule"]
        for case in json.loads(
            cli("at-risk", *AS_OF, "--within", "3000", "--format", "json").output
        )
    }
    assert rules >= {
        "1621-violation",
        "1621-fraud",
        "1621-discovery",
        "1621-forfeiture",
        "2415-contract",
    }
    for kind in AlertKind:
        found = json.loads(cli("at-risk", *AS_OF, "--kind", kind.value, "--format", "json").output)
        assert found, kind
    fallback = json.loads(
        cli("at-risk", *AS_OF, "--kind", "fallback-expired", "--format", "json").output
    )
    assert any(case["fallback_flags"] == ["late-waiver"] for case in fallback)
    digests = [path.read_bytes() for path in (tmp_path / "sample" / "outbox").glob("*.eml")]
    assert any(b"Fraud cases: the negligence alternative" in digest for digest in digests)
    expired = json.loads(cli("at-risk", *AS_OF, "--kind", "expired", "--format", "json").output)
    verdicts = {case["triage"] for case in expired}
    assert verdicts == {"likely-lost", "likely-miscoded", "unknown"}
    for title in (b"lost unless counsel finds otherwise", b"probably a stale status: correct"):
        assert any(title in digest for digest in digests), title
    counts = re.search(
        r"Past the limit, by triage: (\d+) likely lost .*, (\d+) likely mis-coded .*, (\d+) "
        r"unknown; (\d+) corrected by staff",
        output,
    )
    assert counts is not None
    lost, miscoded, unknown, pending = map(int, counts.groups())
    assert (lost, miscoded, unknown) == tuple(
        sum(case["triage"] == verdict for case in expired)
        for verdict in ("likely-lost", "likely-miscoded", "unknown")
    )
    assert lost > 0
    assert miscoded > 0
    corrected = json.loads(
        cli("at-risk", *AS_OF, "--kind", "status-correction-pending", "--format", "json").output
    )
    assert pending == len(corrected) == 2


@pytest.mark.integration
def test_the_installed_command_runs(tmp_path: Path) -> None:
    """The console script installed by pip starts and answers."""
    script = Path(sys.executable).parent / "solwatch"
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "statute-of-limitations watch" in result.stdout


def test_the_shipped_systemd_unit_runs_a_valid_command() -> None:
    """deploy/solwatch.service starts `serve --standby` with options the program accepts."""
    import shlex

    from click.testing import CliRunner

    unit = (ROOT / "deploy" / "solwatch.service").read_text()
    [start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    program, *args = shlex.split(start.removeprefix("ExecStart="))
    assert program.endswith("/solwatch")
    assert args[-2:] == ["serve", "--standby"]
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
