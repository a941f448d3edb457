"""Where a case stands on a given day, and which alerts it raises (domain.md §4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class AlertKind(StrEnum):
    """Alert kinds, in the order outputs list them (interface.md §3)."""

    EXPIRED = "expired"
    DUE = "due"
    BLANK_SOL = "blank-sol"
    UNCOMPUTABLE = "uncomputable"
    SOL_LATER_THAN_LAW = "sol-later-than-law"
    SOL_EARLIER_THAN_LAW = "sol-earlier-than-law"
    WAIVER_INCOMPLETE = "waiver-incomplete"
    LATE_WAIVER = "late-waiver"
    REVOKED_WAIVER = "revoked-waiver"
    LATE_ACKNOWLEDGMENT = "late-acknowledgment"
    REQUEST_WAIVER = "request-waiver"
    PREPENALTY_SHORT_WINDOW = "prepenalty-short-window"
    CEAR_REFERRAL = "cear-referral"
    # A fraud case's negligence alternative: quieter, listed after the case's own alerts.
    FALLBACK_DUE = "fallback-due"
    FALLBACK_EXPIRED = "fallback-expired"
    # Staff recorded the case closed or in suit (`solwatch resolve`), the extract still codes it
    # open: the source record must be corrected too.
    STATUS_CORRECTION_PENDING = "status-correction-pending"


ALERT_ORDER = {kind: position for position, kind in enumerate(AlertKind)}
FALLBACK_KINDS = frozenset({AlertKind.FALLBACK_DUE, AlertKind.FALLBACK_EXPIRED})


@dataclass(frozen=True)
class Thresholds:
    """The configurable day counts of domain.md §4."""

    ladder: tuple[int, ...] = (730, 365, 180, 90, 60, 30, 14, 7, 1)
    request_waiver_days: int = 730
    prepenalty_short_days: int = 365
    cear_referral_days: int = 90


@dataclass(frozen=True)
class Standing:
    """A case's limitation date as of one day, and how much of it is already lost."""

    limitation_date: date | None
    days_remaining: int | None
    entries_expired: int = 0
    expired_loss_cents: int = 0


UNCOMPUTED = Standing(None, None)


def stand(
    limits: Sequence[tuple[date, int]],
    today: date,
    *,
    per_entry: bool,
    entries_total: int = 0,
    entries_loss_cents: int = 0,
) -> Standing:
    """Where clocks `(limit, loss_cents)` stand on `today`.

    With per-entry clocks the case's date is the earliest one not yet past, or once all have
    passed the latest (domain.md §3). A single clock covering every entry takes them all with it.
    """
    if not limits:
        return UNCOMPUTED
    live = [limit for limit, _ in limits if limit >= today]
    effective = min(live) if live else max(limit for limit, _ in limits)
    if per_entry:
        gone = [loss for limit, loss in limits if limit < today]
        expired, lost = len(gone), sum(gone)
    elif effective < today:
        expired, lost = entries_total, entries_loss_cents
    else:
        expired, lost = 0, 0
    return Standing(effective, (effective - today).days, expired, lost)


def stand_from_summary(
    first: date | None,
    last: date | None,
    today: date,
    *,
    entries_total: int,
    entries_loss_cents: int,
) -> Standing | None:
    """The standing from materialized first/last dates, or None when only the clocks can tell
    (some per-entry clocks have passed and others have not)."""
    if first is None or last is None:
        return UNCOMPUTED
    if first >= today:
        return Standing(first, (first - today).days)
    if last < today:
        return Standing(last, (last - today).days, entries_total, entries_loss_cents)
    return None


def days_since_action(last_action: date | None, initiated: date | None, today: date) -> int | None:
    """Days since the last recorded action (or since the case was opened, if none)."""
    anchor = last_action or initiated
    return None if anchor is None else (today - anchor).days


def classify(
    *,
    is_open: bool,
    standing: Standing,
    missing: str | None,
    recorded_sol: date | None,
    flags: frozenset[str],
    days_idle: int | None,
    thresholds: Thresholds,
    prepenalty: bool = False,
    fallback: Standing | None = None,
    resolved: bool = False,
) -> tuple[AlertKind, ...]:
    """Every alert an open case raises on the day `standing` was taken.

    Boundaries: the limitation date itself is the last timely day, so a case is `expired` from
    the day after; `due` once days remaining are at most the ladder's top rung; the action
    prompts when fewer than their thresholds remain, `prepenalty-short-window` only for cases
    with a prepenalty notice (`prepenalty`: §1592 and §1593a penalties). A case with no
    recorded action at all is a CEAR referral candidate: nobody can show it was looked at.
    A fraud case's `fallback` standing (its negligence alternative) raises `fallback-due` on
    the same ladder and `fallback-expired` once it has passed, with the same boundaries.
    A case staff `resolved` (found closed or in suit) while the extract still codes it open is
    no longer watched: it raises `status-correction-pending` alone, until the source says so too.
    """
    if not is_open:
        return ()
    if resolved:
        return (AlertKind.STATUS_CORRECTION_PENDING,)
    alerts: set[AlertKind] = set()
    if missing is not None:
        alerts.add(AlertKind.UNCOMPUTABLE)
    if recorded_sol is None:
        alerts.add(AlertKind.BLANK_SOL)
    alerts |= {AlertKind(flag) for flag in flags}
    days = standing.days_remaining
    if days is not None and standing.limitation_date is not None:
        if recorded_sol is not None and recorded_sol > standing.limitation_date:
            alerts.add(AlertKind.SOL_LATER_THAN_LAW)
        elif recorded_sol is not None and recorded_sol < standing.limitation_date:
            alerts.add(AlertKind.SOL_EARLIER_THAN_LAW)
        if days < 0:
            alerts.add(AlertKind.EXPIRED)
        else:
            if days <= max(thresholds.ladder):
                alerts.add(AlertKind.DUE)
            if days < thresholds.request_waiver_days:
                alerts.add(AlertKind.REQUEST_WAIVER)
            if prepenalty and days < thresholds.prepenalty_short_days:
                alerts.add(AlertKind.PREPENALTY_SHORT_WINDOW)
    if days_idle is None or days_idle >= thresholds.cear_referral_days:
        alerts.add(AlertKind.CEAR_REFERRAL)
    fallback_days = fallback.days_remaining if fallback is not None else None
    if fallback_days is not None:
        if fallback_days < 0:
            alerts.add(AlertKind.FALLBACK_EXPIRED)
        elif fallback_days <= max(thresholds.ladder):
            alerts.add(AlertKind.FALLBACK_DUE)
    return tuple(sorted(alerts, key=ALERT_ORDER.__getitem__))
