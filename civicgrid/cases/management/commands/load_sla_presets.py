"""Load the time-limit presets (civicgrid/cases/presets/*.json) as policies; optionally activate one.

manage.py load_sla_presets                    # every preset, nothing activated
manage.py load_sla_presets jinniu             # one preset
manage.py load_sla_presets --activate jinniu  # every preset, then make jinniu active
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from civicgrid.cases import catalogue, presets, sla
from civicgrid.cases.models import SlaPolicy
from civicgrid.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create or update the time-limit policies from the presets; --activate picks one."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", help=f"presets ({', '.join(presets.available())})")
        parser.add_argument("--activate", metavar="CODE", help="make this policy the active one")

    def handle(self, *args, codes, activate, **options):
        try:
            for code in codes or presets.available():
                result = presets.load(presets.read(code))
                self.stdout.write(
                    f"{code}: {result.created} rules created, {result.updated} updated, "
                    f"{result.deleted} removed"
                )
                for note in result.notes:
                    self.stdout.write(f"  note: {note}")
                if options["verbosity"] > 1:
                    for line in sla.describe_rules(result.policy):
                        self.stdout.write(f"  {line}")
            if activate:
                policy = SlaPolicy.objects.filter(code=activate).first()
                if policy is None:
                    raise CommandError(f"No time-limit policy {activate!r}.")
                policy = catalogue.activate_policy(policy, actor=None)
                self.stdout.write(f"active policy: {policy.code} ({policy.name})")
        except ServiceError as exc:
            raise CommandError(exc.message) from None
