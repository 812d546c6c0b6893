"""Handling units (a 3-level hierarchy), the areas they cover, and the dispatch catalogue\n(派单目录: category x area -> unit)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.choices import UnitKind
from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases.catalogue.categories import _raise
from civicgrid.cases.catalogue.common import (
    CODE_RE,
    MAX_UNIT_DEPTH,
    Action,
    _covers_all,
    _require,
    _require_area,
)
from civicgrid.cases.models import (
    Category,
    DispatchRule,
)
from civicgrid.core import audit
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of

# --- handling units --------------------------------------------------------------------------


def unit_depth(unit: Unit | None) -> int:
    """1 for a top unit, 2 for its sub-unit, and so on (0 for None)."""
    depth = 0
    while unit is not None:
        depth += 1
        unit = unit.parent
    return depth


def units_below(unit: Unit) -> list[Unit]:
    """The unit's sub-units at every depth (the hierarchy is at most 3 deep)."""
    found, frontier = [], [unit]
    while frontier:
        children = list(Unit.objects.filter(parent__in=frontier))
        found.extend(children)
        frontier = children
    return found


@transaction.atomic
def create_unit(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    areas: Iterable[Area] = (),
) -> Unit:
    """A handling unit under `parent` (3 levels at most) covering `areas` (in the actor's
    scope)."""
    _require(actor)
    code, name, areas = code.strip(), name.strip(), list(areas)
    errors = {}
    if not code or len(code) > 32 or not CODE_RE.match(code):
        errors["code"] = _("A code is up to 32 letters, digits, dots, dashes or underscores.")
    elif Unit.objects.filter(code=code).exists():
        errors["code"] = _("A unit with this code exists already.")
    if not name or len(name) > 100:
        errors["name"] = _("Give the unit a name of at most 100 characters.")
    elif Unit.objects.filter(parent=parent, name=name).exists():
        errors["name"] = _("A unit of this name exists already at this place.")
    if kind not in UnitKind.values:
        errors["kind"] = _("Choose a kind of unit.")
    if parent is not None and unit_depth(parent) >= MAX_UNIT_DEPTH:
        errors["parent"] = _("Units are at most 3 levels deep.")
    if not _covers_all(actor, areas):
        errors["areas"] = _("Choose areas in your scope.")
    _raise(errors)
    unit = Unit.objects.create(code=code, name=name, kind=kind, parent=parent)
    if areas:
        unit.areas.set(areas)
    audit.record(
        actor,
        Action.CREATE,
        unit,
        fields={
            "kind": kind,
            "parent": parent.code if parent else None,
            "areas": [a.code for a in areas],
        },
    )
    return unit


@transaction.atomic
def set_unit_areas(unit: Unit, areas: Iterable[Area], *, actor) -> Unit:
    """Replace the areas `unit` covers (the areas its handlers see)."""
    _require(actor)
    areas = list(areas)
    if not _covers_all(actor, areas):
        raise ServiceError(_("Choose areas in your scope."), "areas")
    before = sorted(unit.areas.values_list("code", flat=True))
    unit.areas.set(areas)
    audit.record(
        actor,
        Action.UPDATE,
        unit,
        fields={"areas": sorted(a.code for a in areas), "before": before},
    )
    return unit


# --- the dispatch catalogue ------------------------------------------------------------------


def unit_covers(unit: Unit, area: Area) -> bool:
    """True when the unit covers `area` (one of its areas is the area or above it)."""
    return any(area.path.startswith(a.path) for a in unit.areas.all())


@transaction.atomic
def set_dispatch_rule(
    *, actor, category: Category, area: Area, unit: Unit, auto_dispatch: bool = False
) -> DispatchRule:
    """Say that `unit` handles `category` in `area` (created, or its auto-dispatch flag
    changed). Two rules at the same closeness make routing ambiguous on purpose: a dispatcher
    then chooses."""
    _require(actor)
    errors = {}
    if not _covers_all(actor, [area]):
        errors["area"] = _("Choose an area in your scope.")
    elif area.valid_to is not None:
        errors["area"] = _("This area no longer exists.")
    if not category.is_active:
        errors["category"] = _("This category is not in use.")
    if not unit.is_active:
        errors["unit"] = _("This unit is not active.")
    elif "area" not in errors and not unit_covers(unit, area):
        errors["unit"] = _("%(unit)s does not cover %(area)s.") % {"unit": unit, "area": area.name}
    _raise(errors)
    rule, created = DispatchRule.objects.select_for_update().get_or_create(
        category=category, area=area, unit=unit, defaults={"auto_dispatch": auto_dispatch}
    )
    if not created and rule.auto_dispatch == auto_dispatch:
        return rule
    if not created:
        rule.auto_dispatch = auto_dispatch
        rule.save(update_fields=["auto_dispatch"])
    audit.record(
        actor,
        Action.CREATE if created else Action.UPDATE,
        rule,
        area_path=area.path,
        fields={
            "category": category.code,
            "area": area.code,
            "unit": unit.code,
            "auto_dispatch": auto_dispatch,
        },
    )
    return rule


@transaction.atomic
def remove_dispatch_rule(rule: DispatchRule, *, actor) -> None:
    _require(actor)
    rule = DispatchRule.objects.select_related("area", "category", "unit").get(pk=rule.pk)
    _require_area(actor, rule.area)
    audit.record(
        actor,
        Action.DELETE,
        rule,
        area_path=rule.area.path,
        fields={"category": rule.category.code, "area": rule.area.code, "unit": rule.unit.code},
    )
    rule.delete()


def rules_visible_to(user):
    """Dispatch rules on areas in the user's scope (the catalogue page, the admin)."""
    from civicgrid.core.scoping import scope_filter

    rows = DispatchRule.objects.select_related("category", "area", "unit")
    q = scope_filter(scope_of(user), "area__path")
    return rows if q is None else rows.filter(q)
