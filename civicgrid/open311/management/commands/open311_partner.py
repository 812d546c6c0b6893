"""`manage.py open311_partner add NAME --area CODE [--rate N]` registers a partner system and
prints its api key (once); `list`, `replace-key NAME`, `disable NAME` and `enable NAME` do
the rest. Everything goes through civicgrid.open311.partners, audited with no actor."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.models import PartnerSystem
from civicgrid.areas.models import Area
from civicgrid.core.errors import ServiceError
from civicgrid.open311 import partners


class Command(BaseCommand):
    help = "Register and manage Open311 partner systems (api keys are printed once)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Register a partner system and print its api key.")
        add.add_argument("name")
        add.add_argument("--area", required=True, help="Code of the jurisdiction area.")
        add.add_argument("--rate", type=int, default=60, help="Calls per minute (default 60).")
        sub.add_parser("list", help="List partner systems.")
        for action, text in (
            ("replace-key", "Print a new api key; the old one stops working."),
            ("disable", "Switch a partner system off."),
            ("enable", "Switch a partner system back on."),
        ):
            sub.add_parser(action, help=text).add_argument("name")

    def handle(self, *args, action: str, **options):
        try:
            if action == "add":
                self._add(options["name"], options["area"], options["rate"])
            elif action == "list":
                self._list()
            else:
                partner = self._partner(options["name"])
                if action == "replace-key":
                    key = partners.replace_key(partner)
                    self.stderr.write(f"New api key of {partner.name} (shown once):")
                    self.stdout.write(key)
                else:
                    partners.update_partner(
                        partner,
                        rate_limit_per_minute=partner.rate_limit_per_minute,
                        is_active=action == "enable",
                    )
                    self.stdout.write(
                        f"{partner.name}: {'enabled' if partner.is_active else 'disabled'}"
                    )
        except ServiceError as exc:
            raise CommandError(exc.message) from None

    def _add(self, name: str, code: str, rate: int) -> None:
        area = Area.objects.filter(code=code, valid_to__isnull=True).first()
        if area is None:
            raise CommandError(f"No area in use with code {code!r}.")
        partner, key = partners.register_partner(
            name=name, jurisdiction=area, rate_limit_per_minute=rate
        )
        self.stderr.write(
            f"Partner system {partner.name} over {area.name} ({area.code}), "
            f"{partner.rate_limit_per_minute}/min. Api key (shown once):"
        )
        self.stdout.write(key)

    def _list(self) -> None:
        for p in PartnerSystem.objects.select_related("jurisdiction").order_by("name"):
            state = "active" if p.is_active else "disabled"
            self.stdout.write(
                f"{p.name}\t{p.jurisdiction.code} {p.jurisdiction.name}\t{p.key_prefix}…\t"
                f"{p.rate_limit_per_minute}/min\t{state}\tlast used {p.last_used_at or '-'}"
            )

    def _partner(self, name: str) -> PartnerSystem:
        partner = PartnerSystem.objects.select_related("jurisdiction").filter(name=name).first()
        if partner is None:
            raise CommandError(f"No partner system named {name!r}.")
        return partner
