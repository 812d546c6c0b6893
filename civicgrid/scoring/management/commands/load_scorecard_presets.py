"""Store the shipped scorecard presets (scoring/presets/*.json) as preset versions."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from civicgrid.core.errors import ServiceError
from civicgrid.scoring import presets


class Command(BaseCommand):
    help = "Store each shipped scorecard preset version that is not stored yet."

    def handle(self, *args, **options):
        try:
            stored = presets.sync()
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        for preset in stored:
            self.stdout.write(f"{preset.code} v{preset.version}: {preset.name}")
