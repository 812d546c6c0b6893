"""Bring the scorecard and dashboard rollups up to date (incremental by default)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from civicgrid.scoring import rollups


class Command(BaseCommand):
    help = (
        "Recount the cases changed since the last refresh into the rollup tables "
        "(--full: recount every case from scratch; --loop N: repeat every N seconds)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Rebuild from scratch.")
        parser.add_argument(
            "--loop",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Keep refreshing every SECONDS (a background refresher).",
        )

    def handle(self, *args, full: bool = False, loop: float = 0, **options):
        verbosity = options.get("verbosity", 1)

        def progress(done: int, total: int) -> None:
            if verbosity > 1:
                self.stdout.write(f"  {done}/{total} cases")

        while True:
            started = time.perf_counter()
            result = rollups.rebuild(progress=progress) if full else rollups.refresh()
            if verbosity:
                self.stdout.write(
                    f"{'rebuilt' if full else 'refreshed'}: {result['checked']} cases checked, "
                    f"{result['changed']} changed, events up to {result['watermark']} "
                    f"({time.perf_counter() - started:.2f}s)"
                )
            if not loop:
                return
            full = False
            time.sleep(loop)
