"""`solwatch resolve` and `unresolve`: staff's status corrections, through re-imports that
still code the case open, that agree, and that disagree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, write

AS_OF = ("--as-of", "2026-11-24")
CASES = """
    case_number,statute,culpability,status,center,port_code,violation_date,sol_date,assessed_amount,collected_amount
    A,1592,negligence,{a},7,2704,2020-01-10,2025-01-10,1000,0
    B,1592,negligence,OPEN,7,2704,2020-02-10,2025-02-10,2500,100
    C,1592,negligence,OPEN,7,2704,2023-03-01,2028-03-01,10,0
"""
EVENTS = """
    case_number,event_date,kind
    A,2024-05-01,settled
    {extra}
"""


def extract(folder: Path, a: str = "OPEN", extra: str = "") -> Path:
    """Case A past its limit with a settlement on file, B past it with nothing, C in time."""
    folder.mkdir(exist_ok=True)
    write(folder / "cases.csv", CASES.format(a=a))
    write(folder / "events.csv", EVENTS.format(extra=extra))
    return folder


@pytest.fixture
def store(cli: Cli, tmp_path: Path) -> Cli:
    cli("import", str(extract(tmp_path / "extract")), *AS_OF)
    return cli


def listed(cli: Cli, *options: str) -> list[dict[str, Any]]:
    found = json.loads(cli("at-risk", *AS_OF, "--format", "json", *options).output)
    assert isinstance(found, list)
    return found


def history(cli: Cli) -> list[tuple[Any, ...]]:
    return cli.rows(
        "select c.case_number, old_value, new_value, source from history h "
        "join cases c on c.id = h.case_id where field = 'resolution' order by h.id"
    )


def resolve_a(cli: Cli, *extra: str, code: int = 0) -> str:
    result = cli(
        "resolve",
        "A",
        "--status",
        "closed",
        "--date",
        "2024-05-01",
        "--reason",
        "settlement agreement in the case file",
        "--by",
        "J. Doe",
        *AS_OF,
        *extra,
        code=code,
    )
    return result.output if code == 0 else result.stderr


def test_the_expired_list_tells_the_stale_case_from_the_lost_one(store: Cli) -> None:
    """A (settled) is likely mis-coded, B (nothing on file, money owed) likely lost; C has no
    verdict: its limit has not passed."""
    verdicts = {c["case_number"]: (c["triage"], c["triage_reason"]) for c in listed(store)}
    assert verdicts == {
        "A": ("likely-miscoded", "settled recorded 2024-05-01"),
        "B": ("likely-lost", "no suit filed; no closing event; $2400.00 uncollected"),
    }
    shown = json.loads(store("show", "C", *AS_OF, "--format", "json").output)
    assert (shown["triage"], shown["triage_facts"]) == (None, [])


def test_resolve_takes_the_case_off_the_expired_lists_through_a_reimport_still_open(
    store: Cli, tmp_path: Path
) -> None:
    """Resolved, A leaves the expired list and stats and is flagged status-correction-pending;
    a re-import that still codes it OPEN keeps the correction and says it is still to be made
    in the source; unresolve brings A back; the history keeps who, when and why."""
    assert "It is off the open lists" in resolve_a(store)
    assert [c["case_number"] for c in listed(store, "--kind", "expired")] == ["B"]
    [pending] = listed(store, "--kind", "status-correction-pending")
    assert (pending["case_number"], pending["alerts"], pending["triage"]) == (
        "A",
        ["status-correction-pending"],
        None,
    )
    assert (pending["resolved_status"], pending["resolved_date"]) == ("CLOSED", "2024-05-01")
    stats = json.loads(store("stats", *AS_OF, "--format", "json").output)["total"]
    assert (stats["open"], stats["expired"], stats["status_correction_pending"]) == (2, 1, 1)
    assert (stats["expired_likely_lost"], stats["expired_likely_miscoded"]) == (1, 0)

    again = store("import", str(extract(tmp_path / "extract")), *AS_OF).output
    assert "Status corrections still to be made in the source (1, flagged " in again
    assert "status-correction-pending): A" in again
    assert [c["case_number"] for c in listed(store, "--kind", "expired")] == ["B"]
    shown = json.loads(store("show", "A", *AS_OF, "--format", "json").output)
    [correction] = shown["corrections"]
    assert (correction["status"], correction["by"], correction["in_force"]) == (
        "CLOSED",
        "J. Doe",
        True,
    )
    assert "Correction (in force): CLOSED on 2024-05-01, recorded by J. Doe" in (
        store("show", "A", *AS_OF).output
    )

    undone = store("unresolve", "A", "--reason", "wrong case", "--by", "R. Roe").output
    assert "Unresolved A" in undone
    assert [c["case_number"] for c in listed(store, "--kind", "expired")] == ["A", "B"]
    after = store("import", str(extract(tmp_path / "extract")), *AS_OF).output
    assert "Status corrections" not in after
    assert history(store) == [
        (
            "A",
            None,
            "CLOSED 2024-05-01",
            "resolve by J. Doe: settlement agreement in the case file",
        ),
        ("A", "CLOSED 2024-05-01", None, "unresolve by R. Roe: wrong case"),
    ]
    assert "has no correction in force" in store("unresolve", "A", code=2).stderr


def test_an_extract_that_agrees_ends_the_correction(store: Cli, tmp_path: Path) -> None:
    """When the source codes A CLOSED too, the import says so and the correction ends: it is
    kept, confirmed, and nothing is flagged any more."""
    resolve_a(store)
    result = store("import", str(extract(tmp_path / "extract", a="CLOSED")), *AS_OF).output
    assert "A: correction to CLOSED on 2024-05-01 confirmed: the extract now codes it CLOSED" in (
        result
    )
    assert listed(store, "--kind", "status-correction-pending") == []
    [correction] = json.loads(store("show", "A", *AS_OF, "--format", "json").output)["corrections"]
    assert (correction["in_force"], correction["ended_how"]) == (False, "confirmed")
    assert history(store)[-1][1:3] == ("CLOSED 2024-05-01", None)
    assert "correction" not in store("import", str(tmp_path / "extract"), *AS_OF).output


@pytest.mark.parametrize(
    ("status", "extra", "said"),
    [
        pytest.param(
            "SUIT_FILED",
            "",
            "the extract now codes it SUIT_FILED; the correction says CLOSED on 2024-05-01",
            id="another-status",
        ),
        pytest.param(
            "OPEN",
            "A,2024-07-01,closed",
            "the extract records closed on 2024-07-01; the correction says CLOSED on 2024-05-01",
            id="still-open-closed-another-day",
        ),
    ],
)
def test_a_conflicting_extract_is_reported_and_overwrites_nothing(
    store: Cli, tmp_path: Path, status: str, extra: str, said: str
) -> None:
    """An extract that disagrees with the correction is reported on the import's summary, on
    every import, and recorded once in the history; the correction stays in force."""
    resolve_a(store)
    folder = extract(tmp_path / "extract", a=status, extra=extra)
    result = store("import", str(folder), *AS_OF).output
    assert f"A: CONFLICT with the correction to CLOSED on 2024-05-01: {said}; kept" in result
    assert "CONFLICT" in store("import", str(folder), *AS_OF).output
    shown = json.loads(store("show", "A", *AS_OF, "--format", "json").output)
    [correction] = shown["corrections"]
    assert (correction["in_force"], correction["conflict"]) == (True, said)
    conflicts = [row for row in history(store) if "conflict" in row[3]]
    assert [row[3] for row in conflicts] == [f"import 2: conflict: {said}"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("A", "--status", "CLOSED", "--date", "2026-11-25", "--reason", "x"),
            "--date: 2026-11-25 is after today (2026-11-24)",
            id="future-date",
        ),
        pytest.param(
            ("A", "--status", "CLOSED", "--date", "2024-05-01", "--reason", " "),
            "--reason: say how the case was found closed or in suit",
            id="blank-reason",
        ),
        pytest.param(
            ("Z", "--status", "CLOSED", "--date", "2024-05-01", "--reason", "x"),
            "no case 'Z'",
            id="unknown-case",
        ),
        pytest.param(
            ("A", "--status", "SUIT_FILED", "--date", "2025-01-11", "--reason", "docket"),
            "--date: a suit filed 2025-01-11 came after the limit 2025-01-10 and did not meet it",
            id="suit-the-day-after-the-limit",
        ),
        pytest.param(
            ("A", "--status", "REFERRED", "--date", "2024-05-01", "--reason", "x"),
            "Invalid value for '--status'",
            id="not-a-correction-status",
        ),
    ],
)
def test_it_refuses_a_correction_that_cannot_stand(
    store: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Bad input exits 2 with the reason and records nothing."""
    assert message in store("resolve", *args, *AS_OF, code=2).stderr
    assert history(store) == []


