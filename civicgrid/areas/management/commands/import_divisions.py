"""Import the national division codes (provinces to streets) into the area tree."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from civicgrid.areas.importers import import_divisions
from civicgrid.areas.management.commands._tables import table
from civicgrid.areas.services import AreaError

DEFAULT_DATA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data" / "admin_divisions"


class Command(BaseCommand):
    help = (
        "Import provinces.csv, cities.csv, areas.csv and streets.csv (national statistical "
        "division codes) as provinces, cities, districts and streets. Idempotent; all-or-nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=DEFAULT_DATA_DIR,
            help=f"Folder with the four CSV files (default {DEFAULT_DATA_DIR}).",
        )
        parser.add_argument(
            "--root", help="Only this division (2, 4, 6 or 9 digits), its ancestors and below."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count, write nothing."
        )

    def handle(self, *args, data_dir: Path, root: str | None, dry_run: bool, **options):
        try:
            report = import_divisions(data_dir, root_code=root, dry_run=dry_run)
        except AreaError as exc:
            raise CommandError(exc.message) from None
        rows = [
            [level, c.created, c.updated, c.unchanged, c.errors]
            for level, c in report.levels.items()
        ]
        self.stdout.write(table(["level", "created", "updated", "unchanged", "errors"], rows))
        if report.errors:
            self.stdout.write("")
            self.stdout.write(
                table(
                    ["file", "line", "code", "error"],
                    [[e.file, e.line, e.code, e.message] for e in report.errors],
                )
            )
            raise CommandError(f"{len(report.errors)} rows in error: nothing was written.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        elif not report.written:
            self.stdout.write("Already up to date: nothing to write.")
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))
