from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from civicgrid.areas.models import Area
from civicgrid.core.admin import ScopedModelAdmin


@admin.register(Area)
class AreaAdmin(ScopedModelAdmin):
    """The area tree of the user's scope, read-only: changes go through areas.services."""

    list_display = ["name", "code", "level", "layer", "parent", "valid_from", "valid_to"]
    list_filter = ["level", "layer", "parent"]
    search_fields = ["name", "code"]
    list_select_related = ["parent"]
    fields = [
        "name",
        "code",
        "level",
        "layer",
        "parent",
        "path",
        "depth",
        "priority",
        "size_m2",
        "valid_from",
        "valid_to",
        "successor",
        "has_boundary",
    ]
    readonly_fields = ["path", "depth", "size_m2", "has_boundary"]

    @admin.display(boolean=True, description=_("has a boundary"))
    def has_boundary(self, obj: Area) -> bool:
        return obj.geometry is not None
