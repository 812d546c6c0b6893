"""Import households or residents from an .xlsx or .csv file, as the web page does."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.models import User
from civicgrid.areas.models import Area
from civicgrid.core.errors import ServiceError
from civicgrid.registry.choices import ImportKind, ImportStatus
from civicgrid.registry.importers import check_size, create_import_job, run_import


class Command(BaseCommand):
    help = (
        "Import households or residents (Chinese column headers, see docs/registry.md) into "
        "--area on behalf of --user, whose scope and capabilities apply. Every row is checked "
        "first; if any row is bad nothing is written and the bad cells are listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="An .xlsx workbook (first sheet) or a .csv file.")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--area", required=True, help="Code of the area imported into.")
        parser.add_argument("--user", required=True, help="Username the import is made by.")
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            user = User.objects.get(username=options["user"], is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user {options['user']!r}.") from None
        area = Area.objects.current().filter(code=options["area"]).first()
        if area is None:
            raise CommandError(f"No current area with code {options['area']!r}.")
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            check_size(path.stat().st_size)  # before reading a file that is far too big
            data = path.read_bytes()
            job = create_import_job(
                actor=user,
                kind=options["kind"],
                area=area,
                file_name=path.name,
                data=data,
                dry_run=options["dry_run"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        job = run_import(job, data)
        self._report(job)
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.message or "The import failed; nothing was written.")

    def _report(self, job) -> None:
        if job.errors:
            width = max(len(e["column"]) for e in job.errors)
            self.stdout.write(f"{'row':>6}  {'column':<{width}}  message")
            for error in job.errors:
                self.stdout.write(
                    f"{error['row']:>6}  {error['column']:<{width}}  {error['message']}"
                )
        self.stdout.write(
            f"{job.file_name}: {job.get_status_display()}; {job.total_rows} rows checked, "
            f"{job.written_rows} written. {job.message}".rstrip()
        )
