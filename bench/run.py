"""Benchmark: solwatch against the sqlite3 command-line tool on the same synthetic extract.

    .venv/bin/python -m bench.run --cases 1000000 [--growth]

Writes the extract to bench/out/, then measures in one run, each as its own process:
  1. `sqlite3 .import` of the five CSV files into plain tables (plus the unique index on the
     case number), vs `solwatch import`;
  2. the raw SQL selection of at-risk rows as JSON (`sqlite3 -json`), vs `solwatch at-risk
     --format json`, both on solwatch's own database;
  3. `sqlite3 -csv` of every case, vs `solwatch export cases`, and of the open cases, vs
     `solwatch export cear` for the as-of month;
  4. the floors (bench/floors.py), each alone: `csv.reader` over the five files,
     `executemany` of ready tuples into solwatch's tables and indexes, the limitation rules
     over in-memory facts, and `csv.writer` of the export rows as ready tuples.
Reports wall seconds (the ratios are of these), CPU seconds (user and system, a command's own
processes included: the bulk import reads its files in a second one), peak resident memory (of
the command's largest process), and the ratios against the targets (import at most 4x, under
300 MB; at-risk at most 10x; exports at most 3x). `--repeat N` keeps the best of N runs of each
query and export; with `--growth` it also measures 100,000 and 300,000 cases and prints how
the cost grows.

The benchmark process itself imports nothing of solwatch: a child's peak memory, as the kernel
reports it, includes its parent's at the time it was started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
SOLWATCH = [sys.executable, "-m", "solwatch.cli"]
FLOORS = [sys.executable, "-m", "bench.floors"]
ROOT = Path(__file__).parent.parent
KINDS = ("cases", "entries", "waivers", "tolling", "events")
TARGETS = {"import": 4.0, "at-risk": 10.0, "export cases": 3.0, "export cear": 3.0}
PEAK_TARGET_MB = 300


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float
    cpu: float = 0.0  # user + system seconds, the command's own processes included


@dataclass
class Figures:
    """One size's measures: solwatch's and sqlite3's per step, and the floors."""

    cases: int
    ours: dict[str, Measure] = field(default_factory=dict)
    base: dict[str, Measure] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)


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
    return Measure(elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


REPEAT = 1


def best(command: list[str], **options: Any) -> Measure:
    """The fastest of REPEAT runs of `command` (the machine is shared: the others are noise)."""
    return min((measure(command, **options) for _ in range(REPEAT)), key=lambda m: m.seconds)


def floor(*arguments: str) -> dict[str, float]:
    """A floor's own report: the seconds of its timed part (bench/floors.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [*FLOORS, *arguments], capture_output=True, text=True, env=env, cwd=OUT, check=True
    )
    found: dict[str, float] = json.loads(done.stdout)
    return found


def header_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig") as handle:
        return handle.readline().strip().split(",")


def sqlite_import_script(folder: Path) -> str:
    lines = [".bail on", "PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;"]
    for kind in KINDS:
        columns = header_of(folder / f"{kind}.csv")
        lines.append(f"CREATE TABLE {kind} ({', '.join(f'{c} TEXT' for c in columns)});")
        lines.append(f".import --csv --skip 1 {folder / (kind + '.csv')} {kind}")
    lines.append("CREATE UNIQUE INDEX cases_case_number ON cases (case_number);")
    return "\n".join(lines) + "\n"


def compared(name: str, ours: Measure, base: Measure, target: float, tool: str) -> str:
    """One line of a report: both measures, the ratio and whether it meets `target`."""
    ratio = ours.seconds / base.seconds
    verdict = "meets" if ratio <= target else "MISSES"
    return (
        f"{name:<12} solwatch {ours.seconds:8.2f}s {ours.peak_mb:7.0f} MB | {tool} "
        f"{base.seconds:7.2f}s {base.peak_mb:6.0f} MB | {ratio:5.2f}x "
        f"({verdict} target {target:g}x)"
    )


def arguments(description: str) -> argparse.Namespace:
    """The options bench/postgres.py shares with this benchmark."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--as-of", default="2026-11-24")
    parser.add_argument("--keep", action="store_true", help="reuse an extract already written")
    return parser.parse_args()


def prepare_extract(args: argparse.Namespace) -> Path:
    """The synthetic extract of `args.cases` cases under bench/out/, written unless kept."""
    from solwatch.demo import write_sample

    OUT.mkdir(exist_ok=True)
    extract = OUT / f"extract-{args.cases}"
    if not (args.keep and (extract / "cases.csv").exists()):
        shutil.rmtree(extract, ignore_errors=True)
        started = time.perf_counter()
        write_sample(extract, today=date.fromisoformat(args.as_of), count=args.cases)
        print(f"extract of {args.cases} cases written in {time.perf_counter() - started:.1f}s")
    return extract


