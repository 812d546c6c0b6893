from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class PopulationType(models.TextChoices):
    REGISTERED = "registered", _("Registered (户籍)")
    FLOATING = "floating", _("Floating (流动)")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    SIBLING = "sibling", _("Sibling")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class HouseholdType(models.TextChoices):
    OWNER = "owner", _("Owner-occupied")
    RENTED = "rented", _("Rented")
    EMPTY = "empty", _("Empty")
    BUSINESS = "business", _("Business use")


class ResidentTag(models.TextChoices):
    """Stored special-group tags. Age groups (60+) are derived from the birth date, never stored."""

    DISABLED = "disabled", _("Disabled")
    LOW_INCOME = "low_income", _("Minimum living allowance (低保)")
    LIVING_ALONE = "living_alone", _("Living alone")
    EMPTY_NEST = "empty_nest", _("Empty-nest elderly")
    RETIRED = "retired", _("Retired")
    VETERAN = "veteran", _("Veteran")
    LEFT_BEHIND_CHILD = "left_behind_child", _("Left-behind child")
    SERIOUS_ILLNESS = "serious_illness", _("Serious illness")
    ECONOMIC_HARDSHIP = "economic_hardship", _("Economic hardship")
    RELEASED_PRISONER = "released_prisoner", _("Released prisoner")
    COMMUNITY_CORRECTION = "community_correction", _("Community correction")
    DRUG_USE = "drug_use", _("Drug use")
    MENTAL_DISORDER = "mental_disorder", _("Mental disorder")


# Sensitive groups need the strictest access: their tags are hidden from lists unless the
# role may reveal personal data.
SENSITIVE_TAGS = {
    ResidentTag.RELEASED_PRISONER,
    ResidentTag.COMMUNITY_CORRECTION,
    ResidentTag.DRUG_USE,
    ResidentTag.MENTAL_DISORDER,
}

# Derived tag (computed from the birth date, never stored).
ELDERLY_TAG = "elderly_60"
ELDERLY_AGE = 60


class GridPost(models.TextChoices):
    A = "a", _("A post (patrol and data)")
    B = "b", _("B post (specialist)")


class OrganizationKind(models.TextChoices):
    SOCIAL = "social", _("Social organisation")
    PROPERTY = "property", _("Property company")
    BUSINESS = "business", _("Business")
    PARTY_BRANCH = "party_branch", _("Party branch")
    OTHER = "other", _("Other")


class OrganizationRating(models.TextChoices):
    NONE = "", _("Not rated")
    A5 = "5A", "5A"
    A4 = "4A", "4A"
    A3 = "3A", "3A"
    A2 = "2A", "2A"
    A1 = "1A", "1A"


class PlaceKind(models.TextChoices):
    SCHOOL = "school", _("School")
    MARKET = "market", _("Market")
    HOSPITAL = "hospital", _("Hospital")
    CONSTRUCTION = "construction", _("Construction site")
    PARK = "park", _("Park")
    SERVICE_STATION = "service_station", _("Service station")
    OTHER = "other", _("Other")


class ImportKind(models.TextChoices):
    HOUSEHOLDS = "households", _("Households")
    RESIDENTS = "residents", _("Residents")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed (nothing written)")
    CHECKED = "checked", _("Dry run finished")
