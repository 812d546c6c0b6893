"""Unsaved registry rows for bulk insertion, held to the same rules as every other write.

The demo bypasses the per-row services for speed (they write an audit row each), but not
their validation: every value goes through the registry services' `clean_*` helpers, the
ones forms and the spreadsheet importer use, and the cleaned value is what gets stored.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from civicgrid.core.errors import ServiceError
from civicgrid.demo.people import Person
from civicgrid.registry import services
from civicgrid.registry.choices import (
    GridPost,
    HouseholdType,
    OrganizationKind,
    OrganizationRating,
    PlaceKind,
    PopulationType,
    Relation,
)
from civicgrid.registry.idnumbers import InvalidIdentifier, validate_credit_code
from civicgrid.registry.models import (
    Building,
    Facility,
    GridAssignment,
    Household,
    Organization,
    Place,
    Resident,
)


class InvalidDemoRow(ValueError):
    """A generated row broke a registry rule: a bug in the generator or its data files."""


# The choice and tag checks are pure functions of a value drawn from a few dozen, yet each
# call rebuilds the TextChoices value list (~30 µs): checking each distinct value once keeps
# a million residents fast without skipping a single check.
@cache
def _choice(value: str, choices, field: str, default: str | None = None) -> str:
    return services.clean_choice(value, choices, field, default)


@cache
def _tags(tags: str) -> str:
    return services.clean_tags(tags)


def _checked(what: str, fn):
    try:
        return fn()
    except (ServiceError, InvalidIdentifier) as exc:
        raise InvalidDemoRow(f"Generated {what} is invalid: {exc}") from None


def building(
    *, grid_id: int, estate: str, number: str, address: str, floors: int, lat: float, lon: float
) -> Building:
    def clean() -> Building:
        if not 0 < floors < 300:
            raise ServiceError("Floors must be between 1 and 299.", "floors")
        return Building(
            grid_id=grid_id,
            estate=services.clean_text(estate, "estate", max_length=100),
            number=services.clean_text(number, "number", max_length=32),
            address=services.clean_address(address, max_length=200),
            floors=floors,
            lat=lat,
            lon=lon,
        )

    return _checked(f"building {address}", clean)


def household(
    *,
    area_id: int,
    building_id: int | None,
    address: str,
    entrance: str = "",
    room: str = "",
    household_type: str,
    contact_name: str,
    contact_phone: str,
) -> Household:
    def clean() -> Household:
        return Household(
            area_id=area_id,
            building_id=building_id,
            entrance=services.clean_text(entrance, "entrance", max_length=16),
            room=services.clean_text(room, "room", max_length=16),
            address=services.clean_address(address),
            household_type=_choice(household_type, HouseholdType, "household_type"),
            contact_name=services.clean_text(contact_name, "contact_name", max_length=64),
            contact_phone=services.clean_phone(contact_phone, "contact_phone"),
        )

    return _checked(f"household {address}", clean)


def resident(person: Person, *, area_id: int, household_id: int | None, today: dt.date) -> Resident:
    def clean() -> Resident:
        number, birth, gender = services.clean_id_number(person.id_number, today)
        if (birth, gender) != (person.birth_date, person.gender):
            raise ServiceError("The ID number does not match the birth date and gender.")
        return Resident(
            area_id=area_id,
            household_id=household_id,
            name=services.clean_text(person.name, "name", max_length=64, required=True),
            gender=gender,
            id_number=number,
            birth_date=birth,
            ethnicity=services.clean_text(person.ethnicity, "ethnicity", max_length=16),
            phone=services.clean_phone(person.phone),
            relation=_choice(person.relation, Relation, "relation"),
            population_type=_choice(person.population_type, PopulationType, "population_type"),
            tags=_tags(person.tags),
            arrived_on=person.arrived_on,
        )

    return _checked(f"resident {person.id_number}", clean)


def organisation(
    *,
    area_id: int,
    name: str,
    kind: str,
    credit_code: str | None,
    rating: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> Organization:
    def clean() -> Organization:
        kind_ = _choice(kind, OrganizationKind, "kind")
        rating_ = _choice(rating, OrganizationRating, "rating", "")
        if rating_ and kind_ != OrganizationKind.SOCIAL:
            raise ServiceError("Only social organisations are rated (5A..1A).", "rating")
        return Organization(
            area_id=area_id,
            name=services.clean_text(name, "name", max_length=150, required=True),
            kind=kind_,
            credit_code=validate_credit_code(credit_code) if credit_code else None,
            rating=rating_,
            contact_name=services.clean_text(contact_name, "contact_name", max_length=64),
            contact_phone=services.clean_phone(contact_phone, "contact_phone"),
        )

    return _checked(f"organisation {name}", clean)


def place(*, grid_id: int, name: str, kind: str, address: str, lat: float, lon: float) -> Place:
    def clean() -> Place:
        return Place(
            grid_id=grid_id,
            name=services.clean_text(name, "name", max_length=100, required=True),
            kind=_choice(kind, PlaceKind, "kind"),
            address=services.clean_address(address, max_length=200),
            lat=lat,
            lon=lon,
        )

    return _checked(f"place {name}", clean)


def facility(
    *, grid_id: int, code: str, category_code: str, name: str, lat: float, lon: float
) -> Facility:
    def clean() -> Facility:
        if not (len(code) == 17 and code.isdigit() and code[6:11] == category_code):
            raise ServiceError(
                "The facility code has 17 digits: division (6) + category (5) + sequence (6).",
                "code",
            )
        return Facility(
            grid_id=grid_id,
            code=code,
            category_code=category_code,
            name=services.clean_text(name, "name", max_length=100, required=True),
            lat=lat,
            lon=lon,
        )

    return _checked(f"facility {code}", clean)


def grid_assignment(*, grid_id: int, worker_id: int, post: str) -> GridAssignment:
    return _checked(
        f"grid staffing of grid {grid_id}",
        lambda: GridAssignment(
            grid_id=grid_id,
            worker_id=worker_id,
            post=_choice(post, GridPost, "post"),
        ),
    )
