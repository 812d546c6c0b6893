"""Run every benchmark: each `bench/<name>.py` (but this file and common.py) in name order,
each in its own Python process, then a summary. Exit status 1 if any benchmark failed.

    .venv/bin/python bench/run.py              # all of them (make bench)
    .venv/bin/python bench/run.py locate       # only these
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
NOT_BENCHMARKS = {"common", "run", "__init__"}


def discover() -> list[str]:
    """Names of the benchmark modules in bench/, in order."""
    return sorted(
        p.stem
        for p in BENCH_DIR.glob("*.py")
        if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    available = discover()
    unknown = [name for name in argv if name not in available]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Available: {', '.join(available)}")
        return 2
    summary = []
    for name in argv or available:
        print(f"\n=== bench/{name}.py ===", flush=True)
        # A process per benchmark: each sets up Django on its own throwaway database, and its
        # peak-memory figure is its own.
        start = time.perf_counter()
        status = subprocess.call([sys.executable, str(BENCH_DIR / f"{name}.py")], cwd=ROOT)
        summary.append(
            (name, "ok" if status == 0 else f"FAILED ({status})", time.perf_counter() - start)
        )
    print("\n=== summary ===")
    width = max(len(name) for name, _, _ in summary)
    for name, status, seconds in summary:
        print(f"{name:<{width}}  {seconds:7.1f} s  {status}")
    print(f"Results: {BENCH_DIR / 'results'}/")
    return 0 if all(status == "ok" for _, status, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
