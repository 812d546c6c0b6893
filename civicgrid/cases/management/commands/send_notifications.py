"""Deliver the notification outbox (email, SMS, webhook); failures are retried next time.

manage.py send_notifications                       # one pass
manage.py send_notifications --loop --interval 30  # a worker process
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from civicgrid.cases.notifications import deliver_pending


class Command(BaseCommand):
    help = "Send pending notifications and retry failed ones."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="messages per pass")
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=float, default=30.0)

    def handle(self, *args, limit, loop, interval, **options):
        while True:
            total_sent = total_failed = 0
            # Drain the outbox in passes of `limit`, stopping when a pass sends nothing new.
            while True:
                result = deliver_pending(limit=limit)
                total_sent += result.sent
                total_failed += result.failed
                if result.sent + result.failed < limit or result.sent == 0:
                    break
            if options["verbosity"] > 0 and (not loop or total_sent or total_failed):
                self.stdout.write(f"sent {total_sent}, failed {total_failed}")
            if not loop:
                return
            time.sleep(interval)
