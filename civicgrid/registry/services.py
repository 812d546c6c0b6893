"""Audited writes to the registry (人地事物组织): buildings, households, residents, places,
facilities, organisations and grid staffing, plus the audited reveal of personal data.

Every function runs in one transaction, checks the actor's capability and area scope, and
writes its audit row in that same transaction, so a write without its audit row cannot exist.
Bad input raises `ServiceError` (with `field` and `errors`); a missing capability or an area
outside the actor's scope raises `PermissionDeniedError`. `actor=None` means the system itself
(demo loader, an operator's management command): capability checks are skipped, validation
is not.

The `clean_*` helpers are shared with the spreadsheet importer, so a row in a file and a form
on a page are held to the same rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from civicgrid.areas import locator
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.core import audit, clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.masking import mask_id_number, mask_name, mask_phone
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of
from civicgrid.registry.choices import (
    ELDERLY_TAG,
    GridPost,
    HouseholdType,
    OrganizationKind,
    OrganizationRating,
    PlaceKind,
    PopulationType,
    Relation,
    ResidentTag,
)
from civicgrid.registry.idnumbers import (
    InvalidIdentifier,
    normalise_phone,
    parse_id_number,
    validate_credit_code,
)
from civicgrid.registry.models import (
    Building,
    Facility,
    GridAssignment,
    Household,
    Organization,
    Place,
    Resident,
)

Action = AuditEntry.Action

# Which levels may hold a household: its grid, or its community while it is not yet placed in
# a grid (the coverage report lists those until someone places them).
HOUSEHOLD_LEVELS = (Level.GRID, Level.COMMUNITY)
# Residents may also sit at a zone or estate when the town uses 5-level grids.
RESIDENT_LEVELS = (Level.GRID, Level.COMMUNITY, Level.ZONE, Level.ESTATE)

# Fields shown only masked in the audit log: auditors read the log, and they may not see
# personal data either.
_MASKERS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "contact_phone": mask_phone,
    "name": mask_name,
    "contact_name": mask_name,
}


# --- permission checks -------------------------------------------------------------------


def check_capability(actor, capability: str, *areas: Area | None) -> None:
    """Refuse unless `actor` holds `capability` over every one of `areas` (None is skipped).

    `actor=None` is the system and passes.
    """
    if actor is None:
        return
    scope = scope_of(actor)
    if not scope.can(capability):
        raise PermissionDeniedError(_("Your role may not do this (needs %s).") % capability)
    for area in areas:
        if area is not None and not scope.covers_path(area.path, capability):
            raise PermissionDeniedError(_("%s is outside your area.") % area.name, "area")


def _raise_errors(errors: dict[str, str]) -> None:
    """Raise one ServiceError carrying every field message (the first one as its message)."""
    if errors:
        first = next(iter(errors))
        raise ServiceError(errors[first], first, errors)


def _audit_value(name: str, value):
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Area | Household | Building):
        return value.pk
    if isinstance(value, dt.date):
        return value.isoformat()
    masker = _MASKERS.get(name)
    return masker(str(value)) if masker else str(value)


def _audit_fields(values: dict) -> dict:
    return {k: _audit_value(k, v) for k, v in values.items()}


def _changes(instance, cleaned: dict) -> dict[str, list]:
    """{field: [old, new]} for the fields `cleaned` changes on `instance`, masked for audit."""
    changes = {}
    for name, new in cleaned.items():
        old = getattr(instance, name)
        if old != new:
            changes[name] = [_audit_value(name, old), _audit_value(name, new)]
    return changes


# --- shared cleaning (services and importer) ---------------------------------------------


def clean_text(value, field: str, *, max_length: int, required: bool = False) -> str:
    """Strip `value`; refuse it when required and blank, or when longer than `max_length`."""
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ServiceError(_("This field is required."), field)
    if len(text) > max_length:
        raise ServiceError(_("At most %d characters.") % max_length, field)
    return text


def clean_phone(value, field: str = "phone") -> str:
    """A mobile or landline number, normalised; "" when blank."""
    try:
        return normalise_phone("" if value is None else str(value))
    except InvalidIdentifier as exc:
        raise ServiceError(_(str(exc)), field) from None


def clean_choice(value, choices, field: str, default: str | None = None) -> str:
    """One of the codes of a TextChoices class (`default` when blank)."""
    text = "" if value is None else str(value).strip()
    if not text and default is not None:
        return default
    if text not in choices.values:
        raise ServiceError(
            _("Unknown value %(value)r; allowed: %(allowed)s.")
            % {"value": text, "allowed": ", ".join(choices.values)},
            field,
        )
    return text


def clean_tags(tags: Iterable[str] | str | None) -> str:
    """Validate resident tag codes; return the comma-wrapped column value (",a,b," or "").

    `elderly_60` is derived from the birth date and refused here, so it can never go stale.
    """
    if isinstance(tags, str):
        tags = tags.split(",")
    wanted = {str(t).strip() for t in tags or () if str(t).strip()}
    if ELDERLY_TAG in wanted:
        raise ServiceError(
            _("The 60+ group is derived from the birth date; do not store it as a tag."), "tags"
        )
    unknown = wanted - set(ResidentTag.values)
    if unknown:
        raise ServiceError(
            _("Unknown tags: %s.") % ", ".join(sorted(unknown)),
            "tags",
        )
    ordered = [t for t in ResidentTag.values if t in wanted]
    return f",{','.join(ordered)}," if ordered else ""


def clean_id_number(value, today: dt.date | None = None) -> tuple[str, dt.date, str]:
    """(normalised ID number, birth date, gender) from a GB 11643 ID number."""
    try:
        return parse_id_number("" if value is None else str(value), today)
    except InvalidIdentifier as exc:
        raise ServiceError(_(str(exc)), "id_number") from None


def clean_address(value, field: str = "address", *, max_length: int = 255) -> str:
    """An address as it is stored and compared: full-width folded, no whitespace."""
    text = locator.normalise_address(clean_text(value, field, max_length=max_length * 2))
    if not text:
        raise ServiceError(_("This field is required."), field)
    if len(text) > max_length:
        raise ServiceError(_("At most %d characters.") % max_length, field)
    return text


def _current_area(area: Area | None, field: str, levels: Iterable[str]) -> Area:
    if area is None:
        raise ServiceError(_("This field is required."), field)
    if area.valid_to is not None:
        raise ServiceError(_("%s is retired; choose a current area.") % area.name, field)
    if area.level not in levels:
        raise ServiceError(
            _("%(name)s is a %(level)s; expected %(levels)s.")
            % {"name": area.name, "level": area.level, "levels": " / ".join(levels)},
            field,
        )
    return area


def _coordinates(lat, lon) -> tuple[float | None, float | None]:
    if lat is None and lon is None:
        return None, None
    if lat is None or lon is None:
        raise ServiceError(_("Give both latitude and longitude, or neither."), "lat")
    lat, lon = float(lat), float(lon)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ServiceError(_("Coordinates out of range."), "lat")
    return lat, lon


def _grid_at(grid: Area | None, lat: float | None, lon: float | None) -> Area:
    """`grid` when given, else the grid the point lies in (the locator's answer)."""
    if grid is None:
        if lat is None:
            raise ServiceError(_("Choose a grid or give the coordinates."), "grid")
        found = locator.locate(lat, lon)
        if found.grid is None:
            raise ServiceError(_("The point lies outside every grid."), "lat")
        grid = Area.objects.get(pk=found.grid.id)
    return _current_area(grid, "grid", (Level.GRID,))


# --- buildings ---------------------------------------------------------------------------


@transaction.atomic
def create_building(
    *,
    actor,
    grid: Area | None = None,
    address: str,
    estate: str = "",
    number: str = "",
    floors: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Building:
    """Register a building (楼栋). Without `grid`, the grid is found from `lat`/`lon`.

    The address is stored normalised (see `locator.normalise_address`), which is how the
    address locator and the household import look buildings up; it must be unique.
    """
    lat, lon = _coordinates(lat, lon)
    grid = _grid_at(grid, lat, lon)
    check_capability(actor, "registry.edit", grid)
    address = clean_address(address, max_length=200)
    if floors is not None and not (0 < int(floors) < 300):
        raise ServiceError(_("Floors must be between 1 and 299."), "floors")
    if Building.objects.filter(address=address).exists():
        raise ServiceError(_("A building with this address is already registered."), "address")
    building = Building.objects.create(
        grid=grid,
        address=address,
        estate=clean_text(estate, "estate", max_length=100),
        number=clean_text(number, "number", max_length=32),
        floors=floors,
        lat=lat,
        lon=lon,
    )
    audit.record(actor, Action.CREATE, building, fields={"grid": grid.code})
    return building


# --- households --------------------------------------------------------------------------


def _clean_household(values: dict, *, instance: Household | None = None) -> dict:
    """Validate the full state of a household; return the cleaned field values."""
    errors: dict[str, str] = {}
    cleaned: dict = {}
    building = values.get("building")
    area = values.get("area")
    if building is not None:
        if area is not None and area.pk != building.grid_id:
            errors["area"] = _("The household's grid is its building's grid (%s).") % (
                building.grid.name
            )
        area = building.grid
    cleaned["building"] = building
    for name, max_length in (("entrance", 16), ("room", 16), ("contact_name", 64)):
        try:
            cleaned[name] = clean_text(values.get(name), name, max_length=max_length)
        except ServiceError as exc:
            errors.update(exc.errors)
    steps = [
        ("area", lambda: _current_area(area, "area", HOUSEHOLD_LEVELS)),
        ("contact_phone", lambda: clean_phone(values.get("contact_phone"), "contact_phone")),
        (
            "household_type",
            lambda: clean_choice(
                values.get("household_type"), HouseholdType, "household_type", HouseholdType.OWNER
            ),
        ),
    ]
    address = values.get("address")
    if building is not None and not (address or "").strip():
        # A flat in a known building is addressed by the building, entrance and room.
        address = f"{building.address}{cleaned.get('entrance', '')}{cleaned.get('room', '')}"
    steps.append(("address", lambda: clean_address(address)))
    for name, step in steps:
        try:
            cleaned[name] = step()
        except ServiceError as exc:
            errors.update(exc.errors or {name: exc.message})
    if building is not None and "room" in cleaned and not errors:
        clash = Household.objects.filter(
            building=building, entrance=cleaned["entrance"], room=cleaned["room"]
        )
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["room"] = _("This room of the building is already registered.")
    _raise_errors(errors)
    return cleaned


@transaction.atomic
def create_household(
    *,
    actor,
    area: Area | None = None,
    address: str = "",
    building: Building | None = None,
    entrance: str = "",
    room: str = "",
    household_type: str = HouseholdType.OWNER,
    contact_name: str = "",
    contact_phone: str = "",
) -> Household:
    """Register a household. `area` is its grid, or its community when it is not yet placed
    in a grid; with a `building`, the area is the building's grid and `area` may be omitted.
    Without an address, a household in a building is addressed as building+entrance+room."""
    check_capability(actor, "registry.edit", building.grid if building is not None else area)
    cleaned = _clean_household(
        {
            "area": area,
            "address": address,
            "building": building,
            "entrance": entrance,
            "room": room,
            "household_type": household_type,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
        }
    )
    check_capability(actor, "registry.edit", cleaned["area"])
    household = Household.objects.create(**cleaned)
    audit.record(actor, Action.CREATE, household, fields=_audit_fields(cleaned))
    return household


HOUSEHOLD_FIELDS = (
    "area",
    "address",
    "building",
    "entrance",
    "room",
    "household_type",
    "contact_name",
    "contact_phone",
)


@transaction.atomic
def update_household(household: Household, *, actor, **fields) -> Household:
    """Change any of HOUSEHOLD_FIELDS. Moving the household to another area (placing it in a
    grid) moves its residents with it, in the same transaction."""
    unknown = set(fields) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise ServiceError(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    household = Household.objects.select_for_update().select_related("area").get(pk=household.pk)
    check_capability(actor, "registry.edit", household.area)
    values = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS}
    values.update(fields)
    if fields.get("building") is not None and "area" not in fields:
        values["area"] = None  # the household follows its new building's grid
    for new in (fields.get("area"), getattr(fields.get("building"), "grid", None)):
        check_capability(actor, "registry.edit", new)
    cleaned = _clean_household(values, instance=household)
    check_capability(actor, "registry.edit", cleaned["area"])
    changes = _changes(household, cleaned)
    if not changes:
        return household
    for name, value in cleaned.items():
        setattr(household, name, value)
    household.save()
    if "area" in changes:
        Resident.objects.filter(household=household).update(area=household.area)
    audit.record(actor, Action.UPDATE, household, fields=changes)
    return household


# --- residents ---------------------------------------------------------------------------


RESIDENT_FIELDS = (
    "name",
    "id_number",
    "phone",
    "relation",
    "population_type",
    "tags",
    "ethnicity",
    "arrived_on",
)


def _clean_resident(values: dict, *, instance: Resident | None = None) -> dict:
    """Validate the personal fields of a resident; every bad field is reported at once."""
    errors: dict[str, str] = {}
    cleaned: dict = {}

    def step(name, fn):
        try:
            cleaned[name] = fn()
        except ServiceError as exc:
            errors.update(exc.errors or {name: exc.message})

    step("name", lambda: clean_text(values.get("name"), "name", max_length=64, required=True))
    step("phone", lambda: clean_phone(values.get("phone"), "phone"))
    step(
        "relation",
        lambda: clean_choice(values.get("relation"), Relation, "relation", Relation.OTHER),
    )
    step(
        "population_type",
        lambda: clean_choice(
            values.get("population_type"),
            PopulationType,
            "population_type",
            PopulationType.REGISTERED,
        ),
    )
    step("tags", lambda: clean_tags(values.get("tags")))
    step("ethnicity", lambda: clean_text(values.get("ethnicity"), "ethnicity", max_length=16))
    arrived_on = values.get("arrived_on")
    if arrived_on is not None and not isinstance(arrived_on, dt.date):
        errors["arrived_on"] = _("Give a date.")
    elif arrived_on is not None and arrived_on > clock.today():
        errors["arrived_on"] = _("The arrival date lies in the future.")
    cleaned["arrived_on"] = arrived_on
    try:
        number, birth, gender = clean_id_number(values.get("id_number"))
    except ServiceError as exc:
        errors.update(exc.errors)
    else:
        cleaned.update(id_number=number, birth_date=birth, gender=gender)
        duplicate = Resident.objects.filter(id_number=number)
        if instance is not None:
            duplicate = duplicate.exclude(pk=instance.pk)
        if duplicate.exists():
            # Said the same way whether or not the other record is in the actor's scope.
            errors["id_number"] = _("A resident with this ID number is already registered.")
    _raise_errors(errors)
    return cleaned


def _save_unique(obj) -> None:
    """Save, turning a lost race on a unique column into the same message as the check."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ServiceError(
            _("A resident with this ID number is already registered."), "id_number"
        ) from None


@transaction.atomic
def create_resident(
    *,
    actor,
    name: str,
    id_number: str,
    household: Household | None = None,
    area: Area | None = None,
    phone: str = "",
    relation: str = Relation.OTHER,
    population_type: str = PopulationType.REGISTERED,
    tags: Iterable[str] = (),
    ethnicity: str = "",
    arrived_on: dt.date | None = None,
) -> Resident:
    """Register a resident. Birth date and gender come from the ID number (GB 11643), which
    must be unique. The area is the household's; without a household, give `area` (the
    coverage report lists residents without a household until they are moved into one)."""
    if household is not None:
        if area is not None and area.pk != household.area_id:
            raise ServiceError(_("A resident lives in the area of their household."), "area")
        area = household.area
    area = _current_area(area, "area", RESIDENT_LEVELS)
    check_capability(actor, "registry.edit", area)
    cleaned = _clean_resident(
        {
            "name": name,
            "id_number": id_number,
            "phone": phone,
            "relation": relation,
            "population_type": population_type,
            "tags": tags,
            "ethnicity": ethnicity,
            "arrived_on": arrived_on,
        }
    )
    resident = Resident(area=area, household=household, **cleaned)
    _save_unique(resident)
    audit.record(actor, Action.CREATE, resident, fields=_audit_fields(cleaned))
    return resident


@transaction.atomic
def update_resident(resident: Resident, *, actor, **fields) -> Resident:
    """Change any of RESIDENT_FIELDS (`tags` as a list of codes). A corrected ID number
    re-derives the birth date and gender. Use `move_resident` to change the household."""
    unknown = set(fields) - set(RESIDENT_FIELDS)
    if unknown:
        raise ServiceError(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    resident = Resident.objects.select_for_update().select_related("area").get(pk=resident.pk)
    check_capability(actor, "registry.edit", resident.area)
    values = {name: getattr(resident, name) for name in RESIDENT_FIELDS}
    values.update(fields)
    cleaned = _clean_resident(values, instance=resident)
    changes = _changes(resident, cleaned)
    if not changes:
        return resident
    for name, value in cleaned.items():
        setattr(resident, name, value)
    _save_unique(resident)
    audit.record(actor, Action.UPDATE, resident, fields=changes)
    return resident


@transaction.atomic
def move_resident(resident: Resident, household: Household | None, *, actor) -> Resident:
    """Move a resident into `household` (and its area), or out of any household (None: the
    resident stays in their area and shows up in the coverage report)."""
    resident = Resident.objects.select_for_update().select_related("area").get(pk=resident.pk)
    new_area = household.area if household is not None else resident.area
    check_capability(actor, "registry.edit", resident.area, new_area)
    if household is not None:
        _current_area(new_area, "household", RESIDENT_LEVELS)
    old = resident.household_id
    if old == (household.pk if household else None):
        return resident
    resident.household = household
    resident.area = new_area
    resident.save(update_fields=["household", "area"])
    audit.record(
        actor,
        Action.UPDATE,
        resident,
        fields={"household": [old, resident.household_id], "area": new_area.pk},
    )
    return resident


# --- reveal ------------------------------------------------------------------------------


def _check_reveal(model, obj, actor) -> None:
    if not model.objects.visible_to(actor).filter(pk=obj.pk).exists():
        raise Http404  # hidden and missing look the same
    if not scope_of(actor).can("registry.reveal"):
        raise PermissionDeniedError(_("Your role may not see unmasked personal data."))


@transaction.atomic
def reveal_resident(resident: Resident, *, actor, reason: str = "") -> dict:
    """The unmasked ID number, phone and name of one resident, for an actor who may see the
    resident and holds registry.reveal. Every reveal is an audit row (who, whom, when, why).
    Raises Http404 when the resident is not visible to the actor."""
    _check_reveal(Resident, resident, actor)
    fresh = Resident.objects.get(pk=resident.pk)
    audit.record(
        actor,
        Action.REVEAL,
        fresh,
        fields={"fields": ["id_number", "phone", "name"]},
        reason=reason.strip(),
    )
    return {"id_number": fresh.id_number, "phone": fresh.phone, "name": fresh.name}


@transaction.atomic
def reveal_household(household: Household, *, actor, reason: str = "") -> dict:
    """The unmasked contact name and phone of one household; audited like `reveal_resident`."""
    _check_reveal(Household, household, actor)
    fresh = Household.objects.get(pk=household.pk)
    audit.record(
        actor,
        Action.REVEAL,
        fresh,
        fields={"fields": ["contact_name", "contact_phone"]},
        reason=reason.strip(),
    )
    return {"contact_name": fresh.contact_name, "contact_phone": fresh.contact_phone}


# --- grid staffing -----------------------------------------------------------------------


def postable_workers(actor, grid: Area) -> QuerySet:
    """The users `actor` may post to `grid`: active users holding the grid-worker role on the
    grid or on an area above it, where that area lies inside the actor's scope (`actor=None`,
    the system: any of them).

    Posting someone whose role does not cover the grid would give the grid a worker who
    cannot see its households; listing only roles inside the actor's scope keeps the staff
    of other streets out of the pick list. Accounts and roles are given by administrators:
    a worker a community moves between its grids holds the role on the community.
    """
    from civicgrid.accounts.choices import Role
    from civicgrid.accounts.models import User

    areas = Area.objects.filter(pk__in=[*grid.ancestor_ids(), grid.pk], valid_to__isnull=True)
    if actor is not None:
        scope = scope_of(actor)
        areas = [a.pk for a in areas if scope.covers_path(a.path)]
    return (
        User.objects.filter(
            is_active=True,
            role_assignments__role=Role.GRID_WORKER,
            role_assignments__area__in=areas,
        )
        .distinct()
        .order_by("username")
    )


@transaction.atomic
def assign_grid_worker(*, actor, grid: Area, worker, post: str = GridPost.A) -> GridAssignment:
    """Post `worker` to `grid` (A post: patrol and data; B post: specialist). Needs
    staff.assign over the grid, and the worker must be one of `postable_workers(actor, grid)`.
    How many staff a grid should have is the coverage report's business
    (COVERAGE_MIN_STAFF..COVERAGE_MAX_STAFF), not a refusal here."""
    grid = _current_area(grid, "grid", (Level.GRID,))
    check_capability(actor, "staff.assign", grid)
    post = clean_choice(post, GridPost, "post", GridPost.A)
    if worker is None or not worker.is_active:
        raise ServiceError(_("Choose an active user."), "worker")
    if actor is not None and not postable_workers(actor, grid).filter(pk=worker.pk).exists():
        raise ServiceError(
            _("%s holds no grid-worker role over this grid in your area.") % worker, "worker"
        )
    if GridAssignment.objects.filter(grid=grid, worker=worker).exists():
        raise ServiceError(_("%s is already posted to this grid.") % worker, "worker")
    assignment = GridAssignment.objects.create(grid=grid, worker=worker, post=post)
    audit.record(actor, Action.CREATE, assignment, fields={"worker": worker.pk, "post": post})
    return assignment


@transaction.atomic
def unassign_grid_worker(assignment: GridAssignment, *, actor) -> None:
    """End a posting. The audit row keeps who was posted where."""
    check_capability(actor, "staff.assign", assignment.grid)
    audit.record(
        actor,
        Action.DELETE,
        assignment,
        fields={"worker": assignment.worker_id, "post": assignment.post},
    )
    assignment.delete()


# --- places, facilities, organisations ---------------------------------------------------


@transaction.atomic
def create_organization(
    *,
    actor,
    area: Area,
    name: str,
    kind: str,
    credit_code: str | None = None,
    rating: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> Organization:
    """Register an organisation in any current area. The unified social credit code is
    checked (GB 32100) and unique; ratings (5A..1A) are for social organisations only."""
    area = _current_area(area, "area", Level.values)
    check_capability(actor, "registry.edit", area)
    errors: dict[str, str] = {}
    values: dict = {}
    for field, fn in (
        ("name", lambda: clean_text(name, "name", max_length=150, required=True)),
        ("kind", lambda: clean_choice(kind, OrganizationKind, "kind")),
        ("rating", lambda: clean_choice(rating, OrganizationRating, "rating", "")),
        ("contact_name", lambda: clean_text(contact_name, "contact_name", max_length=64)),
        ("contact_phone", lambda: clean_phone(contact_phone, "contact_phone")),
    ):
        try:
            values[field] = fn()
        except ServiceError as exc:
            errors.update(exc.errors)
    code = (credit_code or "").strip() or None
    if code is not None:
        try:
            code = validate_credit_code(code)
        except InvalidIdentifier as exc:
            errors["credit_code"] = _(str(exc))
        else:
            if Organization.objects.filter(credit_code=code).exists():
                errors["credit_code"] = _("An organisation with this credit code is registered.")
    if values.get("rating") and values.get("kind") != OrganizationKind.SOCIAL:
        errors["rating"] = _("Only social organisations are rated (5A..1A).")
    _raise_errors(errors)
    organization = Organization.objects.create(area=area, credit_code=code, **values)
    audit.record(actor, Action.CREATE, organization, fields=_audit_fields(values))
    return organization


@transaction.atomic
def create_place(
    *,
    actor,
    name: str,
    kind: str,
    grid: Area | None = None,
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> Place:
    """Register a place (地: school, market, site). Without `grid`, it is located from lat/lon."""
    lat, lon = _coordinates(lat, lon)
    grid = _grid_at(grid, lat, lon)
    check_capability(actor, "registry.edit", grid)
    place = Place.objects.create(
        grid=grid,
        name=clean_text(name, "name", max_length=100, required=True),
        kind=clean_choice(kind, PlaceKind, "kind"),
        address=locator.normalise_address(clean_text(address, "address", max_length=200)),
        lat=lat,
        lon=lon,
    )
    audit.record(actor, Action.CREATE, place, fields={"grid": grid.code, "kind": place.kind})
    return place


def _next_facility_code(division: str, category_code: str) -> str:
    prefix = division + category_code
    last = (
        Facility.objects.filter(code__startswith=prefix, code__regex=r"^\d{17}$")
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    return f"{prefix}{int(last[11:]) + 1 if last else 1:06d}"


@transaction.atomic
def create_facility(
    *,
    actor,
    name: str,
    category_code: str,
    grid: Area | None = None,
    code: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> Facility:
    """Register a public fixture (部件). `category_code` is the 5-digit class+item code
    (GB/T 30428.2: 01037 street lamp). The 17-digit `code` (6-digit division + category +
    6-digit sequence) is generated from the grid's division code when not given."""
    lat, lon = _coordinates(lat, lon)
    grid = _grid_at(grid, lat, lon)
    check_capability(actor, "registry.edit", grid)
    category_code = (category_code or "").strip()
    if not (len(category_code) == 5 and category_code.isdigit()):
        raise ServiceError(_("The category code has 5 digits (01037)."), "category_code")
    code = (code or "").strip()
    if not code:
        division = grid.code[:6]
        if not (len(division) == 6 and division.isdigit()):
            raise ServiceError(_("Give the facility code (17 digits)."), "code")
        code = _next_facility_code(division, category_code)
    elif not (len(code) == 17 and code.isdigit() and code[6:11] == category_code):
        raise ServiceError(
            _("The facility code has 17 digits: division (6) + category (5) + sequence (6)."),
            "code",
        )
    if Facility.objects.filter(code=code).exists():
        raise ServiceError(_("A facility with this code is already registered."), "code")
    facility = Facility.objects.create(
        grid=grid,
        code=code,
        category_code=category_code,
        name=clean_text(name, "name", max_length=100, required=True),
        lat=lat,
        lon=lon,
    )
    audit.record(actor, Action.CREATE, facility, fields={"grid": grid.code, "code": code})
    return facility
