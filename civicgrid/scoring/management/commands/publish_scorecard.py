"""Publish a scorecard (通报) as the system, e.g. last month's for every unit."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from civicgrid.areas.models import Area
from civicgrid.core.errors import ServiceError
from civicgrid.scoring import presets, services
from civicgrid.scoring.forms import last_month
from civicgrid.scoring.models import PeriodKind, Subject
from civicgrid.scoring.scorecards import period


class Command(BaseCommand):
    help = "Publish the scorecard of units or areas for a period (default: last month, units)."

    def add_arguments(self, parser):
        parser.add_argument("--preset", default="zhungeer")
        parser.add_argument("--period", default=PeriodKind.MONTH, choices=PeriodKind.values)
        parser.add_argument("--date", help="a day in the period (default: last month)")
        parser.add_argument("--end", help="the last day, for --period range")
        parser.add_argument("--subject", default=Subject.UNIT, choices=Subject.values)
        parser.add_argument("--area", help="area code (default: every area)")
        parser.add_argument("--title", default="")

    def handle(self, *args, **o):
        try:
            day = dt.date.fromisoformat(o["date"]) if o["date"] else last_month()
            end = dt.date.fromisoformat(o["end"]) if o["end"] else None
        except ValueError as exc:
            raise CommandError(f"dates are YYYY-MM-DD: {exc}") from exc
        area = None
        if o["area"]:
            area = Area.objects.filter(code=o["area"]).first()
            if area is None:
                raise CommandError(f"no area with code {o['area']}")
        try:
            card = services.publish_scorecard(
                actor=None,
                preset=presets.get(o["preset"]),
                per=period(o["period"], day, end),
                subject=o["subject"],
                area=area,
                title=o["title"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"published #{card.pk}: {card.title} ({len(card.rows)} rows)")
