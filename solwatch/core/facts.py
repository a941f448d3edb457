"""The facts of a case as the engine sees them: plain frozen values, no database rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class CaseType(StrEnum):
    PENALTY = "penalty"
    FORFEITURE = "forfeiture"
    LIQUIDATED_DAMAGES = "liquidated_damages"


class Culpability(StrEnum):
    NEGLIGENCE = "negligence"
    GROSS_NEGLIGENCE = "gross_negligence"
    FRAUD = "fraud"


class Status(StrEnum):
    OPEN = "OPEN"
    REFERRED = "REFERRED"
    SUIT_FILED = "SUIT_FILED"
    CLOSED = "CLOSED"

    @property
    def is_open(self) -> bool:
        """OPEN and REFERRED cases are watched: referral to counsel does not stop the clock."""
        return self in (Status.OPEN, Status.REFERRED)


# Between the entry numbers a waiver names, in extracts and in the store.
ENTRY_SEPARATOR = ";"


class EventKind(StrEnum):
    """The event kinds solwatch reads (interface.md §1). An extract may carry others: they are
    kept and shown as written, and no rule reads them."""

    PARTIAL_PAYMENT = "partial_payment"
    ACKNOWLEDGMENT = "acknowledgment"
    # Case facts that tell a lost case from a mis-coded one (core/triage).
    SUIT_FILED = "suit_filed"
    REFERRED_TO_COUNSEL = "referred_to_counsel"
    SETTLED = "settled"
    PAID_IN_FULL = "paid_in_full"
    CLOSED = "closed"
    TREASURY_OFFSET = "treasury_offset"
    PETITION_DECIDED = "petition_decided"


KNOWN_EVENT_KINDS = frozenset(kind.value for kind in EventKind)
# The only events that restart a §2415 clock: "in the event of later partial payment or
# written acknowledgment of debt, the right of action shall be deemed to accrue again".
RESTARTS_2415 = frozenset({EventKind.PARTIAL_PAYMENT, EventKind.ACKNOWLEDGMENT})


@dataclass(frozen=True)
class Entry:
    number: str
    entry_date: date
    loss_cents: int = 0


@dataclass(frozen=True)
class Waiver:
    """A waiver on file. `entries` names the entries it covers; empty means all of them."""

    signed: date
    expires: date | None = None
    term_years: int | None = None
    revoked: date | None = None
    revives: bool = False
    entries: tuple[str, ...] = ()

    def reaches(self, clock_entries: frozenset[str]) -> bool:
        """Whether the waiver extends a clock that runs for `clock_entries` (one entry, or every
        entry of the case): only if it names them all, or names none."""
        return not self.entries or (bool(clock_entries) and clock_entries <= set(self.entries))


@dataclass(frozen=True)
class TollingPeriod:
    start: date
    end: date
    reason: str = ""


@dataclass(frozen=True)
class Event:
    """A dated event of a case: `kind` is an EventKind's value, or another kind as written."""

    event_date: date
    kind: str


@dataclass(frozen=True)
class CaseFacts:
    """What the limitation rules read: the case's type, statute, culpability and dates."""

    case_number: str
    case_type: CaseType = CaseType.PENALTY
    statute: str | None = None
    culpability: Culpability | None = None
    violation_date: date | None = None
    discovery_date: date | None = None
    property_discovery_date: date | None = None
    entries: tuple[Entry, ...] = field(default=())
    waivers: tuple[Waiver, ...] = field(default=())
    tolling: tuple[TollingPeriod, ...] = field(default=())
    events: tuple[Event, ...] = field(default=())