def run_size(cases: int, as_of: str, keep: bool) -> Figures:
    figures = Figures(cases)
    today = date.fromisoformat(as_of)
    extract = OUT / f"extract-{cases}"
    if not (keep and (extract / "cases.csv").exists()):
        shutil.rmtree(extract, ignore_errors=True)
        made = floor("generate", str(extract), "--cases", str(cases), "--as-of", as_of)
        print(f"extract of {cases} cases written in {made['seconds']:.1f}s")
    rows = {kind: sum(1 for _ in (extract / f"{kind}.csv").open()) - 1 for kind in KINDS}
    size = sum((extract / f"{kind}.csv").stat().st_size for kind in KINDS) / 2**20
    print(
        "rows: " + ", ".join(f"{kind} {count}" for kind, count in rows.items()),
        f"({size:.0f} MiB)",
    )

    baseline_db, solwatch_db = OUT / "baseline.db", OUT / "solwatch.db"
    for path in OUT.glob("*.db*"):
        path.unlink()
    env = {**os.environ, "SOLWATCH_DATABASE_URL": f"sqlite:///{solwatch_db}"}

    figures.floors["csv.reader"] = floor("reader", str(extract))["seconds"]
    figures.base["import"] = measure(
        ["sqlite3", str(baseline_db)], stdin=sqlite_import_script(extract)
    )
    measure([*SOLWATCH, "init"], env=env)
    figures.ours["import"] = measure([*SOLWATCH, "import", str(extract), "--as-of", as_of], env=env)
    figures.floors["executemany"] = floor("executemany", str(solwatch_db), "floor.db")["seconds"]
    found = floor("rules", str(solwatch_db))
    figures.floors["rules, explained"] = found["seconds"]
    if "fast_seconds" in found:
        figures.floors["rules, fast"] = found["fast_seconds"]

    horizon = (today + timedelta(days=365)).isoformat()
    selection = (
        f"SELECT * FROM cases WHERE is_open = 1 AND (limitation_date <= '{horizon}' "
        f"OR attention = 1) ORDER BY limitation_date, case_number;"
    )
    figures.base["at-risk"] = best(
        ["sqlite3", "-json", str(solwatch_db), selection], stdout=OUT / "baseline-at-risk.json"
    )
    figures.ours["at-risk"] = best(
        [*SOLWATCH, "at-risk", "--format", "json", "--as-of", as_of],
        env=env,
        stdout=OUT / "solwatch-at-risk.json",
    )

    figures.base["export cases"] = best(
        ["sqlite3", "-csv", "-header", str(solwatch_db), "SELECT * FROM cases ORDER BY id;"],
        stdout=OUT / "baseline-cases.csv",
    )
    cases_csv = OUT / "solwatch-cases.csv"
    figures.ours["export cases"] = best(
        [*SOLWATCH, "export", "cases", "--as-of", as_of, "--out", str(cases_csv)], env=env
    )
    figures.floors["csv.writer, cases"] = floor("writer", str(cases_csv), "--out", "floor.csv")[
        "seconds"
    ]
    figures.base["export cear"] = best(
        [
            "sqlite3",
            "-csv",
            "-header",
            str(solwatch_db),
            "SELECT * FROM cases WHERE is_open = 1 ORDER BY center, limitation_date, case_number;",
        ],
        stdout=OUT / "baseline-cear.csv",
    )
    cear = OUT / "cear"
    shutil.rmtree(cear, ignore_errors=True)
    figures.ours["export cear"] = best(
        [
            *SOLWATCH,
            *("export", "cear", "--month", as_of[:7], "--as-of", as_of, "--out", str(cear)),
        ],
        env=env,
    )
    center_files = sorted(p for p in cear.glob("cear-*.csv") if "summary" not in p.name)
    figures.floors["csv.writer, cear"] = floor(
        "writer", *map(str, center_files), "--out", "floor.csv"
    )["seconds"]
    return figures


FLOORS_OF = {
    "import": ("csv.reader", "executemany", "rules, explained", "rules, fast"),
    "export cases": ("csv.writer, cases",),
    "export cear": ("csv.writer, cear",),
    "at-risk": (),
}


def table(figures: Figures) -> str:
    """The figures of one size as a Markdown table, for the README."""
    lines = [
        f"{figures.cases:,} cases | solwatch | sqlite3 | ratio | target | floors",
        "---|---|---|---|---|---",
    ]
    for step, target in TARGETS.items():
        ours, base = figures.ours[step], figures.base[step]
        ratio = ours.seconds / base.seconds
        verdict = "meets" if ratio <= target else "MISSES"
        if step == "import":
            peak = "meets" if ours.peak_mb <= PEAK_TARGET_MB else "MISSES"
            verdict += f"; {peak} ≤ {PEAK_TARGET_MB} MB"
        floors = "; ".join(
            f"{name} {figures.floors[name]:.2f} s"
            for name in FLOORS_OF[step]
            if name in figures.floors
        )
        lines.append(
            f"{step} | {ours.seconds:.2f} s (cpu {ours.cpu:.1f} s), {ours.peak_mb:.0f} MB | "
            f"{base.seconds:.2f} s (cpu {base.cpu:.1f} s) | {ratio:.2f}× | "
            f"≤ {target:g}×: {verdict} | {floors}"
        )
    return "\n".join(f"| {line} |" for line in lines)


def growth(all_figures: list[Figures]) -> str:
    """Microseconds per case of each step at each size: flat when cost grows linearly."""
    sizes = [f"{f.cases:,}" for f in all_figures]
    lines = [f"µs per case | {' | '.join(sizes)}", "---|" + "---|" * len(sizes)]
    for step in TARGETS:
        cells = [f"{f.ours[step].seconds / f.cases * 1e6:.1f}" for f in all_figures]
        base = [f"{f.base[step].seconds / f.cases * 1e6:.1f}" for f in all_figures]
        lines.append(f"{step}, solwatch | {' | '.join(cells)}")
        lines.append(f"{step}, sqlite3 | {' | '.join(base)}")
    return "\n".join(f"| {line} |" for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--as-of", default="2026-11-24")
    parser.add_argument("--keep", action="store_true", help="reuse an extract already written")
    parser.add_argument(
        "--growth", action="store_true", help="also measure 100,000 and 300,000 cases"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each query and export; the best counts"
    )
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    OUT.mkdir(exist_ok=True)
    sizes = sorted({*((100_000, 300_000) if args.growth else ()), args.cases})
    all_figures = []
    for cases in sizes:
        figures = run_size(cases, args.as_of, args.keep)
        print()
        print(table(figures))
        print()
        all_figures.append(figures)
    if len(all_figures) > 1:
        print(growth(all_figures))


if __name__ == "__main__":
    main()
