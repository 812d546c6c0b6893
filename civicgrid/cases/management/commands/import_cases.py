"""Import work orders from a legacy hotline system's CSV export (see cases/importers.py)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.models import User
from civicgrid.cases.choices import Channel
from civicgrid.cases.importers import COLUMNS, REQUIRED, import_file
from civicgrid.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Import cases from a CSV file (UTF-8 or GBK) with Chinese headers: "
        + " ".join(f"{c}*" if c in REQUIRED else c for c in COLUMNS)
        + ". Every row goes through intake on behalf of --user; if any row is refused, "
        "nothing is written and the refusals are listed as row, column, reason. Rows imported "
        "before (same 工单编号 and channel) are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .csv file.")
        parser.add_argument("--channel", default=Channel.HOTLINE, choices=Channel.values)
        parser.add_argument("--user", required=True, help="Username the import is made by.")
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            user = User.objects.get(username=options["user"], is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user {options['user']!r}.") from None
        try:
            report = import_file(
                path, actor=user, channel=options["channel"], dry_run=options["dry_run"]
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        for error in report.errors:
            self.stderr.write(f"row {error.row}\t{error.column}\t{error.message}")
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} problem(s) in {report.rows} row(s); nothing was imported."
            )
        verb = "would import" if report.dry_run else "imported"
        self.stdout.write(
            f"{report.rows} row(s): {verb} {report.imported}, "
            f"{report.already} already imported before."
        )
