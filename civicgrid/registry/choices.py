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


# Chinese names used in spreadsheets (import and export). The first name of each entry is the
# one we write; every name listed is accepted on import.
GENDER_ZH = {Gender.MALE: "男", Gender.FEMALE: "女"}

RELATION_ZH: dict[str, tuple[str, ...]] = {
    Relation.HEAD: ("户主", "本人"),
    Relation.SPOUSE: ("配偶", "妻", "夫", "妻子", "丈夫"),
    Relation.CHILD: ("子女", "子", "女", "儿子", "女儿"),
    Relation.PARENT: ("父母", "父亲", "母亲"),
    Relation.GRANDCHILD: ("孙子女", "孙子", "孙女", "外孙子女"),
    Relation.SIBLING: ("兄弟姐妹", "兄弟", "姐妹"),
    Relation.TENANT: ("租户", "租客"),
    Relation.OTHER: ("其他",),
}

POPULATION_TYPE_ZH: dict[str, tuple[str, ...]] = {
    PopulationType.REGISTERED: ("户籍", "户籍人口", "常住"),
    PopulationType.FLOATING: ("流动", "流动人口"),
}

HOUSEHOLD_TYPE_ZH: dict[str, tuple[str, ...]] = {
    HouseholdType.OWNER: ("自住",),
    HouseholdType.RENTED: ("出租",),
    HouseholdType.EMPTY: ("空置",),
    HouseholdType.BUSINESS: ("经营", "商用"),
}

TAG_ZH: dict[str, tuple[str, ...]] = {
    ResidentTag.DISABLED: ("残疾人", "残疾"),
    ResidentTag.LOW_INCOME: ("低保", "低保户"),
    ResidentTag.LIVING_ALONE: ("独居", "独居老人"),
    ResidentTag.EMPTY_NEST: ("空巢", "空巢老人"),
    ResidentTag.RETIRED: ("退休", "退休人员"),
    ResidentTag.VETERAN: ("退役军人",),
    ResidentTag.LEFT_BEHIND_CHILD: ("留守儿童",),
    ResidentTag.SERIOUS_ILLNESS: ("大病", "重病"),
    ResidentTag.ECONOMIC_HARDSHIP: ("困难", "经济困难"),
    ResidentTag.RELEASED_PRISONER: ("刑满释放", "刑满释放人员"),
    ResidentTag.COMMUNITY_CORRECTION: ("社区矫正", "社区矫正对象"),
    ResidentTag.DRUG_USE: ("吸毒", "吸毒人员"),
    ResidentTag.MENTAL_DISORDER: ("精神障碍", "严重精神障碍患者"),
}
ELDERLY_ZH = ("60岁以上老人", "老年人", "老人", "高龄老人")


def zh_name(table: dict[str, tuple[str, ...]], code: str) -> str:
    """The Chinese name written to spreadsheets for `code` (the code itself if unknown)."""
    names = table.get(code)
    return names[0] if names else code


def zh_lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Chinese name (any accepted spelling) -> code, for reading spreadsheets."""
    return {name: code for code, names in table.items() for name in names}
