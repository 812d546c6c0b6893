"""Sweep the case clocks: near due / overdue transitions, absent summonses.

    manage.py sweep_deadlines                      # one sweep, now
    manage.py sweep_deadlines --loop --interval 60 # keep sweeping (a worker process)

Several sweepers may run at once (each change is claimed with a compare-and-swap).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from civicgrid.cases.sweeper import sweep_deadlines
from civicgrid.core import clock


class Command(BaseCommand):
    help = "Move cases whose deadlines have come to near due / overdue and notify."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="sweep again and again")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="seconds between sweeps (with --loop)"
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, loop, interval, batch_size, **options):
        while True:
            started = time.monotonic()
            result = sweep_deadlines(now=clock.now(), batch_size=batch_size)
            if options["verbosity"] > 0 and (not loop or result.checked or result.whistles_absent):
                self.stdout.write(
                    f"{clock.now():%Y-%m-%d %H:%M:%S} checked {result.checked}, "
                    f"near due {result.near_due}, overdue {result.overdue}, "
                    f"skipped {result.skipped}, absent summonses {result.whistles_absent}"
                )
            if not loop:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
