"""The alerts of an open case, numbered by what `classify` reads of it, so that a bulk export
can let the database look them up instead of assessing every case in Python (pure).

`classify` reads a handful of conditions: whether a field is missing, whether the SOL date is
blank, later or earlier than the law's, where the days remaining fall against the thresholds,
whether the case has a prepenalty notice, whether it is a CEAR candidate, where its fallback
stands, and its engine flags; and a case staff resolved (`solwatch resolve`) while the extract
still codes it open reads none of those. Days remaining matter only by which side of each
threshold they fall, so each combination is a small number, its `code`; the table of every
code's alerts is built by calling `classify` itself, so the two cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import product

from solwatch.core.alerts import AlertKind, Standing, Thresholds, classify

CLOSED = 0  # the code of a case that is not open: it raises nothing
SOL_SAME, SOL_LATER, SOL_EARLIER = 0, 1, 2  # the recorded SOL date against the law's
NO_DATE = 0  # the days bucket, or the fallback's, of a case with no computed date
FALLBACK_PAST, FALLBACK_DUE, FALLBACK_LATER = 1, 2, 3


@dataclass(frozen=True)
class AlertCodes:
    """How a case's conditions make its code, for one set of thresholds.

    `day_cuts` are the days remaining at which some alert starts or stops: a case's days bucket
    is 1 plus the number of cuts its days remaining reach (0 when it has no date)."""

    thresholds: Thresholds

    @property
    def day_cuts(self) -> tuple[int, ...]:
        t = self.thresholds
        return tuple(sorted({0, max(t.ladder) + 1, t.request_waiver_days, t.prepenalty_short_days}))

    @property
    def fallback_cuts(self) -> tuple[int, int]:
        """FALLBACK_PAST below the first, FALLBACK_DUE up to the second, FALLBACK_LATER on."""
        return 0, max(self.thresholds.ladder) + 1

    @property
    def radices(self) -> tuple[int, ...]:
        """missing, blank SOL, SOL comparison, days bucket, prepenalty, CEAR, fallback."""
        return (2, 2, 3, len(self.day_cuts) + 2, 2, 2, 4)

    @property
    def weights(self) -> tuple[int, ...]:
        found, weight = [], 1
        for radix in self.radices:
            found.append(weight)
            weight *= radix
        return tuple(found)

    @property
    def resolved(self) -> int:
        """The code of an open case staff resolved: it raises `status-correction-pending` alone."""
        return 1 + math.prod(self.radices)

    def code(self, *conditions: int) -> int:
        """The code of an open case with these conditions, in the order of `radices`."""
        return 1 + sum(w * c for w, c in zip(self.weights, conditions, strict=True))

    def _days_of(self, bucket: int) -> int | None:
        """Days remaining that fall in `bucket`."""
        cuts = self.day_cuts
        if bucket == NO_DATE:
            return None
        return cuts[0] - 1 if bucket == 1 else cuts[bucket - 2]

    def alerts(self, code: int, flags: frozenset[str], today: date) -> tuple[AlertKind, ...]:
        """What `classify` raises for the cases with `code` and engine `flags`."""
        if code == CLOSED:
            return ()
        if code == self.resolved:
            return classify(
                is_open=True,
                standing=Standing(None, None),
                missing=None,
                recorded_sol=None,
                flags=flags,
                days_idle=None,
                thresholds=self.thresholds,
                resolved=True,
            )
        rest, conditions = code - 1, []
        for radix in self.radices:
            rest, condition = divmod(rest, radix)
            conditions.append(condition)
        missing, blank, compared, bucket, prepenalty, cear, fallback = conditions
        days = self._days_of(bucket)
        limit = None if days is None else today + timedelta(days=days)
        recorded = None
        if not blank:
            recorded = limit or today
            if limit is not None and compared != SOL_SAME:
                recorded = limit + timedelta(days=1 if compared == SOL_LATER else -1)
        fallback_days = {
            FALLBACK_PAST: -1,
            FALLBACK_DUE: 0,
            FALLBACK_LATER: self.fallback_cuts[1],
        }.get(fallback)
        return classify(
            is_open=True,
            standing=Standing(limit, days),
            missing="missing" if missing else None,
            recorded_sol=recorded,
            flags=flags,
            days_idle=self.thresholds.cear_referral_days - (0 if cear else 1),
            thresholds=self.thresholds,
            prepenalty=bool(prepenalty),
            fallback=(
                None
                if fallback_days is None
                else Standing(today + timedelta(days=fallback_days), fallback_days)
            ),
        )

    def table(self, flag_values: set[str], today: date) -> Iterator[tuple[str, int, str, str]]:
        """(flags, code, alerts, cear_referral) for every code of every stored `flags` value:
        alerts joined with `;` as the CSV cell, cear_referral `yes` or `no`."""
        codes = [CLOSED, self.resolved]
        codes += [self.code(*c) for c in product(*(range(r) for r in self.radices))]
        for value in sorted(flag_values):
            flags = frozenset(filter(None, value.split(";")))
            for code in codes:
                raised = self.alerts(code, flags, today)
                referral = "yes" if AlertKind.CEAR_REFERRAL in raised else "no"
                yield value, code, ";".join(kind.value for kind in raised), referral
