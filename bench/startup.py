"""Start-up benchmark: how long `solwatch` takes to answer the commands people type most.

    .venv/bin/python -m bench.startup [--runs 15]

Each command runs as its own process, `--runs` times, on a small store (tests/data/small in
bench/out/startup.db); the figures are the fastest and the median wall times, and the heavy
libraries the command imported. The target is under 0.3 s for `--help` and `show`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
SMALL = Path(__file__).parent.parent / "tests" / "data" / "small"
SOLWATCH = [sys.executable, "-m", "solwatch.cli"]
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "jinja2",
    "openpyxl",
    "aiosmtplib",
    "apscheduler",
    "rich",
    "holidays",
    "icalendar",
)
COMMANDS = (
    ("--help",),
    ("--version",),
    ("show", "--help"),
    ("show", "C-5", "--as-of", "2026-11-24"),
    ("at-risk", "--as-of", "2026-11-24", "--format", "json"),
    ("status", "--format", "json"),
)
# Run the command in-process, then name the heavy libraries it loaded, on standard error.
PROBE = (
    "import sys\n"
    "from solwatch.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:], prog_name='solwatch')\n"
    "except SystemExit:\n"
    "    pass\n"
    f"heavy = [name for name in {HEAVY!r} if name in sys.modules]\n"
    "print('imported: ' + (', '.join(heavy) or 'none'), file=sys.stderr)\n"
)


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=OUT, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def imported(args: tuple[str, ...], env: dict[str, str]) -> str:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=OUT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    return probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    database = OUT / "startup.db"
    for path in OUT.glob("startup.db*"):
        path.unlink()
    env = {**os.environ, "SOLWATCH_DATABASE_URL": f"sqlite:///{database}"}
    env.pop("SOLWATCH_CONFIG", None)
    for setup in (("init",), ("import", str(SMALL), "--as-of", "2026-11-24")):
        subprocess.run([*SOLWATCH, *setup], env=env, cwd=OUT, stdout=subprocess.DEVNULL, check=True)
    timed([sys.executable, "-c", "pass"], env)
    python = min(timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs))
    print(f"python itself: {python:.3f}s; {args.runs} runs of each command")
    for command in COMMANDS:
        times = [timed([*SOLWATCH, *command], env) for _ in range(args.runs)]
        print(
            f"solwatch {' '.join(command):<50} fastest {min(times):.3f}s "
            f"median {statistics.median(times):.3f}s  ({imported(command, env)})"
        )


if __name__ == "__main__":
    main()
