"""Publish a scorecard (通报) as the system, e.g. last month's for every unit."""

from __future__ import annotations

import datetime as dt
import os

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min

from civicgrid.areas.models import Area
from civicgrid.cases.models import Case
from civicgrid.core.errors import ServiceError
from civicgrid.scoring import presets, services
from civicgrid.scoring.forms import last_month
from civicgrid.scoring.models import PeriodKind, Scorecard, Subject
from civicgrid.scoring.scorecards import period


def _cases_area() -> Area | None:
    """The smallest area whose subtree holds every case (None when there are no cases)."""
    paths = Case.objects.aggregate(lo=Min("area_path"), hi=Max("area_path"))
    if not paths["lo"]:
        return None
    common = os.path.commonprefix([paths["lo"], paths["hi"]])
    common = common[: common.rfind("/") + 1]
    return Area.objects.filter(path=common).first() if common.strip("/") else None


class Command(BaseCommand):
    help = "Publish the scorecard of units or areas for a period (default: last month, units)."

    def add_arguments(self, parser):
        parser.add_argument("--preset", default="zhungeer")
        parser.add_argument("--period", default=PeriodKind.MONTH, choices=PeriodKind.values)
        parser.add_argument("--date", help="a day in the period (default: last month)")
        parser.add_argument("--end", help="the last day, for --period range")
        parser.add_argument("--subject", default=Subject.UNIT, choices=Subject.values)
        parser.add_argument(
            "--area", help="area code (default: the smallest area holding every case)"
        )
        parser.add_argument("--title", default="")
        parser.add_argument(
            "--again",
            action="store_true",
            help="publish even if the same scorecard was published before",
        )

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
        else:
            area = _cases_area()
        try:
            preset = presets.get(o["preset"])
            per = period(o["period"], day, end)
            earlier = Scorecard.objects.filter(
                preset=preset,
                period_kind=per.kind,
                period_start=per.start,
                period_end=per.end,
                subject=o["subject"],
                scope_path=area.path if area else "",
            ).first()
            if earlier is not None and not o["again"]:
                self.stdout.write(f"already published as #{earlier.pk}: {earlier.title}")
                return
            card = services.publish_scorecard(
                actor=None,
                preset=preset,
                per=per,
                subject=o["subject"],
                area=area,
                title=o["title"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"published #{card.pk}: {card.title} ({len(card.rows)} rows)")
