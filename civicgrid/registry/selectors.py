"""Scoped reads of the registry, and the masked views of people and households.

Every query starts from `Model.objects.visible_to(user)`; nothing here filters by hand. Lists,
search results and exports show personal data masked (`masked_resident`, `masked_household`);
the unmasked values come only from `services.reveal_resident`, which is audited.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q, QuerySet

from civicgrid.areas.models import Area
from civicgrid.core import clock
from civicgrid.core.masking import mask_id_number, mask_name, mask_phone
from civicgrid.core.scoping import Scope, scope_of
from civicgrid.registry.choices import ELDERLY_AGE, ELDERLY_TAG, SENSITIVE_TAGS
from civicgrid.registry.idnumbers import InvalidIdentifier, normalise_phone
from civicgrid.registry.models import Household, Resident

_FULL_ID = re.compile(r"^\d{17}[\dXx]$")
_TAIL = re.compile(r"^\d{3}[\dXx]$")


def elderly_cutoff(today: dt.date | None = None, age: int = ELDERLY_AGE) -> dt.date:
    """The latest birth date of someone who is at least `age` years old on `today`."""
    today = today or clock.today()
    try:
        return today.replace(year=today.year - age)
    except ValueError:  # 29 February, and the year `age` years back is not a leap year
        return today.replace(year=today.year - age, day=28)


def with_tag(queryset: QuerySet, tag: str, today: dt.date | None = None) -> QuerySet:
    """Residents carrying `tag`: a LIKE on the comma-wrapped column, or for the derived
    `elderly_60` a birth-date filter (so the group is right on any day without a job)."""
    if tag == ELDERLY_TAG:
        return queryset.filter(birth_date__lte=elderly_cutoff(today))
    return queryset.filter(tags__contains=f",{tag},")


def _identifier_q(q: str, fields: tuple[str, ...]) -> Q:
    """Exact full ID number / phone, or their last four characters."""
    result = Q(pk__in=[])
    if _FULL_ID.match(q) and "id_number" in fields:
        result |= Q(id_number=q.upper())
    try:
        phone = normalise_phone(q)
    except InvalidIdentifier:
        phone = ""
    if phone:
        for name in fields:
            if name != "id_number":
                result |= Q(**{name: phone})
    if _TAIL.match(q):
        for name in fields:
            result |= Q(**{f"{name}__endswith": q.upper() if name == "id_number" else q})
    return result


def search_residents(
    user,
    q: str = "",
    area: Area | None = None,
    tag: str | None = None,
    population_type: str | None = None,
) -> QuerySet[Resident]:
    """Residents visible to `user`, optionally under `area`, carrying `tag`, of a population
    type, and matching `q`: part of the name or household address, or the exact full ID
    number or phone, or the last four digits of either.

    Filtering by a sensitive tag needs registry.reveal: without it the answer is empty, so the
    filter cannot be used to learn who is in a sensitive group.
    """
    qs = Resident.objects.visible_to(user).select_related("household", "area")
    if area is not None:
        qs = qs.filter(area__path__startswith=area.path)
    if tag:
        if tag in SENSITIVE_TAGS and not scope_of(user).can("registry.reveal"):
            return qs.none()
        qs = with_tag(qs, tag)
    if population_type:
        qs = qs.filter(population_type=population_type)
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(household__address__icontains=q)
            | _identifier_q(q, ("id_number", "phone"))
        )
    return qs


def search_households(user, q: str = "", area: Area | None = None) -> QuerySet[Household]:
    """Households visible to `user`, optionally under `area`, matching `q`: part of the
    address or contact name, the exact contact phone, or its last four digits."""
    qs = Household.objects.visible_to(user).select_related("area", "building")
    if area is not None:
        qs = qs.filter(area__path__startswith=area.path)
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(address__icontains=q)
            | Q(contact_name__icontains=q)
            | _identifier_q(q, ("contact_phone",))
        )
    return qs


def residents_of(household: Household, user) -> QuerySet[Resident]:
    """The members of `household` that `user` may see (all of them, or none)."""
    return Resident.objects.visible_to(user).filter(household=household).order_by("relation")


def visible_tags(resident: Resident, scope: Scope, today: dt.date | None = None) -> list[str]:
    """The resident's tags (derived 60+ first), without sensitive ones unless the scope may
    reveal personal data."""
    derived = [ELDERLY_TAG] if resident.age_on(today) >= ELDERLY_AGE else []
    tags = resident.tag_list
    if not scope.can("registry.reveal"):
        tags = [t for t in tags if t not in SENSITIVE_TAGS]
    return derived + tags


def masked_resident(resident: Resident, scope: Scope, today: dt.date | None = None) -> dict:
    """A resident as lists, search results and the API show them: ID number, phone and name
    masked; age instead of the birth date; sensitive tags only for scopes that may reveal."""
    household = resident.household if resident.household_id else None
    return {
        "id": resident.pk,
        "name": mask_name(resident.name),
        "gender": resident.gender,
        "age": resident.age_on(today),
        "id_number": mask_id_number(resident.id_number),
        "phone": mask_phone(resident.phone),
        "ethnicity": resident.ethnicity,
        "relation": resident.relation,
        "population_type": resident.population_type,
        "tags": visible_tags(resident, scope, today),
        "household_id": resident.household_id,
        "address": household.address if household else "",
        "area_id": resident.area_id,
        "arrived_on": resident.arrived_on,
        "masked": True,
    }


def masked_household(household: Household, scope: Scope) -> dict:
    """A household as lists show it: the contact person's name and phone masked. (`scope` is
    taken like `masked_resident`'s so callers treat both alike; households carry no tags.)"""
    return {
        "id": household.pk,
        "address": household.address,
        "area_id": household.area_id,
        "building_id": household.building_id,
        "entrance": household.entrance,
        "room": household.room,
        "household_type": household.household_type,
        "contact_name": mask_name(household.contact_name),
        "contact_phone": mask_phone(household.contact_phone),
        "masked": True,
    }
