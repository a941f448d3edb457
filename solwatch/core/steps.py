"""Explanation steps: what the engine did, in plain English, each with its legal source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Step:
    """One step of a derivation. `result` is the running limitation date after the step."""

    text: str
    source: str
    result: date | None = None


SRC_1621 = "19 U.S.C. §1621"
SRC_1621_1 = "19 U.S.C. §1621(1)"
SRC_1621_2 = "19 U.S.C. §1621(2)"
SRC_2415 = (
    "28 U.S.C. §2415(a): on a later partial payment or written acknowledgment of the debt the "
    "right of action is deemed to accrue again"
)
SRC_LIU = "19 U.S.C. §1621(1); U.S. v. Liu, CIT Slip Op. 23-44 (2023)"
# Cited only where a waiver's wording is the point: a term "commencing with the date of
# execution".
SRC_GULDMAN = (
    "United States v. Guldman, 343 F. Supp. 2d 1219 (CIT 2004), aff'd (Fed. Cir. 2005) "
    "(nonprecedential)"
)
# The anniversary is the last timely day: leave out the day of the event, count the last day.
SRC_ANNIVERSARY = "FRCP 6(a)(1); Wood-Ivey Systems v. United States, 4 F.3d 961 (Fed. Cir. 1993)"
SRC_WEEKEND = (
    "FRCP 6(a)(1)(C); Wood-Ivey Systems v. United States, 4 F.3d 961 (Fed. Cir. 1993); no §1621 "
    "ruling applies the roll-forward, so solwatch shows the business day before"
)
# Waiver arithmetic has no case source: a waiver reaches as far as its own terms say.
SRC_WAIVER_TERMS = "the waiver's own terms"
SRC_FORD = (
    "U.S. v. Ford Motor Co., 497 F.3d 1331 (Fed. Cir. 2007): a waiver takes effect without "
    "CBP's acceptance"
)
SRC_HITACHI = "U.S. v. Hitachi America, 172 F.3d 1319 (Fed. Cir. 1999)"
SRC_KATANA = "U.S. v. Katana Racing, 75 F.4th 1346 (Fed. Cir. 2023)"
SRC_2415_WAIVER = "28 U.S.C. §2415(a); the waiver's own terms"
SRC_HANOVER = "28 U.S.C. §2415(a); U.S. v. Hanover Ins., 82 F.3d 1052 (Fed. Cir. 1996)"
SRC_BERKAU = "U.S. v. Cocoa Berkau, 990 F.2d 610 (Fed. Cir. 1993)"
SRC_GLENS_FALLS = "28 U.S.C. §2415(a); U.S. v. Glens Falls Ins., 546 F. Supp. 643 (N.D.N.Y. 1982)"
SRC_2415_2416 = "28 U.S.C. §2415(a), §2416"
# Triage of an open case past its limit: the audit that showed most such cases are stale codes.
SRC_OIG_24_49 = (
    "DHS OIG-24-49 (2024): of the 152 cases OIG-22-34 counted open past the limit, 144 had been "
    "closed, settled, sent to litigation or to Treasury offset; only 8 had expired"
)
# A fact no rule reads, shown for the reader: where it came from.
SRC_EVENTS = "the extract's events.csv"
