"""Benchmark: solwatch against the sqlite3 command-line tool on the same synthetic extract.

    .venv/bin/python -m bench.run --cases 1000000

Writes the extract to bench/out/, then measures in one run, each as its own process:
  1. `sqlite3 .import` of the five CSV files into plain tables, vs `solwatch import`;
  2. the raw SQL selection of at-risk rows as JSON (`sqlite3 -json`), vs `solwatch at-risk
     --format json`, both on solwatch's own database;
  3. `sqlite3 -csv` of every case, vs `solwatch export cases`, and of the open cases, vs
     `solwatch export cear` for the as-of month.
Reports wall seconds, peak resident memory, and the ratios against the targets (import at most
4x, under 300 MB; at-risk at most 10x; exports at most 3x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from solwatch.demo import write_sample
from solwatch.store.extract import COLUMNS

OUT = Path(__file__).parent / "out"
SOLWATCH = [sys.executable, "-m", "solwatch.cli"]


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float


def measure(
    command: list[str],
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    stdout: Path | None = None,
) -> Measure:
    """Run `command` once; wall time and the child's own peak RSS (from wait4)."""
    out = stdout.open("wb") if stdout else subprocess.DEVNULL
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE if stdin else None, stdout=out, env=env, cwd=OUT
    )
    if stdin:
        assert process.stdin is not None
        process.stdin.write(stdin.encode())
        process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if stdout:
        out.close()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return Measure(elapsed, usage.ru_maxrss / 1024)


def sqlite_import_script(folder: Path) -> str:
    lines = [".bail on", "PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;"]
    for kind, columns in COLUMNS.items():
        lines.append(f"CREATE TABLE {kind} ({', '.join(f'{c} TEXT' for c in columns)});")
        lines.append(f".import --csv --skip 1 {folder / (kind + '.csv')} {kind}")
    return "\n".join(lines) + "\n"


def compared(name: str, ours: Measure, base: Measure, target: float, tool: str) -> str:
    """One line of the report: both measures, the ratio and whether it meets `target`."""
    ratio = ours.seconds / base.seconds
    verdict = "meets" if ratio <= target else "MISSES"
    return (
        f"{name:<10} solwatch {ours.seconds:8.2f}s {ours.peak_mb:7.0f} MB | {tool} "
        f"{base.seconds:7.2f}s {base.peak_mb:6.0f} MB | {ratio:5.2f}x "
        f"({verdict} target {target:g}x)"
    )


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--as-of", default="2026-11-24")
    parser.add_argument("--keep", action="store_true", help="reuse an extract already written")
    return parser.parse_args()


def prepare_extract(args: argparse.Namespace) -> Path:
    """The synthetic extract of `args.cases` cases under bench/out/, written unless kept."""
    OUT.mkdir(exist_ok=True)
    extract = OUT / f"extract-{args.cases}"
    if not (args.keep and (extract / "cases.csv").exists()):
        shutil.rmtree(extract, ignore_errors=True)
        started = time.perf_counter()
        write_sample(extract, today=date.fromisoformat(args.as_of), count=args.cases)
        print(f"extract of {args.cases} cases written in {time.perf_counter() - started:.1f}s")
    return extract


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    today = date.fromisoformat(args.as_of)
    extract = prepare_extract(args)
    rows = {kind: sum(1 for _ in (extract / f"{kind}.csv").open()) - 1 for kind in COLUMNS}
    size = sum((extract / f"{kind}.csv").stat().st_size for kind in COLUMNS) / 2**20
    print(
        "rows: "
        + ", ".join(f"{kind} {count}" for kind, count in rows.items())
        + f" ({size:.0f} MiB)"
    )

    baseline_db, solwatch_db = OUT / "baseline.db", OUT / "solwatch.db"
    for path in OUT.glob("*.db*"):
        path.unlink()
    env = {**os.environ, "SOLWATCH_DATABASE_URL": f"sqlite:///{solwatch_db}"}

    base_import = measure(["sqlite3", str(baseline_db)], stdin=sqlite_import_script(extract))
    measure([*SOLWATCH, "init"], env=env)
    our_import = measure([*SOLWATCH, "import", str(extract), "--as-of", args.as_of], env=env)

    horizon = (today + timedelta(days=365)).isoformat()
    selection = (
        f"SELECT * FROM cases WHERE is_open = 1 AND (limitation_date <= '{horizon}' "
        f"OR attention = 1) ORDER BY limitation_date, case_number;"
    )
    base_query = measure(
        ["sqlite3", "-json", str(solwatch_db), selection], stdout=OUT / "baseline-at-risk.json"
    )
    our_query = measure(
        [*SOLWATCH, "at-risk", "--format", "json", "--as-of", args.as_of],
        env=env,
        stdout=OUT / "solwatch-at-risk.json",
    )

    base_cases = measure(
        ["sqlite3", "-csv", "-header", str(solwatch_db), "SELECT * FROM cases ORDER BY id;"],
        stdout=OUT / "baseline-cases.csv",
    )
    our_cases = measure(
        [
            *SOLWATCH,
            "export",
            "cases",
            "--as-of",
            args.as_of,
            "--out",
            str(OUT / "solwatch-cases.csv"),
        ],
        env=env,
    )
    month = args.as_of[:7]
    base_cear = measure(
        [
            "sqlite3",
            "-csv",
            "-header",
            str(solwatch_db),
            "SELECT * FROM cases WHERE is_open = 1 ORDER BY center, limitation_date, case_number;",
        ],
        stdout=OUT / "baseline-cear.csv",
    )
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
            str(OUT / "cear"),
        ],
        env=env,
    )

    def line(name: str, ours: Measure, base: Measure, target: float) -> str:
        return compared(name, ours, base, target, "sqlite3")

    print(line("import", our_import, base_import, 4))
    print(
        f"{'':<10} solwatch import peak memory {our_import.peak_mb:.0f} MB "
        f"({'meets' if our_import.peak_mb < 300 else 'MISSES'} target < 300 MB)"
    )
    print(line("at-risk", our_query, base_query, 10))
    print(line("export", our_cases, base_cases, 3))
    print(line("cear", our_cear, base_cear, 3))


if __name__ == "__main__":
    main()