def test_a_suit_on_the_limit_day_can_be_recorded(store: Cli) -> None:
    """The limit day itself is timely: a suit filed that day is a correction."""
    store(
        "resolve",
        "A",
        "--status",
        "SUIT_FILED",
        "--date",
        "2025-01-10",
        "--reason",
        "docket",
        *AS_OF,
    )
    assert listed(store, "--kind", "status-correction-pending")[0]["resolved_status"] == (
        "SUIT_FILED"
    )


def test_a_case_is_corrected_once_and_only_while_coded_open(store: Cli, tmp_path: Path) -> None:
    """A second correction needs `unresolve` first; a case the extract codes closed has
    nothing to correct."""
    resolve_a(store)
    assert "is already corrected to CLOSED 2024-05-01 by J. Doe" in resolve_a(store, code=2)
    store("unresolve", "A")
    store("import", str(extract(tmp_path / "extract", a="CLOSED")), *AS_OF)
    assert "the extract already codes A CLOSED: nothing to correct" in resolve_a(store, code=2)


def test_events_of_any_kind_are_kept_and_shown(cli: Cli, tmp_path: Path) -> None:
    """A kind solwatch knows is stored in its own spelling, any other as written; both are
    shown, and neither is an error."""
    folder = extract(
        tmp_path / "extract", extra="A,2024-06-01,Docket Review\nA,2024-02-01,Suit Filed"
    )
    cli("import", str(folder), *AS_OF)
    shown = json.loads(cli("show", "A", *AS_OF, "--format", "json").output)
    assert shown["events"] == [
        {"date": "2024-02-01", "kind": "suit_filed"},
        {"date": "2024-05-01", "kind": "settled"},
        {"date": "2024-06-01", "kind": "Docket Review"},
    ]
    text = cli("show", "A", *AS_OF).output
    assert "Events: 2024-02-01 suit_filed; 2024-05-01 settled; 2024-06-01 Docket Review" in text
    assert (
        "Triage: likely-miscoded: suit filed 2024-02-01, on or before the limit 2025-01-10; "
        in (text)
    )
    assert 'Event "Docket Review" on 2024-06-01: a kind solwatch does not read.' in text
