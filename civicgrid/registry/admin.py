"""The registry in /admin: scoped, read-only, personal data masked.

Nobody reads an unmasked ID number or phone here: the one way to see them is the audited
reveal on the resident or household page.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from civicgrid.core.admin import ScopedModelAdmin
from civicgrid.core.scoping import Scope
from civicgrid.registry.models import (
    Building,
    Facility,
    GridAssignment,
    Household,
    ImportJob,
    Organization,
    Place,
    Resident,
)
from civicgrid.registry.selectors import masked_household, masked_resident

# The admin masks as for a role that may view but never reveal, whoever is looking; the
# ModelAdmin is shared between requests, so it must not remember the current user's scope.
MASKING_SCOPE = Scope(capabilities=frozenset({"registry.view"}))


@admin.register(Building)
class BuildingAdmin(ScopedModelAdmin):
    list_display = ["address", "estate", "number", "floors", "grid"]
    list_filter = ["grid"]
    search_fields = ["address", "estate"]
    list_select_related = ["grid"]


@admin.register(Household)
class HouseholdAdmin(ScopedModelAdmin):
    list_display = ["address", "area", "household_type", "masked_contact_name", "masked_phone"]
    list_filter = ["household_type", "area"]
    search_fields = ["address"]
    list_select_related = ["area"]
    fields = [
        "address",
        "area",
        "building",
        "entrance",
        "room",
        "household_type",
        "masked_contact_name",
        "masked_phone",
        "created_at",
    ]
    readonly_fields = ["masked_contact_name", "masked_phone"]

    @admin.display(description=_("contact name"))
    def masked_contact_name(self, obj: Household) -> str:
        return masked_household(obj, MASKING_SCOPE)["contact_name"]

    @admin.display(description=_("contact phone"))
    def masked_phone(self, obj: Household) -> str:
        return masked_household(obj, MASKING_SCOPE)["contact_phone"]


@admin.register(Resident)
class ResidentAdmin(ScopedModelAdmin):
    list_display = [
        "masked_name",
        "masked_id_number",
        "gender",
        "age",
        "population_type",
        "masked_phone",
        "area",
    ]
    list_filter = ["population_type", "gender", "area"]
    list_select_related = ["area"]
    fields = [
        "masked_name",
        "masked_id_number",
        "gender",
        "birth_date",
        "age",
        "ethnicity",
        "masked_phone",
        "relation",
        "population_type",
        "masked_tags",
        "household",
        "area",
        "arrived_on",
        "created_at",
    ]
    readonly_fields = ["masked_name", "masked_id_number", "masked_phone", "masked_tags", "age"]

    def _masked(self, obj: Resident) -> dict:
        return masked_resident(obj, MASKING_SCOPE)

    @admin.display(description=_("name"))
    def masked_name(self, obj: Resident) -> str:
        return self._masked(obj)["name"]

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj: Resident) -> str:
        return self._masked(obj)["id_number"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Resident) -> str:
        return self._masked(obj)["phone"]

    @admin.display(description=_("tags"))
    def masked_tags(self, obj: Resident) -> str:
        return ", ".join(str(t) for t in self._masked(obj)["tags"])

    @admin.display(description=_("age"))
    def age(self, obj: Resident) -> int:
        return obj.age


@admin.register(Place)
class PlaceAdmin(ScopedModelAdmin):
    list_display = ["name", "kind", "address", "grid"]
    list_filter = ["kind", "grid"]
    search_fields = ["name", "address"]
    list_select_related = ["grid"]


@admin.register(Facility)
class FacilityAdmin(ScopedModelAdmin):
    list_display = ["code", "name", "category_code", "grid"]
    list_filter = ["category_code", "grid"]
    search_fields = ["code", "name"]
    list_select_related = ["grid"]


@admin.register(Organization)
class OrganizationAdmin(ScopedModelAdmin):
    list_display = ["name", "kind", "rating", "credit_code", "area"]
    list_filter = ["kind", "rating", "area"]
    search_fields = ["name", "credit_code"]
    list_select_related = ["area"]
    exclude = ["contact_name", "contact_phone"]


@admin.register(GridAssignment)
class GridAssignmentAdmin(ScopedModelAdmin):
    list_display = ["grid", "worker", "post", "since"]
    list_filter = ["post", "grid"]
    search_fields = ["worker__username", "worker__display_name", "grid__name"]
    list_select_related = ["grid", "worker"]


@admin.register(ImportJob)
class ImportJobAdmin(ScopedModelAdmin):
    list_display = ["file_name", "kind", "area", "dry_run", "status", "total_rows", "created_at"]
    list_filter = ["kind", "status", "dry_run"]
    list_select_related = ["area"]
    exclude = ["errors"]
