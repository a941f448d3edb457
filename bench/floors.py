"""The floors of the benchmark: what the bulk paths cost at the least, each measured alone.

    .venv/bin/python -m bench.floors reader EXTRACT
    .venv/bin/python -m bench.floors executemany SOURCE_DB TARGET_DB
    .venv/bin/python -m bench.floors rules SOURCE_DB
    .venv/bin/python -m bench.floors writer CSV... --out FILE
    .venv/bin/python -m bench.floors generate EXTRACT --cases N --as-of D

Each prints one JSON object: the seconds of its timed part only (building the input it is
given, such as ready tuples or in-memory facts, is not timed), and what it counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

KINDS = ("cases", "entries", "waivers", "tolling", "events")
BATCH = 20_000


def reader(extract: Path) -> dict[str, Any]:
    """`csv.reader` over the five files, every row read and nothing done with it."""
    rows = 0
    started = time.perf_counter()
    for kind in KINDS:
        with (extract / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as handle:
            for _ in csv.reader(handle):
                rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _batches(connection: sqlite3.Connection, table: str) -> Iterator[list[tuple[Any, ...]]]:
    cursor = connection.execute(f"SELECT * FROM {table} ORDER BY id")
    while batch := cursor.fetchmany(BATCH):
        yield batch


def executemany(source: Path, target: Path) -> dict[str, Any]:
    """The stored rows of solwatch's five tables, as ready tuples, inserted with `executemany`
    into a new store with solwatch's schema and indexes, then committed."""
    from solwatch.store.cases import make_engine
    from solwatch.store.schema import upgrade

    for path in target.parent.glob(target.name + "*"):
        path.unlink()
    upgrade(make_engine(f"sqlite:///{target}"))
    into = sqlite3.connect(target, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
        into.execute(f"PRAGMA {pragma}")
    read = sqlite3.connect(source)
    seconds, rows = 0.0, 0
    into.execute("BEGIN")
    for table in KINDS:
        width = len(read.execute(f"SELECT * FROM {table} LIMIT 0").description)
        sql = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
        for batch in _batches(read, table):
            started = time.perf_counter()
            into.executemany(sql, batch)
            seconds += time.perf_counter() - started
            rows += len(batch)
    started = time.perf_counter()
    into.execute("COMMIT")
    seconds += time.perf_counter() - started
    return {"seconds": seconds, "rows": rows}


def rules(source: Path) -> dict[str, Any]:
    """The limitation rules alone over every case's facts, held in memory: the explained path
    (`compute_limitation` and `summarize`, as `show` uses them) and, where there is one, the
    fast path the import uses."""
    from sqlmodel import Session

    from solwatch.core.limitations import compute_limitation, summarize
    from solwatch.store.cases import load_facts, make_engine

    fast = _fast_rules()
    explained_seconds = fast_seconds = 0.0
    cases = 0
    with Session(make_engine(f"sqlite:///{source}")) as session:
        ids = [row[0] for row in session.connection().exec_driver_sql("SELECT id FROM cases")]
        for start in range(0, len(ids), BATCH):
            facts = list(load_facts(ids[start : start + BATCH], session=session).values())
            started = time.perf_counter()
            for one in facts:
                summarize(one, compute_limitation(one))
            explained_seconds += time.perf_counter() - started
            if fast is not None:
                started = time.perf_counter()
                for one in facts:
                    fast(one)
                fast_seconds += time.perf_counter() - started
            cases += len(facts)
    found = {"seconds": explained_seconds, "cases": cases}
    if fast is not None:
        found["fast_seconds"] = fast_seconds
    return found


def _fast_rules() -> Callable[[Any], Any] | None:
    """The import's fast path through the rules, if this version of solwatch has one."""
    try:
        from solwatch.core.summary import summary_values
    except ImportError:
        return None
    return summary_values


def writer(sources: list[Path], out: Path) -> dict[str, Any]:
    """`csv.writer` (solwatch's dialect: CRLF, minimal quoting) of ready tuples: the rows of
    the export files solwatch wrote, read back first."""
    seconds, rows = 0.0, 0
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        write = csv.writer(handle, lineterminator="\r\n")
        for source in sources:
            with source.open(encoding="utf-8-sig", newline="") as read:
                cells = csv.reader(read)
                while batch := [row for _, row in zip(range(BATCH), cells, strict=False)]:
                    started = time.perf_counter()
                    write.writerows(batch)
                    seconds += time.perf_counter() - started
                    rows += len(batch)
        started = time.perf_counter()
        handle.flush()
        seconds += time.perf_counter() - started
    return {"seconds": seconds, "rows": rows}


def generate(extract: Path, cases: int, as_of: date) -> dict[str, Any]:
    """The synthetic extract: the demo's scenarios, then random cases."""
    from solwatch.demo import write_sample

    started = time.perf_counter()
    write_sample(extract, today=as_of, count=cases)
    return {"seconds": time.perf_counter() - started, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reader").add_argument("extract", type=Path)
    many = commands.add_parser("executemany")
    many.add_argument("source", type=Path)
    many.add_argument("target", type=Path)
    commands.add_parser("rules").add_argument("source", type=Path)
    write = commands.add_parser("writer")
    write.add_argument("sources", type=Path, nargs="+")
    write.add_argument("--out", type=Path, required=True)
    make = commands.add_parser("generate")
    make.add_argument("extract", type=Path)
    make.add_argument("--cases", type=int, required=True)
    make.add_argument("--as-of", type=date.fromisoformat, required=True)
    args = parser.parse_args()
    if args.command == "reader":
        found = reader(args.extract)
    elif args.command == "executemany":
        found = executemany(args.source, args.target)
    elif args.command == "rules":
        found = rules(args.source)
    elif args.command == "writer":
        found = writer(args.sources, args.out)
    else:
        found = generate(args.extract, args.cases, args.as_of)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
