"""Items taken a batch at a time (pure): `itertools.batched` of Python 3.12, as lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), read as they are taken."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
