"""Centers of Excellence and Expertise: codes, names and their published mailboxes."""

from __future__ import annotations

import re

CENTERS: dict[str, str] = {
    "CEE001": "Pharmaceuticals, Health & Chemicals",
    "CEE002": "Agriculture & Prepared Products",
    "CEE003": "Automotive & Aerospace",
    "CEE004": "Apparel, Footwear & Textiles",
    "CEE005": "Base Metals",
    "CEE006": "Petroleum, Natural Gas & Minerals",
    "CEE007": "Electronics",
    "CEE008": "Consumer Products & Mass Merchandising",
    "CEE009": "Industrial & Manufacturing Materials",
    "CEE010": "Machinery",
}
SPECIAL = {"NOTELG": "Not Center-eligible", "PNDING": "Center assignment pending"}

PUBLISHED_MAILBOXES: dict[str, tuple[str, ...]] = {
    "CEE001": ("CEE-Pharmaceuticals@cbp.dhs.gov", "CEE-Chemicals@cbp.dhs.gov"),
    "CEE002": ("CEE-Agriculture@cbp.dhs.gov",),
    "CEE003": ("CEE-Automotive@cbp.dhs.gov",),
    "CEE004": ("CEE-Apparel@cbp.dhs.gov",),
    "CEE005": ("CEE-Basemetals@cbp.dhs.gov",),
    "CEE006": ("CEE-Petroleum@cbp.dhs.gov",),
    "CEE007": ("CEE-Electronics@cbp.dhs.gov",),
    "CEE008": ("CEE-Consumer@cbp.dhs.gov",),
    "CEE009": ("CEE-Industrialmaterials@cbp.dhs.gov",),
    "CEE010": ("CEE-Machinery@cbp.dhs.gov",),
}

_NUMBERED = re.compile(r"(?:CEE)?0*(\d{1,3})", re.IGNORECASE)


def normalize_center(text: str) -> str | None:
    """`CEE007`, `007` and `7` all mean CEE007; NOTELG and PNDING stay; blank is None.

    Raises ValueError for anything else: an unknown code would otherwise vanish from routing.
    """
    text = text.strip()
    if not text:
        return None
    if text.upper() in SPECIAL:
        return text.upper()
    match = _NUMBERED.fullmatch(text)
    if match:
        code = f"CEE{int(match.group(1)):03d}"
        if code in CENTERS:
            return code
    raise ValueError(
        f"unknown Center {text!r} (expected CEE001 to CEE010, 001 to 010, 1 to 10, NOTELG, "
        f"PNDING or blank)"
    )


def center_label(code: str | None) -> str:
    if code is None:
        return "No Center"
    return f"{code} {CENTERS.get(code) or SPECIAL.get(code, '')}".strip()
