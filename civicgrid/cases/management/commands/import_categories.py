"""manage.py import_categories: load a category tree (CSV or JSON) into a taxonomy."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from civicgrid.cases import catalogue
from civicgrid.cases.models import Taxonomy
from civicgrid.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Import a 3-level category tree into a taxonomy (created when the version is new): "
        "CSV with code,name,parent,keywords,complexity (or 编码,名称,上级编码,关键词,复杂程度), "
        "CSV with 一级分类,二级分类,三级分类 (codes are made up), or the JSON of "
        "civicgrid/cases/data/categories.json. All rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--taxonomy",
            dest="tax_version",
            metavar="VERSION",
            help="Taxonomy version (default: the JSON's, else the file name).",
        )
        parser.add_argument(
            "--name", help="Taxonomy name for a new taxonomy (default: the version)."
        )
        parser.add_argument(
            "--activate", action="store_true", help="Make the taxonomy the one new cases use."
        )

    def handle(
        self,
        *args,
        file: Path,
        tax_version: str | None,
        name: str | None,
        activate: bool,
        **options,
    ):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            tree = catalogue.read_category_file(data, file.name)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        version = tax_version or tree.version or file.stem[:32]
        with transaction.atomic():
            taxonomy = Taxonomy.objects.filter(version=version).first()
            try:
                if taxonomy is None:
                    taxonomy = catalogue.create_taxonomy(
                        version, name or tree.name or version, actor=None
                    )
                report = catalogue.import_category_tree(
                    taxonomy, tree.rows, actor=None, first_row=tree.first_row
                )
                if report.ok and activate:
                    catalogue.activate_taxonomy(taxonomy, actor=None)
            except ServiceError as exc:
                raise CommandError(exc.message) from None
            if not report.ok:
                transaction.set_rollback(True)
        if not report.ok:
            for error in report.errors[:50]:
                self.stdout.write(f"row {error.row}: {error.field}: {error.message}")
            raise CommandError(
                f"{len(report.errors)} errors in {report.rows} rows: nothing was written."
            )
        state = " (active)" if activate else ""
        self.stdout.write(
            self.style.SUCCESS(f"{report.created} categories imported into {taxonomy}{state}.")
        )
