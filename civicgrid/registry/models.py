from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.core import clock
from civicgrid.core.scoping import ScopedQuerySet
from civicgrid.registry.choices import (
    ELDERLY_AGE,
    ELDERLY_TAG,
    Gender,
    GridPost,
    HouseholdType,
    ImportKind,
    ImportStatus,
    OrganizationKind,
    OrganizationRating,
    PlaceKind,
    PopulationType,
    Relation,
)


class Building(models.Model):
    """A building in a grid (楼栋), with its address and coordinates."""

    grid = models.ForeignKey(
        "areas.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="buildings"
    )
    estate = models.CharField(_("estate"), max_length=100, blank=True)
    number = models.CharField(_("building number"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, db_index=True)
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "grid__path"
    scope_capability = None  # buildings carry no personal data; scope still applies

    class Meta:
        ordering = ["address"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [
            models.UniqueConstraint(fields=["address"], name="building_address_unique"),
        ]

    def __str__(self) -> str:
        return self.address


class Household(models.Model):
    """A registered household at an address. `area` is its grid, or its community while the
    household is not yet placed in a grid (the coverage report lists those)."""

    area = models.ForeignKey(
        "areas.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="households"
    )
    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="households",
    )
    entrance = models.CharField(_("entrance"), max_length=16, blank=True)
    room = models.CharField(_("room"), max_length=16, blank=True)
    address = models.CharField(_("address"), max_length=255, db_index=True)
    household_type = models.CharField(
        _("housing use"), max_length=16, choices=HouseholdType.choices, default=HouseholdType.OWNER
    )
    contact_name = models.CharField(_("contact name"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "registry.view"

    class Meta:
        ordering = ["address"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(
                fields=["building", "entrance", "room"],
                condition=Q(building__isnull=False),
                name="household_room_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.address


class Resident(models.Model):
    """A person living in the area (实有人口). Age is derived from the birth date."""

    area = models.ForeignKey(
        "areas.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="residents"
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
    )
    name = models.CharField(_("name"), max_length=64, db_index=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    id_number = models.CharField(_("ID number"), max_length=18, unique=True)
    birth_date = models.DateField(_("birth date"))
    ethnicity = models.CharField(_("ethnicity"), max_length=16, blank=True)
    # Indexed: the hotline finds a caller by phone number.
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    relation = models.CharField(
        _("relation to head"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    population_type = models.CharField(
        _("population type"),
        max_length=16,
        choices=PopulationType.choices,
        default=PopulationType.REGISTERED,
    )
    # Comma-wrapped codes (",disabled,low_income,") so one tag is a portable LIKE filter on
    # SQLite and PostgreSQL alike; see `selectors.with_tag`.
    tags = models.CharField(_("tags"), max_length=255, blank=True, default="")
    arrived_on = models.DateField(_("arrived on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "registry.view"

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("resident")
        verbose_name_plural = _("residents")

    def __str__(self) -> str:
        return self.name

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]

    def age_on(self, day: dt.date | None = None) -> int:
        day = day or clock.today()
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def age(self) -> int:
        return self.age_on()

    @property
    def all_tags(self) -> list[str]:
        """Stored tags plus derived ones (elderly_60)."""
        derived = [ELDERLY_TAG] if self.age >= ELDERLY_AGE else []
        return derived + self.tag_list


class Place(models.Model):
    """A location of interest (地): school, market, construction site ..."""

    grid = models.ForeignKey(
        "areas.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="places"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=32, choices=PlaceKind.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "grid__path"
    scope_capability = "areas.view"

    class Meta:
        ordering = ["name"]
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def __str__(self) -> str:
        return self.name


class Facility(models.Model):
    """A public fixture (物/部件): street lamp, manhole cover, hydrant, with a category code."""

    grid = models.ForeignKey(
        "areas.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="facilities"
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    category_code = models.CharField(_("category code"), max_length=16, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "grid__path"
    scope_capability = "areas.view"

    class Meta:
        ordering = ["code"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self) -> str:
        return f"{self.name} {self.code}"


class Organization(models.Model):
    """An organisation (组织): social organisation, property company, business, party branch."""

    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="organizations"
    )
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganizationKind.choices)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, null=True, blank=True
    )
    rating = models.CharField(
        _("rating"), max_length=2, choices=OrganizationRating.choices, blank=True, default=""
    )
    contact_name = models.CharField(_("contact name"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "areas.view"

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class GridAssignment(models.Model):
    """A grid worker posted to a grid (A post: patrol and data; B post: specialist)."""

    grid = models.ForeignKey(
        "areas.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="staffing"
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        on_delete=models.PROTECT,
        related_name="grid_assignments",
    )
    post = models.CharField(_("post"), max_length=1, choices=GridPost.choices, default=GridPost.A)
    since = models.DateField(_("since"), default=clock.today)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "grid__path"
    scope_capability = "areas.view"

    class Meta:
        ordering = ["grid", "post"]
        verbose_name = _("grid staffing")
        verbose_name_plural = _("grid staffing")
        constraints = [
            models.UniqueConstraint(fields=["grid", "worker"], name="grid_assignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.grid} · {self.worker} · {self.get_post_display()}"


class ImportJob(models.Model):
    """One household/resident import: a dry run or a real run, with its progress and report."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="import_jobs"
    )
    file_name = models.CharField(_("file"), max_length=255)
    dry_run = models.BooleanField(_("dry run"), default=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    written_rows = models.PositiveIntegerField(_("written"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area__path"
    scope_capability = "registry.edit"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
