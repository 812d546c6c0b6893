"""manage.py demo_logins: the demo's logins, one per role, and where to use them."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import User
from civicgrid.areas.choices import Level
from civicgrid.demo import catalogue


def display_width(text: str) -> int:
    """Columns a terminal gives `text` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _area_label(area) -> str:
    """A grid or community with the street it lies in (第1网格 alone says little)."""
    names = []
    while area is not None and area.level in (Level.STREET, Level.COMMUNITY, Level.GRID):
        names.insert(0, area.name)
        area = area.parent
    return "".join(names) or area.name


class Command(BaseCommand):
    help = "Print the demo logins (username, password, role, scope) and the URL to open."

    def handle(self, *args, **options):
        logins = catalogue.load("logins")
        specs = logins["users"]
        users = {
            u.username: u
            for u in User.objects.filter(
                username__in=[s["username"] for s in specs]
            ).prefetch_related("role_assignments__area__parent__parent", "role_assignments__unit")
        }
        if not users:
            raise CommandError("The demo is not loaded: run `manage.py load_demo` first.")
        rows = [("username", "password", "role", "scope", "/admin")]
        for spec in specs:
            user = users.get(spec["username"])
            if user is None:
                rows.append(
                    (spec["username"], "-", str(Role(spec["role"]).label), "missing: reload", "")
                )
                continue
            assignment = next(
                (a for a in user.role_assignments.all() if a.role == spec["role"]), None
            )
            rows.append(
                (
                    user.username,
                    logins["password"],
                    str(Role(spec["role"]).label),
                    self._scope(user, assignment),
                    "yes" if user.is_staff else "",
                )
            )
        widths = [max(display_width(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write(self.style.SUCCESS(f"CivicGrid demo: open {logins['url']} and log in as"))
        for n, row in enumerate(rows):
            line = "  ".join(pad(str(cell), widths[i]) for i, cell in enumerate(row)).rstrip()
            self.stdout.write(("  " + line) if n else self.style.MIGRATE_HEADING("  " + line))
            if n == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
        self.stdout.write(f"Every login uses the password {logins['password']!r}.")
        self._open311_key(logins["url"])

    def _open311_key(self, url: str) -> None:
        from civicgrid.accounts.models import PartnerSystem
        from civicgrid.demo.generator import DEMO_PARTNER_KEY, DEMO_PARTNER_NAME

        partner = PartnerSystem.objects.filter(
            name=DEMO_PARTNER_NAME, key_hash=PartnerSystem.hash_key(DEMO_PARTNER_KEY)
        ).first()
        if partner is not None:
            self.stdout.write(
                f"Open311 partner system {partner.name}: api_key={DEMO_PARTNER_KEY} "
                f"({url.rstrip('/')}/open311/v2/services.json, docs/open311.md)."
            )

    @staticmethod
    def _scope(user: User, assignment) -> str:
        if user.is_superuser:
            return "everything (superuser)"
        if assignment is None:
            return "no role: reload the demo"
        if assignment.area is not None:
            return f"{_area_label(assignment.area)} {assignment.area.code}"
        if assignment.unit is not None:
            return f"{assignment.unit.name} (unit {assignment.unit.code})"
        return "everything"
