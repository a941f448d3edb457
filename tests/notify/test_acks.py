"""Acknowledgements: muting one alert for one case, with who and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")


@pytest.fixture
def small(cli: Cli) -> Cli:
    cli("import", str(SMALL), *AS_OF)
    return cli


def test_an_acknowledgement_mutes_one_alert_until_a_day(small: Cli) -> None:
    """After an ack the muted alert no longer makes news; lifting it brings it back."""
    before = small("run-daily", *AS_OF, "--dry-run").output
    assert "expired 1" in before
    result = small(
        "ack",
        "C-5",
        "--kind",
        "expired",
        "--until",
        "2026-11-30",
        "--reason",
        "counsel reviewing",
        "--by",
        "jdoe",
        *AS_OF,
    )
    assert "Acknowledged #1: expired on C-5 muted through 2026-11-30 by jdoe" in result.output
    listed = small("acks", *AS_OF).output
    assert "C-5" in listed
    assert "counsel reviewing" in listed
    after = small("run-daily", *AS_OF, "--dry-run").output
    kinds = [item.split()[0] for item in after.split("alerts: ")[1].split("\n")[0].split(", ")]
    assert "expired" not in kinds
    assert "fallback-expired" in kinds  # C-2's, not muted
    small("unack", "1")
    assert "expired 1" in small("run-daily", *AS_OF, "--dry-run").output
    assert "C-5" not in small("acks", *AS_OF).output
    assert "C-5" in small("acks", "--all", *AS_OF).output


def test_an_expired_case_cannot_be_muted_for_a_week(small: Cli) -> None:
    """An expired case must never be silent for repeat_expired_days or longer."""
    result = small(
        "ack",
        "C-5",
        "--kind",
        "expired",
        "--until",
        "2026-12-01",
        "--reason",
        "later",
        *AS_OF,
        code=2,
    )
    assert "may be muted for fewer than 7 days" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("C-404", "--kind", "due", "--until", "2026-12-01", "--reason", "x"),
            "no case 'C-404'",
            id="unknown-case",
        ),
        pytest.param(
            ("C-1", "--kind", "due", "--until", "2026-11-23", "--reason", "x"),
            "already past",
            id="past-day",
        ),
        pytest.param(
            ("C-1", "--kind", "due", "--until", "2026-12-01", "--reason", "  "),
            "say why",
            id="blank-reason",
        ),
    ],
)
def test_bad_acknowledgements_are_refused(small: Cli, args: tuple[str, ...], message: str) -> None:
    """Each mistake is refused with exit 2 and a reason."""
    assert message in small("ack", *args, *AS_OF, code=2).stderr
