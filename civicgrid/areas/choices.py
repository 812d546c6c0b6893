from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")
    ZONE = "zone", _("Zone")
    ESTATE = "estate", _("Estate")
    GRID = "grid", _("Grid")


# Which level may sit under which. Zones and estates are optional finer levels between a
# community and its grids; every grid belongs to a community (directly or through them).
ALLOWED_CHILDREN: dict[str, set[str]] = {
    Level.PROVINCE: {Level.CITY, Level.DISTRICT},
    Level.CITY: {Level.DISTRICT},
    Level.DISTRICT: {Level.STREET},
    Level.STREET: {Level.COMMUNITY},
    Level.COMMUNITY: {Level.ZONE, Level.ESTATE, Level.GRID},
    Level.ZONE: {Level.ESTATE, Level.GRID},
    Level.ESTATE: {Level.GRID},
    Level.GRID: set(),
}


class GridLayer(models.TextChoices):
    """Four kinds of grid may overlay the same ground (seed 000); service is the default."""

    SERVICE = "service", _("Service grid")
    PARTY = "party", _("Party-building grid")
    SECURITY = "security", _("Comprehensive governance grid")
    AUTONOMY = "autonomy", _("Self-governance grid")


class ChangeKind(models.TextChoices):
    CREATE = "create", _("Create")
    RENAME = "rename", _("Rename")
    REPARENT = "reparent", _("Re-parent")
    MERGE = "merge", _("Merge")
    SPLIT = "split", _("Split")
    RESHAPE = "reshape", _("Change boundary")
    RETIRE = "retire", _("Retire")
