"""Run the benchmark suite and print every finding (ratios with their spread, and targets).

    .venv/bin/python -m scripts.bench               # everything, a few minutes
    .venv/bin/python -m scripts.bench --quick       # fewer rounds, for a smoke run
    .venv/bin/python -m scripts.bench overhead memory_search   # chosen benchmarks only

Postgres benchmarks use ``DATABASE_URL`` (default the local server) and create their own
database. Results and the machine are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.measure import Finding  # noqa: E402

BENCHMARKS = [
    "overhead",
    "controls",
    "storage",
    "throughput",
    "memory_search",
    "fanout",
    "parallel",
    "workers",
    "bench_events",
]
"""Module names under scripts/bench/, in the order they run."""


def _machine() -> str:
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; exit 1 if any finding misses its target."""
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {BENCHMARKS}")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args(argv)
    if unknown := [name for name in args.names if name not in BENCHMARKS]:
        parser.error(f"unknown benchmarks {unknown}; choose from {BENCHMARKS}")
    os.environ.setdefault("LANGSMITH_TRACING", "false")
    print(f"# benchmark suite on {_machine()}; quick={args.quick}", flush=True)
    missed = 0
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"scripts.bench.{name}")
        started = time.perf_counter()
        print(f"\n## {name}", flush=True)
        findings: list[Finding] = module.run(quick=args.quick)
        for finding in findings:
            print(finding.line(), flush=True)
            missed += finding.met is False
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
