from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    Complexity,
    DeadlineStatus,
    ExtensionStatus,
    HandlerRole,
    Kind,
    NotificationChannel,
    NotificationStatus,
    Satisfaction,
    Solved,
    State,
    SummonsStatus,
    TimeUnit,
    Urgency,
)
from civicgrid.core import clock
from civicgrid.core.scoping import ScopedQuerySet

USER = settings.AUTH_USER_MODEL


# --- configuration: categories, tags, the dispatch catalogue, time-limit policies -----------


class Taxonomy(models.Model):
    """A version of the category tree. A new tree is a new taxonomy; old cases keep theirs."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("category taxonomy")
        verbose_name_plural = _("category taxonomies")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_taxonomy"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.version})"


class Category(models.Model):
    """A node of the 3-level category tree (诉求分类), e.g. 城市管理 > 市容环境 > 占道经营."""

    taxonomy = models.ForeignKey(
        Taxonomy, verbose_name=_("taxonomy"), on_delete=models.PROTECT, related_name="categories"
    )
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    keywords = models.CharField(_("keywords"), max_length=500, blank=True)
    # Full pinyin and initials of name + keywords, for the operator's category search.
    search_text = models.CharField(max_length=1000, blank=True, editable=False)
    complexity = models.CharField(
        _("complexity"), max_length=16, choices=Complexity.choices, default=Complexity.ORDINARY
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["taxonomy", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["taxonomy", "code"], name="category_code_unique"),
            models.UniqueConstraint(fields=["parent", "name"], name="category_parent_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Tag(models.Model):
    """A label beside the category (七有五性, elderly, business environment, monthly topic)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        ordering = ["code"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class DispatchRule(models.Model):
    """The dispatch catalogue (派单目录): category × area → unit.

    The rule whose category is closest to the case's category (the leaf itself before its
    ancestors) and whose area is closest to the case's grid wins; two units at the same
    closeness make the routing ambiguous, and a dispatcher decides.
    """

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="rules"
    )
    area = models.ForeignKey(
        "areas.Area",
        verbose_name=_("area"),
        on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    unit = models.ForeignKey(
        "accounts.Unit",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    auto_dispatch = models.BooleanField(
        _("dispatch automatically"),
        default=False,
        help_text=_("Dispatch without a dispatcher when this rule alone decides the unit."),
    )

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch catalogue")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "area", "unit"], name="dispatch_rule_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} @ {self.area} → {self.unit}"


class SlaPolicy(models.Model):
    """A named set of time-limit rules (a preset such as Jinniu 2h/24h/72h)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    near_due_fraction = models.FloatField(
        _("near-due threshold"),
        default=0.2,
        help_text=_("A case is near due when less than this share of its time is left."),
    )

    class Meta:
        verbose_name = _("time-limit policy")
        verbose_name_plural = _("time-limit policies")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SlaRule(models.Model):
    """Respond within N and resolve within M for kind × category × urgency × complexity.

    Blank matchers match anything; the most specific matching rule wins (see sla.rule_for).
    """

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.CASCADE
    )
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, blank=True)
    complexity = models.CharField(
        _("complexity"), max_length=16, choices=Complexity.choices, blank=True
    )
    respond_value = models.PositiveIntegerField(_("respond within"))
    respond_unit = models.CharField(
        _("unit"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.HOURS
    )
    resolve_value = models.PositiveIntegerField(_("resolve within"))
    resolve_unit = models.CharField(
        _("unit"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.HOURS
    )

    class Meta:
        verbose_name = _("time-limit rule")
        verbose_name_plural = _("time-limit rules")

    def __str__(self) -> str:
        return f"{self.policy}: {self.kind or '*'} {self.category_id or '*'} {self.urgency or '*'}"


class CalendarDay(models.Model):
    """A local override of the official working-day calendar (a closure, or extra work day)."""

    day = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self) -> str:
        return f"{self.day} {'work' if self.is_workday else 'off'}"


# --- the case -------------------------------------------------------------------------------


class CaseQuerySet(ScopedQuerySet):
    def open(self):
        from civicgrid.cases.workflow import OPEN_STATES

        return self.filter(state__in=OPEN_STATES)


class Case(models.Model):
    """One citizen request or one event found on patrol (诉求/工单)."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=4000)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    grid = models.ForeignKey(
        "areas.Area",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    # The path of the most specific area known (the grid, else the area the case came in for):
    # the scope of area roles. Cases outside every grid get the district's path.
    area_path = models.CharField(_("area path"), max_length=255, db_index=True)
    locate_status = models.CharField(_("location status"), max_length=16, blank=True)
    reporter_name = models.CharField(_("reporter name"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=20, blank=True, db_index=True)
    reporter = models.ForeignKey(
        USER,
        verbose_name=_("reporter account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Hide the reporter from units and the public (never from the system)."),
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="cases")
    lead_unit = models.ForeignKey(
        "accounts.Unit",
        verbose_name=_("lead unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_cases",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_cases",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.RECEIVED, db_index=True
    )
    # Compare-and-swap guard: every transition bumps it with UPDATE ... WHERE version = old.
    version = models.PositiveIntegerField(default=0, editable=False)
    received_at = models.DateTimeField(_("received at"), default=clock.now, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("time-limit policy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    respond_due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True)
    # The next deadline the sweeper must look at (near-due or due), indexed for the sweep.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    deadline_status = models.CharField(
        _("deadline status"),
        max_length=16,
        choices=DeadlineStatus.choices,
        default=DeadlineStatus.ON_TIME,
        db_index=True,
    )
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    # When the running clocks started (receipt, or the last reopening): the near-due share is
    # of the span from here to the due time. clock_round is the reopen_count they started for,
    # so sla.apply_deadlines restarts them once after a reopening, whoever calls it.
    clock_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    clock_round = models.PositiveSmallIntegerField(default=0, editable=False)
    returns_locked = models.BooleanField(
        _("return locked"),
        default=False,
        help_text=_("Set when a dispatcher rules on a return: the unit may not return it again."),
    )
    supervised = models.BooleanField(_("supervised"), default=False, db_index=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    return_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    reply = models.TextField(_("reply to the citizen"), blank=True)
    invalid_reason = models.CharField(
        _("reason for closing as invalid"), max_length=500, blank=True
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # The n-grams of title and description as duplicates.signature() hashes them, written by
    # save() (intake's INSERT, an edit of the text) so that a duplicate check does not cut its
    # neighbours' texts; None for a case not yet backfilled (`manage.py
    # backfill_text_signatures`; the check then cuts its text).
    text_signature = models.BinaryField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        USER,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = CaseQuerySet.as_manager()
    scope_path_field = "area_path"
    scope_capability = "cases.view"
    scope_owner_field = "reporter"

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["state", "next_check_at"], name="case_sweep"),
            models.Index(fields=["lead_unit", "state"], name="case_unit_state"),
            # The duplicate finder's bounding box and window (duplicates.find_candidates).
            models.Index(fields=["lat", "lon", "received_at"], name="case_lat_lon_received"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        # Intake gives a new case its signature itself (before the dispatch snapshot).
        given = self._state.adding and self.text_signature is not None
        if (update_fields is None and not given) or (
            update_fields is not None and {"title", "description"} & set(update_fields)
        ):
            from civicgrid.cases.duplicates import signature

            self.text_signature = signature(f"{self.title} {self.description}")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "text_signature"}
        super().save(*args, **kwargs)

    @classmethod
    def scope_unit_q(cls, unit_ids):
        return Q(lead_unit__in=unit_ids) | Q(
            pk__in=CaseHandler.objects.filter(unit__in=unit_ids).values("case_id")
        )


class CaseHandler(models.Model):
    """A unit on a case: the lead unit (主办) and co-handling units (协办) with their part."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handlers")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=8, choices=HandlerRole.choices)
    assigned_at = models.DateTimeField(_("assigned at"), default=clock.now)
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case handler")
        verbose_name_plural = _("case handlers")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "unit"], condition=Q(active=True), name="case_handler_unique_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.unit_id} {self.role}"


class CaseEvent(models.Model):
    """One step on the immutable timeline (全链条可溯). Never updated, never deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(_("at"), default=clock.now, db_index=True)
    actor = models.ForeignKey(
        USER,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=24)
    from_state = models.CharField(_("from"), max_length=16, blank=True)
    to_state = models.CharField(_("to"), max_length=16, blank=True)
    unit = models.ForeignKey(
        "accounts.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("case event")
        verbose_name_plural = _("case timeline")

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}->{self.to_state}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("file"), upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.file.name


class Extension(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=clock.now)
    reason = models.TextField(_("reason"))
    requested_due_at = models.DateTimeField(_("new resolve-by"))
    status = models.CharField(
        max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")

    def __str__(self) -> str:
        return f"{self.case_id} {self.status}"


class Supervision(models.Model):
    """督办: a superior presses a case, with a reason and optionally a new deadline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervisions")
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=clock.now)
    reason = models.TextField(_("reason"))
    new_due_at = models.DateTimeField(_("new resolve-by"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")

    def __str__(self) -> str:
        return f"{self.case_id} {self.at:%Y-%m-%d}"


class Callback(models.Model):
    """回访: was the citizen contacted, is it solved, are they satisfied."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="callbacks")
    at = models.DateTimeField(default=clock.now)
    by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("method"), max_length=16, choices=CallbackMethod.choices)
    contacted = models.BooleanField(_("contacted by the unit"))
    solved = models.CharField(_("solved"), max_length=16, choices=Solved.choices)
    satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return f"{self.case_id} {self.satisfaction}"


class Whistle(models.Model):
    """吹哨: a street or community summons departments to a case or a site."""

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="whistles"
    )
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="whistles")
    site = models.CharField(_("site"), max_length=255, blank=True)
    reason = models.TextField(_("reason"))
    blown_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    blown_at = models.DateTimeField(default=clock.now)
    limit_minutes = models.PositiveIntegerField(_("report-in limit (minutes)"), default=30)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "cases.view"

    class Meta:
        ordering = ["-blown_at"]
        verbose_name = _("whistle")
        verbose_name_plural = _("whistles")

    def __str__(self) -> str:
        return f"{self.area} {self.blown_at:%Y-%m-%d %H:%M}"


class Summons(models.Model):
    """One department summoned by a whistle, and when (if) it reported in (报到)."""

    whistle = models.ForeignKey(Whistle, on_delete=models.CASCADE, related_name="summonses")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField()
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=SummonsStatus.choices, default=SummonsStatus.PENDING
    )

    class Meta:
        verbose_name = _("summons")
        verbose_name_plural = _("summonses")
        constraints = [models.UniqueConstraint(fields=["whistle", "unit"], name="summons_unique")]

    def __str__(self) -> str:
        return f"{self.whistle_id} {self.unit_id} {self.status}"


class Notification(models.Model):
    """The outbox: written in the transaction, sent after commit by an adapter."""

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=16, choices=NotificationChannel.choices)
    address = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    status = models.CharField(
        max_length=16,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
        db_index=True,
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    # After a failed attempt: not before this time (exponential back-off); None once the row
    # is sent, or has had its last attempt, or was never tried.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.channel} {self.subject}"


class CaseCounter(models.Model):
    """Per-day sequence for human case numbers (row-locked while taking a number)."""

    day = models.DateField(primary_key=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day} {self.value}"
