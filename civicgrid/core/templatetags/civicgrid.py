"""Template helpers: capability checks on the scope, status badges, area labels."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from civicgrid.areas.choices import Level
from civicgrid.core.scoping import Scope

register = template.Library()

# What the locator's status words mean to a person reading the panel.
LOCATE_STATUS = {
    "inside": _("Inside the grid"),
    "overlap": _("Inside overlapping grids"),
    "nearest": _("Nearest grid (in a gap)"),
    "outside": _("Outside every grid"),
}


@register.filter
def can(scope: Scope | None, capability: str) -> bool:
    """`{% if scope|can:"registry.reveal" %}`: the capability table decides, not role names."""
    return bool(scope) and scope.can(capability)


@register.filter
def level_label(level: str) -> str:
    """The translated name of an area level code (`grid` -> 网格)."""
    try:
        return Level(level).label
    except ValueError:
        return level


@register.filter
def locate_status(status: str) -> str:
    return LOCATE_STATUS.get(status, status)


@register.filter
def percent_of(part, whole) -> int:
    """Integer percentage for bar widths; 0 when the whole is 0."""
    try:
        return round(100 * float(part) / float(whole)) if float(whole) else 0
    except (TypeError, ValueError):
        return 0


def _choice_tables() -> dict:
    # Imported late: core must not import the registry at module load (app registry order).
    from civicgrid.areas.choices import GridLayer
    from civicgrid.registry.choices import (
        ELDERLY_TAG,
        Gender,
        GridPost,
        HouseholdType,
        ImportStatus,
        PopulationType,
        Relation,
        ResidentTag,
    )

    tags = dict(ResidentTag.choices)
    tags[ELDERLY_TAG] = _("Aged 60 and over")
    return {
        "gender": dict(Gender.choices),
        "relation": dict(Relation.choices),
        "population_type": dict(PopulationType.choices),
        "household_type": dict(HouseholdType.choices),
        "tag": tags,
        "post": dict(GridPost.choices),
        "import_status": dict(ImportStatus.choices),
        "layer": dict(GridLayer.choices),
    }


@register.filter
def label(code: str, kind: str) -> str:
    """The translated label of a stored code: `{{ row.gender|label:"gender" }}`."""
    return _choice_tables().get(kind, {}).get(code, code)


@register.inclusion_tag("core/_breadcrumb.html", takes_context=True)
def area_breadcrumb(context, area, current=None):
    """The area's chain from the top down; links only to areas the user may open."""
    from civicgrid.areas.selectors import chain_of

    scope = context.get("scope") or Scope()
    may_open = scope.can("areas.view")
    crumbs = [{"area": a, "link": may_open and scope.covers_path(a.path)} for a in chain_of(area)]
    return {"crumbs": crumbs, "current": current}
