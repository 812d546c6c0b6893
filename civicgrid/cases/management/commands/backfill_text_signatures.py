"""Fill `Case.text_signature` for open cases that have none (cases received before the
signature was stored at intake) or one cut with another n-gram size (after
CIVICGRID_DUPLICATE_NGRAM changed), so duplicate checks compare stored signatures."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from civicgrid.cases import duplicates
from civicgrid.cases.models import Case


class Command(BaseCommand):
    help = (
        "Store the duplicate finder's text signature of every case that has none or one cut "
        "with another n-gram size (open cases only unless --all), in batches. Safe to run "
        "again: it only writes signatures that are missing or stale."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Closed cases too.")
        parser.add_argument("--batch", type=int, default=2000, help="Cases per transaction.")

    def handle(self, *args, **options):
        cases = Case.objects.all()
        if not options["all"]:
            cases = cases.open()
        done, last = 0, 0
        while True:
            batch = list(
                cases.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "title", "description", "text_signature")[: options["batch"]]
            )
            if not batch:
                break
            with transaction.atomic():
                for pk, title, description, stored in batch:
                    if duplicates.is_current(stored):
                        continue
                    signature = duplicates.signature(f"{title} {description}")
                    Case.objects.filter(pk=pk).update(text_signature=signature)
                    done += 1
            last = batch[-1][0]
        self.stdout.write(f"{done} case(s) given a text signature.")
