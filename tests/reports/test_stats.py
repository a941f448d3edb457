"""`solwatch stats` as an auditor's review: the OIG's findings reproduced on a built extract."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import Cli

HEADER = (
    "case_number,statute,culpability,status,center,violation_date,sol_date,"
    "assessed_amount,collected_amount,last_action_date\n"
)


# What the 144 stale cases of OIG-24-49 carry, in turn: the facts that say they ended.
CLOSING_FACTS = ("suit_filed", "settled", "closed", "treasury_offset", "paid_in_full")
# What the 8 really lost carry: nothing that ended them, or a suit the day after the limit.
NOT_CLOSING = {1: "suit_filed", 2: "referred_to_counsel", 3: "petition_decided"}


def build_extract(folder: Path) -> Path:
    """Like the auditors' findings: 152 open cases past the limit, $858 million uncollected
    (OIG-22-34), of which the first 8 carry no fact that the case ended and the other 144 do
    (OIG-24-49); among cases that are not (still in time, closed in time, suit filed, closed
    and lost)."""
    folder.mkdir(exist_ok=True)
    rows = []
    events = []
    for n in range(152):  # $858,000,000 spread unevenly over the 152 cases
        assessed = 5_000_000 + (n % 7) * 150_000 + (1_000_000 if n < 8 else 0)
        rows.append(
            f"OIG-{n:03d},1592,negligence,{'OPEN' if n % 5 else 'REFERRED'},"
            f"{n % 10 + 1},2019-{n % 12 + 1:02d}-15,,{assessed},{0}"
        )
        limit = f"2024-{n % 12 + 1:02d}-15"
        if n >= 8:  # a suit on the last day met the limit; the other facts end the case anyway
            events.append(f"OIG-{n:03d},{limit},{CLOSING_FACTS[n % len(CLOSING_FACTS)]}")
        elif n in NOT_CLOSING:  # a suit the day after the limit did not meet it
            events.append(f"OIG-{n:03d},2024-{n % 12 + 1:02d}-16,{NOT_CLOSING[n]}")
    correction = 858_000_000 - sum(int(row.split(",")[7]) for row in rows)
    first = rows[0].split(",")
    first[7] = str(int(first[7]) + correction)
    rows[0] = ",".join(first)
    rows += [f"LIVE-{n},1592,negligence,OPEN,3,2023-06-01,2028-06-01,1000,0" for n in range(20)]
    rows += [f"SUED-{n},1592,negligence,SUIT_FILED,3,2019-01-01,,1000,0" for n in range(5)]
    rows += [f"PAID-{n},1592,negligence,CLOSED,3,2019-01-01,,1000,1000" for n in range(4)]
    rows += [f"LOST-{n},1592,negligence,CLOSED,4,2021-02-01,,2500,500" for n in range(3)]
    (folder / "cases.csv").write_text(
        HEADER.replace(",last_action_date", "") + "\n".join(rows) + "\n"
    )
    (folder / "events.csv").write_text("case_number,event_date,kind\n" + "\n".join(events) + "\n")
    return folder


def test_it_reproduces_the_auditors_finding(cli: Cli, tmp_path: Path) -> None:
    """152 open cases past the limit and $858 million uncollected, to the cent."""
    cli("import", str(build_extract(tmp_path / "extract")), "--as-of", "2026-11-24")
    stats = json.loads(cli("stats", "--as-of", "2026-11-24", "--format", "json").output)
    total = stats["total"]
    assert (total["open"], total["expired"], total["expired_uncollected"]) == (
        172,
        152,
        "858000000.00",
    )
    assert total["blank_sol"] == 152
    assert sum(c["expired"] for c in stats["centers"]) == 152


def test_it_tells_the_eight_lost_from_the_144_miscoded(cli: Cli, tmp_path: Path) -> None:
    """Of the 152 past the limit, 8 likely lost and 144 likely mis-coded, with their dollars:
    both of the auditors' numbers in one command."""
    cli("import", str(build_extract(tmp_path / "extract")), "--as-of", "2026-11-24")
    stats = json.loads(cli("stats", "--as-of", "2026-11-24", "--format", "json").output)
    total = stats["total"]
    assert (total["expired"], total["expired_uncollected"]) == (152, "858000000.00")
    assert (total["expired_likely_lost"], total["expired_likely_lost_uncollected"]) == (
        8,
        "73500000.00",
    )
    assert (
        total["expired_likely_miscoded"],
        total["expired_likely_miscoded_uncollected"],
    ) == (144, "784500000.00")
    assert (total["expired_unknown"], total["status_correction_pending"]) == (0, 0)
    assert sum(c["expired_likely_lost"] for c in stats["centers"]) == 8
    lost = json.loads(
        cli("at-risk", "--as-of", "2026-11-24", "--kind", "expired", "--format", "json").output
    )
    assert sorted(c["case_number"] for c in lost if c["triage"] == "likely-lost") == [
        f"OIG-{n:03d}" for n in range(8)
    ]
    table = cli("stats", "--as-of", "2026-11-24").output
    assert re.search(
        r"Total\s+│\s+152\s+│\s+858000000\.00\s+│\s+8\s+│\s+73500000\.00\s+│\s+144", table
    )


def test_it_counts_cases_lost_in_a_period(cli: Cli, tmp_path: Path) -> None:
    """Closed without suit, limit run inside --from/--to, money uncollected: lost."""
    cli("import", str(build_extract(tmp_path / "extract")), "--as-of", "2026-11-24")
    inside = json.loads(
        cli(
            "stats",
            "--as-of",
            "2026-11-24",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
            "--format",
            "json",
        ).output
    )
    assert (inside["from"], inside["to"]) == ("2026-01-01", "2026-06-30")
    assert (inside["total"]["lost"], inside["total"]["lost_uncollected"]) == (3, "6000.00")
    cee004 = next(c for c in inside["centers"] if c["center"] == "CEE004")
    assert (cee004["open"], cee004["lost"]) == (15, 3)
    outside = json.loads(
        cli(
            "stats",
            "--as-of",
            "2026-11-24",
            "--from",
            "2026-02-02",
            "--to",
            "2026-06-30",
            "--format",
            "json",
        ).output
    )
    assert outside["total"]["lost"] == 0


def test_it_reports_waivers_on_file_and_wrong_sol_dates(cli: Cli, tmp_path: Path) -> None:
    """Waivers on open cases and recorded SOL dates later than the law are counted."""
    cases = tmp_path / "cases.csv"
    cases.write_text(
        HEADER.replace(",last_action_date", "")
        + "A,1592,negligence,OPEN,7,2022-03-01,2028-03-01,10,0\n"
        + "B,1592,negligence,OPEN,7,2022-03-01,2027-03-01,10,0\n"
        + "C,1592,negligence,OPEN,7,2022-03-01,2028-03-01,10,0\n"
    )
    waivers = tmp_path / "waivers.csv"
    waivers.write_text(
        "case_number,signed_date,expires_date\nB,2026-01-05,2028-01-05\nA,2026-02-01,2028-03-01\n"
    )
    cli("import", str(cases), str(waivers), "--as-of", "2026-11-24")
    stats = json.loads(cli("stats", "--as-of", "2026-11-24", "--format", "json").output)
    [cee007] = stats["centers"]
    assert (cee007["waivers_on_file"], cee007["sol_later_than_law"]) == (2, 1)
