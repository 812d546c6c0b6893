"""Helpers shared by the benchmarks: Django on a throwaway database, timers, memory, output.

A benchmark is a module `bench/<name>.py` with a `main()` that prints a table and writes
`bench/results/<name>.json`, and ends with `if __name__ == "__main__": main()`. It runs
alone (`.venv/bin/python bench/<name>.py`) or with the others (`make bench`, which runs
`bench/run.py`: each benchmark in its own process, so settings and peak memory never leak
from one to the next). Start a benchmark like this, before importing anything from Django:

    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.common import setup_django, timer, print_table, write_results
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BENCH_DB_DIR = ROOT / "var" / "bench"


def setup_django(name: str, *, migrate: bool = True) -> Path:
    """Point Django at a fresh SQLite file `var/bench/<name>.sqlite3`, set it up and migrate.

    Must run before anything imports Django models. Returns the database path.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    path = BENCH_DB_DIR / f"{name}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return path


@dataclass
class Timing:
    seconds: float = 0.0


@contextmanager
def timer() -> Iterator[Timing]:
    """`with timer() as t: ...` then `t.seconds` (wall clock, perf_counter)."""
    timing = Timing()
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - start


def best_of(repeat: int, fn) -> float:
    """The fastest of `repeat` runs of `fn()`, in seconds: the least disturbed by the machine."""
    best = float("inf")
    for _ in range(repeat):
        with timer() as t:
            fn()
        best = min(best, t.seconds)
    return best


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; falls back to the peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3  # bytes on macOS, KiB on Linux


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain-text table: numbers right-aligned, floats with 3 significant decimals."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return "" if value is None else str(value)

    cells = [list(headers)] + [[cell(v) for v in row] for row in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        bool(rows)
        and all(isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in rows)
        for i in range(len(headers))
    ]

    def line(row: list[str]) -> str:
        return "  ".join(
            " " * (widths[i] - _width(c)) + c if numeric[i] else c + " " * (widths[i] - _width(c))
            for i, c in enumerate(row)
        ).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def print_table(headers: list[str], rows: list[list[object]], title: str = "") -> None:
    if title:
        print(f"\n{title}")
    print(format_table(headers, rows))


def environment() -> dict:
    """What the figures were measured on, for the results file."""
    import shapely
    from django.db import connection

    return {
        "python": platform.python_version(),
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "database": connection.vendor,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def write_results(name: str, data: dict) -> Path:
    """Write `bench/results/<name>.json` (sorted keys, UTF-8) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return path
