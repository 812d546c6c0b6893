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
from civicgrid.core.scoping import Scope, scope_filter, scope_of
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


def scoped_areas(user, area: Area | None = None) -> QuerySet[Area] | None:
    """The areas of the user's scope (and under `area`), or None for "every area"."""
    scoped = scope_filter(scope_of(user), "path")
    if scoped is None and area is None:
        return None
    areas = Area.objects.all()
    if scoped is not None:
        areas = areas.filter(scoped)
    if area is not None:
        areas = areas.filter(path__startswith=area.path)
    return areas


def in_areas(queryset: QuerySet, user, area: Area | None = None) -> QuerySet:
    """Restrict a queryset of objects with an `area` to the user's scope (and under `area`)
    by area ids as well as by path, when that subtree is a small part of the tree.

    `visible_to` filters on the joined area's path, which is correct but gives the planner
    nothing to use: SQLite scans every resident (0.3 s for one grid of the full-scale demo,
    4 s with a name search). The same areas as an `area_id IN (...)` subquery let it use the
    area index (under 10 ms). Over most of the tree a scan in list order is faster, so for
    lists the subquery is added only for a subtree of at most half the areas. The path filter
    of `visible_to` stays either way.
    """
    areas = scoped_areas(user, area)
    if areas is None:
        return queryset
    if 2 * areas.count() > Area.objects.count():
        return queryset.filter(area__path__startswith=area.path) if area is not None else queryset
    return queryset.filter(area_id__in=areas.values("id"))


def _text_q(q: str, texts: tuple[str, ...], ids: tuple[str, ...], phones: tuple[str, ...]) -> Q:
    """What `q` matches. A full ID number or phone number is looked up exactly (an indexed
    lookup: it cannot be part of a name or an address); four digits match the end of an ID
    number or phone, or part of a text (a room number); anything else part of a text."""
    if _FULL_ID.match(q) and ids:
        return Q(**{ids[0]: q.upper()})
    try:
        phone = normalise_phone(q) if len(q) >= 7 else ""
    except InvalidIdentifier:
        phone = ""
    if phone and phones:
        result = Q(pk__in=[])
        for name in phones:
            result |= Q(**{name: phone})
        return result
    result = Q(pk__in=[])
    for name in texts:
        result |= Q(**{f"{name}__icontains": q})
    if _TAIL.match(q):
        for name in ids:
            result |= Q(**{f"{name}__endswith": q.upper()})
        for name in phones:
            result |= Q(**{f"{name}__endswith": q})
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
    qs = in_areas(Resident.objects.visible_to(user), user, area)
    qs = qs.select_related("household", "area")
    if tag:
        if tag in SENSITIVE_TAGS and not scope_of(user).can("registry.reveal"):
            return qs.none()
        qs = with_tag(qs, tag)
    if population_type:
        qs = qs.filter(population_type=population_type)
    q = (q or "").strip()
    if q:
        qs = qs.filter(_text_q(q, ("name", "household__address"), ("id_number",), ("phone",)))
    return qs


def search_households(user, q: str = "", area: Area | None = None) -> QuerySet[Household]:
    """Households visible to `user`, optionally under `area`, matching `q`: part of the
    address or contact name, the exact contact phone, or its last four digits."""
    qs = in_areas(Household.objects.visible_to(user), user, area)
    qs = qs.select_related("area", "building")
    q = (q or "").strip()
    if q:
        qs = qs.filter(_text_q(q, ("address", "contact_name"), (), ("contact_phone",)))
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
