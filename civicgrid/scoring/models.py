"""Rollups (per-case facts and count tables) and published scorecards.

The count tables are pre-aggregated figures (STYLE.md: dashboards and scorecards read rollups,
not raw scans). They are kept exact by `rollups.refresh_cases`: each case has one `CaseFacts`
row, recomputed from the case and its timeline whenever the case changes; the count rows it
fell into are decremented by the old facts and incremented by the new ones, in one transaction.

Keys are plain integers, not foreign keys: a count row outlives nothing and needs no join, and
0 stands for "none" (no lead unit, no category) so the unique keys work on every database
(NULLs are distinct in unique constraints).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.core import clock

# The measures every count row carries, in this order (see rollups.measures_of for what each
# counts). Adding one is a migration plus a line in `measures_of`.
MEASURES: tuple[str, ...] = (
    "total",  # every case
    "invalid",  # closed as invalid after review (核减): out of every rate
    "merged",  # merged into another case: counted there
    "proactive",  # 未诉先办 work (channel proactive): out of the 三率, earns bonus points
    "proactive_resolved",  # proactive work resolved (topics solved)
    "scored",  # in the 三率: not invalid, not merged, not proactive
    "response_due",  # scored cases whose response was due (accepted, or response overdue)
    "responded_on_time",  # accepted within the respond-by time
    "resolve_due",  # scored cases whose resolution was due (resolved, or resolution overdue)
    "resolved",  # resolved (resolved, callback done or closed)
    "resolved_on_time",  # resolved by the resolve-by time
    "called_back",  # with a callback
    "contacted",  # the callback says the unit contacted the citizen
    "rated",  # the callback has an answer (satisfaction other than "no answer")
    "solved",
    "partly",
    "not_solved",
    "satisfied",
    "basic",
    "dissatisfied",
    "returned",  # returned (退单) at least once
    "returns",  # number of returns
    "returns_unjustified",  # returns the dispatcher ruled against (the same unit must handle it)
    "reopened",  # reopened (重办) at least once
    "co_replied",  # co-handler rows: the co-handling unit replied with its part
)


class Role(models.TextChoices):
    LEAD = "lead", _("Lead unit (主办)")
    CO = "co", _("Co-handling unit (协办)")


class _Measures(models.Model):
    class Meta:
        abstract = True


for _name in MEASURES:
    _Measures.add_to_class(_name, models.IntegerField(default=0))


class CaseFacts(_Measures):
    """What one case contributes to the count tables, as last counted.

    The measures are those of the lead row (the case counted for its lead unit and its area);
    each co-handling unit of the case has a `CoHandlerFacts` row and gets a co row.
    """

    case_id = models.BigIntegerField(primary_key=True)
    day = models.DateField(_("received on"), db_index=True)
    unit_id = models.BigIntegerField(_("lead unit"), default=0)
    area_id = models.BigIntegerField(_("area"), default=0)
    area_path = models.CharField(_("area path"), max_length=255)
    street_id = models.BigIntegerField(default=0)
    community_id = models.BigIntegerField(default=0)
    category_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    counted_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("case facts")
        verbose_name_plural = _("case facts")

    def __str__(self) -> str:
        return f"case {self.case_id} on {self.day}"


class CoHandlerFacts(models.Model):
    """A co-handling unit (协办) of a counted case, and whether it replied with its part."""

    case_id = models.BigIntegerField(db_index=True)
    unit_id = models.BigIntegerField()
    replied = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("co-handler facts")
        verbose_name_plural = _("co-handler facts")
        constraints = [models.UniqueConstraint(fields=["case_id", "unit_id"], name="co_facts_key")]
        indexes = [models.Index(fields=["unit_id", "case_id"], name="co_facts_unit")]

    def __str__(self) -> str:
        return f"case {self.case_id} co unit {self.unit_id}"


class RollupCount(_Measures):
    """Counts per day × unit (and its role) × area × category × channel × kind.

    The day is the day the case was received (local time). Lead rows count each case once
    (for its area figures); co rows count it again for each co-handling unit.
    """

    day = models.DateField(_("day"))
    unit_id = models.BigIntegerField(_("unit"), default=0)
    role = models.CharField(_("role"), max_length=4, choices=Role.choices, default=Role.LEAD)
    area_id = models.BigIntegerField(_("area"), default=0)
    category_id = models.BigIntegerField(_("category"), default=0)
    channel = models.CharField(_("channel"), max_length=16)
    kind = models.CharField(_("kind"), max_length=16)
    # Functions of area_id, kept here so a scope filter or a group by street needs no join.
    area_path = models.CharField(_("area path"), max_length=255)
    street_id = models.BigIntegerField(default=0)
    community_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("rollup count")
        verbose_name_plural = _("rollup counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "unit_id", "role", "area_id", "category_id", "channel", "kind"],
                name="rollup_count_key",
            )
        ]
        indexes = [
            models.Index(fields=["day", "area_path"], name="rollup_day_path"),
            models.Index(fields=["unit_id", "day"], name="rollup_unit_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} unit {self.unit_id} area {self.area_id}: {self.total}"


class AreaDayCount(_Measures):
    """Lead counts per day × area (the grid, or the street or community a case without a grid
    was placed on): each case once, no unit, role, category, channel or kind.

    The fine `RollupCount` holds almost one row per case (its key has six columns besides the
    day); this one holds one row per area per day, so an area's figures over a period (the
    dashboards' trend, totals, rates and per-grid volume) read a few rows per day.
    """

    day = models.DateField(_("day"))
    area_id = models.BigIntegerField(_("area"), default=0)
    # Functions of area_id, as on RollupCount.
    area_path = models.CharField(_("area path"), max_length=255)
    street_id = models.BigIntegerField(default=0)
    community_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("area day count")
        verbose_name_plural = _("area day counts")
        constraints = [
            models.UniqueConstraint(fields=["day", "area_id"], name="area_day_count_key")
        ]
        indexes = [models.Index(fields=["day", "area_path"], name="area_day_path")]

    def __str__(self) -> str:
        return f"{self.day} area {self.area_id}: {self.total}"


class UnitDayCount(_Measures):
    """Counts per day × unit × role: the unit scorecards read a month in ~30 rows per unit."""

    day = models.DateField(_("day"))
    unit_id = models.BigIntegerField(_("unit"), default=0)
    role = models.CharField(_("role"), max_length=4, choices=Role.choices, default=Role.LEAD)

    class Meta:
        verbose_name = _("unit day count")
        verbose_name_plural = _("unit day counts")
        constraints = [
            models.UniqueConstraint(fields=["day", "unit_id", "role"], name="unit_day_count_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} unit {self.unit_id} {self.role}: {self.total}"


class RollupState(models.Model):
    """The refresh watermark: timeline events up to `last_event_id` have been counted."""

    key = models.CharField(max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    full_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} @ {self.last_event_id}"


# --- scorecards ---------------------------------------------------------------------------


class Subject(models.TextChoices):
    """What a scorecard ranks."""

    UNIT = "unit", _("Handling units")
    STREET = "street", _("Streets")
    COMMUNITY = "community", _("Communities")
    GRID = "grid", _("Grids")


class PeriodKind(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    RANGE = "range", _("Date range")


class ScorecardPreset(models.Model):
    """One version of a scorecard's rules (weights, thresholds, bonus and deductions).

    A version is never edited: a changed rule is a new version (`presets.py` loads them from
    `scoring/presets/*.json`), and every published scorecard keeps the version it used.
    """

    code = models.CharField(_("code"), max_length=32)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("definition"))
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("scorecard preset")
        verbose_name_plural = _("scorecard presets")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="scorecard_preset_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ScorecardQuerySet(models.QuerySet):
    def visible_to(self, user, capability: str | None = None):
        """Published scorecards a caller may read (cases.view):
        - those published for an area inside their area roles: a street sees the ones
          published for its street (or below), not a neighbour's or the district's;
        - a unit's staff: the unit rankings (通报) their unit is ranked in, whatever the area,
          as a bulletin is sent to every unit it ranks (they see their own line and the others'
          as published, not the cases behind them)."""
        from civicgrid.core.scoping import scope_of

        scope = scope_of(user)
        if scope.everything:
            return self
        if not scope.can("cases.view"):
            return self.none()
        q = models.Q(pk__in=[])
        for path in scope.capability_role_paths.get("cases.view", ()):
            q |= models.Q(scope_path__startswith=path)
        if scope.unit_ids and "cases.view" in scope.unit_capabilities:
            q |= models.Q(pk__in=self.ranking_units(scope.unit_ids))
        return self.filter(q)

    def ranking_units(self, unit_ids) -> list[int]:
        """Ids of the published unit rankings that rank any of `unit_ids` (bulletins are few:
        one a month per preset and area, so reading their rows is cheap)."""
        mine = set(unit_ids)
        return [
            pk
            for pk, rows in Scorecard.objects.filter(subject=Subject.UNIT).values_list("id", "rows")
            if any(row.get("id") in mine for row in rows or ())
        ]


class Scorecard(models.Model):
    """A published scorecard (通报): the figures as computed when published, never recomputed.

    `rows` holds one entry per ranked subject (ids, names, counts, rates, component scores,
    bonus, deductions, total, rank, change since the previous period) exactly as shown.
    """

    title = models.CharField(_("title"), max_length=200)
    preset = models.ForeignKey(
        ScorecardPreset, verbose_name=_("preset"), on_delete=models.PROTECT, related_name="+"
    )
    preset_code = models.CharField(_("preset"), max_length=32)
    preset_version = models.PositiveIntegerField(_("preset version"))
    definition = models.JSONField(_("rules used"))
    subject = models.CharField(_("ranks"), max_length=16, choices=Subject.choices)
    period_kind = models.CharField(_("period"), max_length=16, choices=PeriodKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    # The area the scorecard covers ("" is every area): also who may read it.
    scope_path = models.CharField(_("area path"), max_length=255, blank=True, db_index=True)
    scope_name = models.CharField(_("area"), max_length=100, blank=True)
    rows = models.JSONField(_("figures"))
    summary = models.JSONField(_("summary"), default=dict)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), default=clock.now, db_index=True)

    objects = ScorecardQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("published scorecard")
        verbose_name_plural = _("published scorecards")

    def __str__(self) -> str:
        return self.title
