"""Every benchmark, one after the other, on SQLite and (with --postgres) PostgreSQL:

    .venv/bin/python -m benchmarks [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                                   [--quick] [--only redirect,orders,statements,dashboard]
                                   [--output benchmark-results.txt]

Each benchmark runs as its own process (``python -m benchmarks.<name>``) so that one's memory and
event loop do not colour the next one's figures; each prints its figures next to its baseline's,
measured in the same run. The full sizes are the issue's (1,000,000 orders and 10,000 partners for
statements and the dashboard) but for the CSV import: 5,000 rows, not 100,000, since one import request
takes at most 10,000 rows and the import runs at some 40 rows a second (docs/BENCHMARKS.md).
``--quick`` runs every one at a small size to check the command works, not to quote figures.
Everything printed is also written to ``--output``.
A full run takes a few hours on a 2-core machine, most of it seeding the 1,000,000-order databases.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

FULL: dict[str, list[str]] = {
    "redirect": ["--rounds", "3", "--duration", "10"],
    "orders": ["--orders", "2000", "--csv-rows", "5000"],
    "statements": ["--orders", "1000000", "--partners", "10000"],
    "dashboard": ["--orders", "1000000", "--rounds", "20"],
}
QUICK: dict[str, list[str]] = {
    "redirect": ["--rounds", "1", "--duration", "2", "--codes", "200", "--warmup", "1", "--skip-scaling"],
    "orders": ["--orders", "100", "--csv-rows", "1000"],
    "statements": ["--orders", "3000", "--partners", "50"],
    "dashboard": [
        *("--orders", "3000", "--customers", "500", "--referrers", "100", "--partners", "20"),
        *("--rounds", "3", "--http-rounds", "1"),
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="also run each benchmark on this PostgreSQL server")
    parser.add_argument("--quick", action="store_true", help="small sizes: check the command, quote nothing")
    parser.add_argument("--only", default=",".join(FULL), help="comma-separated benchmark names")
    parser.add_argument("--output", default="benchmark-results.txt", help="where the printed figures go too")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(sizes))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sizes)}")
    engines: list[list[str]] = [[]] + ([["--postgres", args.postgres]] if args.postgres else [])
    failed: list[str] = []
    with Path(args.output).open("w", encoding="utf-8") as out:

        def say(text: str) -> None:
            print(text, flush=True)
            out.write(text + "\n")
            out.flush()

        say(f"# benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}")
        for name in names:
            for engine in engines:
                command = [sys.executable, "-m", f"benchmarks.{name}", *sizes[name], *engine]
                label = f"{name} on {'PostgreSQL' if engine else 'SQLite'}"
                say(f"\n## {label}\n$ {' '.join(command[1:])}")
                started = time.monotonic()
                with subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                ) as process:
                    assert process.stdout is not None
                    for line in process.stdout:
                        say(line.rstrip("\n"))
                took = time.monotonic() - started
                if process.returncode:
                    failed.append(label)
                say(f"({label}: exit {process.returncode}, {took:.0f} s)")
        say("\nfailed: " + (", ".join(failed) if failed else "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
