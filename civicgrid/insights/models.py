"""Insight records: mining runs and their topic candidates, monthly topics (每月一题) and the
proactive tasks (未诉先办) spawned from a topic or a hotspot.

Hotspots themselves are not stored: they are a pure computation over the cases of the
caller's scope (hotspots.py), so they are always current. A proactive task is a real Case
(channel PROACTIVE, no reporter), so it gets dispatch, deadlines and the timeline for free;
`ProactiveTask` only records where it came from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.core import clock
from civicgrid.core.scoping import ScopedQuerySet
from civicgrid.insights.choices import TaskSource, TopicStatus

USER = settings.AUTH_USER_MODEL


class MiningRun(models.Model):
    """One run of topic mining over the cases of an area and a time span."""

    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    since = models.DateTimeField(_("from"))
    until = models.DateTimeField(_("until"))
    case_count = models.PositiveIntegerField(_("cases mined"), default=0)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name=_("run by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("run at"), default=clock.now)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "cases.view"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("mining run")
        verbose_name_plural = _("mining runs")

    def __str__(self) -> str:
        return f"{self.area} {self.since:%Y-%m-%d}–{self.until:%Y-%m-%d}"


class TopicCandidate(models.Model):
    """A group of similar cases found by a mining run, ranked as a monthly-topic candidate."""

    run = models.ForeignKey(MiningRun, on_delete=models.CASCADE, related_name="candidates")
    rank = models.PositiveIntegerField(_("rank"))
    key_phrases = models.JSONField(_("key phrases"), default=list)
    place = models.CharField(_("place"), max_length=200, blank=True)
    description = models.CharField(_("description"), max_length=200)
    first_at = models.DateTimeField(_("first case"))
    last_at = models.DateTimeField(_("last case"))
    size = models.PositiveIntegerField(_("cases"))
    volume = models.FloatField(_("volume"))
    growth = models.FloatField(_("growth"))
    repeat_rate = models.FloatField(_("repeat rate"))
    unresolved = models.FloatField(_("unresolved factor"))
    score = models.FloatField(_("score"))
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="+")

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "run__area__path"
    scope_capability = "cases.view"

    class Meta:
        ordering = ["run", "rank"]
        verbose_name = _("topic candidate")
        verbose_name_plural = _("topic candidates")
        constraints = [
            models.UniqueConstraint(fields=["run", "rank"], name="candidate_rank_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.label}"

    @property
    def label(self) -> str:
        return "、".join(self.key_phrases[:3])


class Topic(models.Model):
    """每月一题: a class of recurring problems an owner department solves before anyone calls."""

    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    owner_unit = models.ForeignKey(
        "accounts.Unit",
        verbose_name=_("owner department"),
        on_delete=models.PROTECT,
        related_name="topics",
    )
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="topics"
    )
    period = models.DateField(
        _("month"), help_text=_("The month the topic is worked on (its first day).")
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TopicStatus.choices,
        default=TopicStatus.PLANNED,
        db_index=True,
    )
    # The class of problems the topic tracks: cases in the area with one of these categories
    # (any, when empty) whose title or description holds one of the keywords (any, when empty).
    categories = models.ManyToManyField(
        "cases.Category", verbose_name=_("categories"), blank=True, related_name="+"
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=300,
        blank=True,
        help_text=_("Words separated by spaces; a case matches when it contains any of them."),
    )
    candidate = models.ForeignKey(
        TopicCandidate,
        verbose_name=_("from candidate"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="topics",
    )
    cases = models.ManyToManyField(
        "cases.Case", verbose_name=_("linked cases"), blank=True, related_name="topics"
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    updated_at = models.DateTimeField(_("updated at"), default=clock.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "cases.view"

    class Meta:
        ordering = ["-period", "-id"]
        verbose_name = _("monthly topic")
        verbose_name_plural = _("monthly topics")

    def __str__(self) -> str:
        return self.title

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.split() if k]


class ProactiveTask(models.Model):
    """Where a proactive case (未诉先办) came from: a topic, or a hotspot of the scope."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, related_name="proactive_task"
    )
    source = models.CharField(_("source"), max_length=16, choices=TaskSource.choices)
    topic = models.ForeignKey(
        Topic,
        verbose_name=_("topic"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    hotspot = models.CharField(_("hotspot"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    # Scoped through its case: selectors.visible_tasks keeps the tasks whose case the user
    # sees (a unit sees the tasks dispatched to it, as with any case).

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("proactive task")
        verbose_name_plural = _("proactive tasks")

    def __str__(self) -> str:
        return str(self.case)
