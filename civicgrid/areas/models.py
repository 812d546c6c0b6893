from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.areas.choices import ChangeKind, GridLayer, Level
from civicgrid.core.scoping import ScopedQuerySet


class AreaQuerySet(ScopedQuerySet):
    def current(self):
        """Areas in force today (not retired by a merge, split or retirement)."""
        return self.filter(valid_to__isnull=True)

    def grids(self, layer: str = GridLayer.SERVICE):
        return self.current().filter(level=Level.GRID, layer=layer)

    def subtree_of(self, area: Area):
        return self.filter(path__startswith=area.path)


class Area(models.Model):
    """A node of the area tree: district, street, community, optional zone/estate, grid.

    `path` is the materialised path of primary keys (`/1/7/42/`), so "everything under this
    street" is one indexed prefix filter and scoping is a single join from any object.
    Geometry is GeoJSON (WGS84) text; the bounding box and the size in square metres are
    cached from it by the services, which own every write.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, db_index=True)
    layer = models.CharField(
        _("grid type"), max_length=16, choices=GridLayer.choices, default=GridLayer.SERVICE
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=255, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    geometry = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lon = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    size_m2 = models.FloatField(_("size (m²)"), null=True, blank=True, editable=False)
    priority = models.IntegerField(
        _("priority"),
        default=0,
        help_text=_("Where grids overlap, the higher priority wins; on a tie, the smaller grid."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True, db_index=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
    )

    objects = AreaQuerySet.as_manager()
    scope_path_field = "path"
    scope_capability = "areas.view"

    class Meta:
        ordering = ["path"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=Q(valid_to__isnull=True),
                name="area_parent_name_unique_current",
            ),
        ]
        indexes = [models.Index(fields=["level", "layer", "valid_to"], name="area_level_layer")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part][:-1]


class AreaParentLink(models.Model):
    """Which parent an area had over which dates: the history behind re-parenting.

    A figure for a past period counts the children an area had then (`selectors.members_at`).
    """

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="parent_links")
    parent = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.PROTECT, related_name="child_links"
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["area", "valid_from"]
        verbose_name = _("parent history")
        verbose_name_plural = _("parent history")

    def __str__(self) -> str:
        return f"{self.area_id} -> {self.parent_id} ({self.valid_from}..{self.valid_to or ''})"


class AreaChange(models.Model):
    """A recorded change of the tree (merge, split, re-parent ...) with its effective date."""

    kind = models.CharField(_("kind"), max_length=16, choices=ChangeKind.choices)
    effective_date = models.DateField(_("effective date"))
    sources = models.ManyToManyField(Area, related_name="changes_as_source", blank=True)
    targets = models.ManyToManyField(Area, related_name="changes_as_target", blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-id"]
        verbose_name = _("area change")
        verbose_name_plural = _("area changes")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_date}"


class AreaRevision(models.Model):
    """A single counter bumped on every change of the tree or a boundary.

    Each process's locator compares it with the revision its index was built from, so a
    change made by one worker is seen by every other without a restart.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"area revision {self.value}"
