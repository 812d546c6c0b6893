"""Import area boundaries (one area per GeoJSON feature) under a parent area."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.importers import Status, import_boundaries
from civicgrid.areas.management.commands._tables import table


class Command(BaseCommand):
    help = (
        "Create or update one area per feature of a GeoJSON FeatureCollection under --parent, "
        "then report gaps and overlaps among the siblings. All-or-nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A GeoJSON FeatureCollection (WGS84).")
        parser.add_argument("--level", default=Level.GRID, choices=Level.values)
        parser.add_argument("--parent", required=True, help="Code of the parent area.")
        parser.add_argument("--name-field", required=True, help="Property holding the name.")
        parser.add_argument(
            "--code-field",
            help="Property holding the code (full, or a number appended to the parent's "
            "code); without it new areas are numbered after the parent's code.",
        )
        parser.add_argument("--layer", default=GridLayer.SERVICE, choices=GridLayer.values)
        parser.add_argument("--dry-run", action="store_true", help="Check and report only.")

    def handle(self, *args, **options):
        report = import_boundaries(
            options["file"],
            level=options["level"],
            parent_code=options["parent"],
            name_field=options["name_field"],
            code_field=options["code_field"],
            dry_run=options["dry_run"],
            layer=options["layer"],
        )
        for problem in report.file_errors:
            self.stderr.write(problem)
        if report.features:
            self.stdout.write(
                table(
                    ["#", "name", "code", "status", "message"],
                    [[f.index, f.name, f.code, f.status, f.message] for f in report.features],
                )
            )
        counts = ", ".join(
            f"{report.count(s)} {s}"
            for s in (Status.CREATED, Status.UPDATED, Status.UNCHANGED, Status.ERROR)
        )
        self.stdout.write(f"\n{counts}")
        if report.siblings is not None:
            self._siblings(report.siblings)
        if not report.ok:
            raise CommandError("Errors found: nothing was written.")
        if report.dry_run:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))

    def _siblings(self, siblings) -> None:
        self.stdout.write(
            f"\nSiblings under {siblings.parent_code} ({siblings.layer}), ignoring slivers "
            f"under {siblings.min_m2:g} m²: {len(siblings.overlaps)} overlaps, "
            f"{len(siblings.gaps)} gaps, {len(siblings.outside)} outside the parent."
        )
        if not siblings.parent_has_geometry:
            self.stdout.write("The parent has no boundary: gaps are not measured.")
        if siblings.overlaps:
            self.stdout.write(
                table(
                    ["overlap", "with", "m²"],
                    [[o.a, o.b, round(o.area_m2)] for o in siblings.overlaps],
                )
            )
        if siblings.gaps:
            self.stdout.write(
                table(
                    ["gap m²", "lat", "lon"],
                    [[round(g.area_m2), g.lat, g.lon] for g in siblings.gaps],
                )
            )
        if siblings.outside:
            self.stdout.write(
                table(["outside", "m²"], [[o.code, round(o.area_m2)] for o in siblings.outside])
            )
