"""Amounts: kept as exact integer cents, written as the outputs' decimal dollars."""

from __future__ import annotations


def dollars(cents: int | None) -> str | None:
    if cents is None:
        return None
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"
