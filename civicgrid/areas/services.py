"""Audited writes to the area tree. Every change bumps the area revision (the locator's cue)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from civicgrid.areas import locator
from civicgrid.areas.choices import ALLOWED_CHILDREN, ChangeKind, GridLayer, Level
from civicgrid.areas.geometry import GeometryError, parse_geometry, size_m2
from civicgrid.areas.models import Area, AreaChange, AreaParentLink, AreaRevision
from civicgrid.core import audit, clock
from civicgrid.core.errors import ServiceError


class AreaError(ServiceError):
    """A change to the tree we refuse; `field` names the input at fault when there is one."""


def bump_revision() -> None:
    """Advance the area revision inside the current transaction; invalidate on commit."""
    updated = AreaRevision.objects.filter(pk=1).update(value=F("value") + 1)
    if not updated:
        AreaRevision.objects.get_or_create(pk=1, defaults={"value": 1})
    transaction.on_commit(locator.invalidate)


def apply_geometry(area: Area, geojson: dict | None) -> None:
    """Validate `geojson` and set the area's boundary and cached bbox/size (not saved)."""
    if geojson is None:
        area.geometry = None
        area.min_lon = area.min_lat = area.max_lon = area.max_lat = area.size_m2 = None
        return
    geom = parse_geometry(geojson)
    area.geometry = geojson.get("geometry") if geojson.get("type") == "Feature" else geojson
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = geom.bounds
    area.size_m2 = size_m2(geom)


def _check_level(parent: Area | None, level: str) -> None:
    if level not in Level.values:
        raise AreaError(f"Unknown level {level!r}.", "level")
    if parent is None:
        if level not in (Level.PROVINCE, Level.CITY, Level.DISTRICT):
            raise AreaError(f"A {level} needs a parent area.", "parent")
        return
    if parent.valid_to is not None:
        raise AreaError(f"{parent.name} is retired; choose a current parent.", "parent")
    if level not in ALLOWED_CHILDREN[parent.level]:
        raise AreaError(f"A {level} cannot sit under a {parent.level} ({parent.name}).", "parent")


def _set_path(area: Area) -> None:
    prefix = area.parent.path if area.parent_id else "/"
    area.path = f"{prefix}{area.pk}/"
    area.depth = area.path.count("/") - 2


@transaction.atomic
def create_area(
    *,
    actor,
    name: str,
    level: str,
    code: str,
    parent: Area | None = None,
    geometry: dict | None = None,
    layer: str = GridLayer.SERVICE,
    priority: int = 0,
    valid_from: dt.date | None = None,
    check_containment: bool = True,
    record_audit: bool = True,
) -> Area:
    """Create an area under `parent`, validating level, uniqueness and geometry."""
    name = (name or "").strip()
    code = (code or "").strip()
    if not name:
        raise AreaError("Name is required.", "name")
    if not code:
        raise AreaError("Code is required.", "code")
    if layer not in GridLayer.values:
        raise AreaError(f"Unknown grid type {layer!r}.", "layer")
    _check_level(parent, level)
    if Area.objects.filter(code=code).exists():
        raise AreaError(f"Code {code} is already used.", "code")
    if Area.objects.current().filter(parent=parent, name=name).exists():
        raise AreaError(f"{parent or 'The top level'} already has an area named {name}.", "name")
    area = Area(
        name=name,
        code=code,
        level=level,
        layer=layer,
        parent=parent,
        priority=priority,
        valid_from=valid_from or clock.today(),
        path="/",
    )
    try:
        apply_geometry(area, geometry)
    except GeometryError as exc:
        raise AreaError(str(exc), "geometry") from None
    if check_containment and geometry is not None and parent is not None:
        from civicgrid.areas.validation import check_inside_parent

        problem = check_inside_parent(area, parent)
        if problem:
            raise AreaError(problem, "geometry")
    area.save()
    _set_path(area)
    area.save(update_fields=["path", "depth"])
    AreaParentLink.objects.create(area=area, parent=parent, valid_from=area.valid_from)
    bump_revision()
    if record_audit:
        audit.record(
            actor,
            audit.AuditEntry.Action.CREATE,
            area,
            fields={"code": code, "level": level, "parent": parent.code if parent else None},
        )
        change = AreaChange.objects.create(
            kind=ChangeKind.CREATE,
            effective_date=area.valid_from,
            actor=_user(actor),
            description=f"{level} {code} {name}",
        )
        change.targets.add(area)
    return area


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
