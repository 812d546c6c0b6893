"""Audited writes to the area tree. Every change bumps the area revision (the locator's cue).

Each function runs in one transaction, writes its audit row and its `AreaChange` in it, and
keeps the history the past-period figures rely on: an area is never deleted or moved without
closing its `AreaParentLink` and opening a new one from the effective date (`selectors.members_at`).

Dates: `valid_from` is the first day something holds, `valid_to` the first day it no longer
does. Effective dates may lie in the past (a change recorded late) but not in the future.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

import shapely
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from shapely.geometry import shape

from civicgrid.areas import locator, placement
from civicgrid.areas.choices import ALLOWED_CHILDREN, ChangeKind, GridLayer, Level
from civicgrid.areas.geometry import (
    GeometryError,
    metres_to_degrees,
    parse_geometry,
    size_m2,
    to_geojson,
)
from civicgrid.areas.models import Area, AreaChange, AreaParentLink, AreaRevision
from civicgrid.core import audit, clock
from civicgrid.core.errors import ServiceError


class AreaError(ServiceError):
    """A change to the tree we refuse; `field` names the input at fault when there is one."""


# Registry rows that point at an area: (model label, field). A merge moves them to the
# surviving area; a split places them; retiring an area is refused while any remain.
REGISTRY_AREA_FIELDS: tuple[tuple[str, str], ...] = (
    ("registry.Building", "grid"),
    ("registry.Household", "area"),
    ("registry.Resident", "area"),
    ("registry.Place", "grid"),
    ("registry.Facility", "grid"),
    ("registry.Organization", "area"),
    ("registry.GridAssignment", "grid"),
)


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()  # "leave the boundary as it is" (None clears it)


def bump_revision() -> None:
    """Advance the area revision inside the current transaction; invalidate on commit.

    On PostgreSQL the UPDATE also locks the revision row until commit, so two tree changes
    never interleave (a re-parent rewriting paths while a merge reads them).

    The step is random, not 1: a process that built its index inside a transaction that was
    then rolled back holds an index for a number no committed change will ever reuse (with
    +1, the next process's commit would produce the same number and the stale index would
    look current).
    """
    step = secrets.randbelow(2**31) + 1
    updated = AreaRevision.objects.filter(pk=1).update(value=F("value") + step)
    if not updated:
        AreaRevision.objects.get_or_create(pk=1, defaults={"value": step})
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
        _record_change(
            ChangeKind.CREATE, area.valid_from, actor, f"{level} {code} {name}", [], [area]
        )
    return area


@transaction.atomic
def update_area(
    area: Area,
    *,
    actor,
    name: str | None = None,
    geometry: dict | None | _Unchanged = UNCHANGED,
    priority: int | None = None,
) -> Area:
    """Rename, reshape or re-prioritise `area`. Arguments left out stay as they are;
    `geometry=None` removes the boundary.

    A new boundary must lie inside the parent and still contain the area's current children
    (within `AREA_CONTAINMENT_TOLERANCE_M`). Nothing is written when nothing changes.
    Returns the saved area (the passed instance is refreshed too).
    """
    bump_revision()
    current = _lock(area)
    _require_current(current)
    changed: dict[str, object] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise AreaError("Name is required.", "name")
        if name != current.name:
            _check_name_free(current.parent, name, exclude=[current.pk])
            changed["name"] = [current.name, name]
            current.name = name
    if priority is not None and priority != current.priority:
        changed["priority"] = [current.priority, int(priority)]
        current.priority = int(priority)
    if geometry is not UNCHANGED and geometry != current.geometry:
        try:
            apply_geometry(current, geometry)
        except GeometryError as exc:
            raise AreaError(str(exc), "geometry") from None
        _check_boundary_fits(current)
        changed["geometry"] = "changed" if geometry is not None else "removed"
    if not changed:
        return current
    current.save()
    today = clock.today()
    if "name" in changed:
        old, new = changed["name"]
        _record_change(ChangeKind.RENAME, today, actor, f"{old} → {new}", [current], [current])
    if "geometry" in changed or "priority" in changed:
        what = ", ".join(k for k in ("geometry", "priority") if k in changed)
        _record_change(
            ChangeKind.RESHAPE, today, actor, f"{current.code}: {what}", [current], [current]
        )
    audit.record(actor, audit.AuditEntry.Action.UPDATE, current, fields=changed)
    area.refresh_from_db()
    return current


@transaction.atomic
def reparent_area(area: Area, new_parent: Area, *, actor, effective_date: dt.date) -> Area:
    """Move `area` (and its whole subtree) under `new_parent` from `effective_date`.

    The old parent link is closed and a new one opened on that day, and the materialised
    path of every descendant is rewritten. Registry rows point at areas, so they follow
    without being touched. Returns the moved area (the passed instance is refreshed too).
    """
    bump_revision()
    current = _lock(area)
    target = _lock(new_parent)
    _require_current(current)
    if target.valid_to is not None:
        raise AreaError(f"{target.name} is retired; choose a current parent.", "parent")
    if target.pk == current.parent_id:
        raise AreaError(f"{current.name} is already under {target.name}.", "parent")
    if target.path.startswith(current.path):
        raise AreaError(f"{target.name} lies inside {current.name}.", "parent")
    _check_level(target, current.level)
    _check_date(effective_date, [_open_link(current).valid_from, target.valid_from])
    _check_name_free(target, current.name)
    from civicgrid.areas.validation import check_inside_parent

    problem = check_inside_parent(current, target)
    if problem:
        raise AreaError(problem, "parent")
    old_parent = current.parent
    _move(current, target, effective_date)
    _record_change(
        ChangeKind.REPARENT,
        effective_date,
        actor,
        f"{current.code} {current.name}: {old_parent.code if old_parent else '-'} → {target.code}",
        [current],
        [current],
    )
    audit.record(
        actor,
        audit.AuditEntry.Action.CHANGE,
        current,
        fields={
            "kind": ChangeKind.REPARENT,
            "from": old_parent.code if old_parent else None,
            "to": target.code,
            "effective_date": effective_date.isoformat(),
        },
    )
    area.refresh_from_db()
    return current


@transaction.atomic
def merge_areas(
    sources: list[Area],
    *,
    into_name: str,
    into_code: str,
    actor,
    effective_date: dt.date,
) -> Area:
    """Merge sibling areas into one from `effective_date` and return it.

    When `into_code` is the code of one of the sources, that source survives: it takes the
    name `into_name` and the union of the boundaries, and absorbs the others. Otherwise a new
    area with that code is created under the same parent and every source is retired.
    Retired sources get `valid_to=effective_date` and `successor` = the result; their current
    children are re-parented into it (a child whose name is taken there gets its old
    parent's name in brackets: 第1网格（A2社区）) and registry rows pointing at them (buildings,
    households, residents, places, facilities, organisations, staffing) move to it. So do the
    role assignments on them, so their staff keep their view (a role on a retired area grants
    nothing), and handling units covering a source cover the result too.
    Sources must be current, of the same level and grid layer, and under the same parent.
    """
    bump_revision()
    unique_ids = sorted({s.pk for s in sources})
    if len(unique_ids) < 2:
        raise AreaError("Choose at least two areas to merge.", "sources")
    rows = list(Area.objects.select_for_update().filter(pk__in=unique_ids).order_by("code"))
    for row in rows:
        _require_current(row, field="sources")
    if len({(r.level, r.layer) for r in rows}) > 1:
        raise AreaError("Only areas of the same level and grid type can be merged.", "sources")
    if len({r.parent_id for r in rows}) > 1:
        raise AreaError(
            "Only areas under the same parent can be merged; re-parent them first.", "sources"
        )
    into_name = (into_name or "").strip()
    into_code = (into_code or "").strip()
    if not into_name:
        raise AreaError("Name is required.", "into_name")
    if not into_code:
        raise AreaError("Code is required.", "into_code")
    survivor = next((r for r in rows if r.code == into_code), None)
    if survivor is None and Area.objects.filter(code=into_code).exists():
        raise AreaError(f"Code {into_code} is already used.", "into_code")
    parent = rows[0].parent
    _check_name_free(parent, into_name, exclude=unique_ids, field="into_name")
    children = list(Area.objects.current().filter(parent_id__in=unique_ids))
    floors = [r.valid_from for r in rows] + [_open_link(c).valid_from for c in children]
    _check_date(effective_date, floors)
    retiring = [r for r in rows if r is not survivor]
    geoms = [shape(r.geometry) for r in rows if r.geometry]
    union = to_geojson(shapely.unary_union(geoms)) if geoms else None

    for row in retiring:
        _retire(row, effective_date)
    if survivor is None:
        target = create_area(
            actor=actor,
            name=into_name,
            level=rows[0].level,
            code=into_code,
            parent=parent,
            geometry=union,
            layer=rows[0].layer,
            priority=max(r.priority for r in rows),
            valid_from=effective_date,
            record_audit=False,
        )
    else:
        target = survivor
        target.name = into_name
        try:
            apply_geometry(target, union)
        except GeometryError as exc:
            raise AreaError(f"The merged boundary is not valid: {exc}", "sources") from None
        target.save()
    Area.objects.filter(pk__in=[r.pk for r in retiring]).update(successor=target)
    renamed = _adopt_children(
        target, [c for c in children if c.parent_id != target.pk], effective_date
    )
    moved = _move_registry_rows([r.pk for r in retiring], target)
    roles_moved, units_extended = _move_role_assignments([r.pk for r in retiring], target)
    _record_change(
        ChangeKind.MERGE,
        effective_date,
        actor,
        f"{', '.join(r.code for r in rows)} → {target.code} {target.name}",
        rows,
        [target],
    )
    audit.record(
        actor,
        audit.AuditEntry.Action.CHANGE,
        target,
        fields={
            "kind": ChangeKind.MERGE,
            "sources": [r.code for r in rows],
            "effective_date": effective_date.isoformat(),
            "children_moved": len(children),
            "children_renamed": renamed,
            "registry_moved": moved,
            "roles_moved": roles_moved,
            "units_extended": units_extended,
        },
    )
    for s in sources:
        s.refresh_from_db()
    return target


class SplitResult(list):
    """The new areas of a split (a list of `Area`, in the order of `parts`), with
    `.unplaced`: the registry rows left on the retired area, and `.placed`: counts of rows
    moved per model."""

    def __init__(self, areas, unplaced: list[placement.Unplaced], placed: dict[str, int]):
        super().__init__(areas)
        self.unplaced = unplaced
        self.placed = placed


@transaction.atomic
def split_area(area: Area, parts: list[dict], *, actor, effective_date: dt.date) -> SplitResult:
    """Split `area` into new siblings, one per `parts` item (`{"name", "code", "geometry"}`),
    from `effective_date`. The original is retired.

    The parts must not overlap each other and must cover the original, both within
    `AREA_GAP_MIN_M2`, and must not stick out of it beyond the containment tolerance. Each
    current child goes to the part it overlaps most (a child that overlaps none refuses the
    split). Buildings, places and facilities go to the part containing their point (or the
    nearest within `LOCATOR_GAP_TOLERANCE_M`); households follow their building and
    residents their household. Rows that cannot be placed (no coordinates, organisations,
    staffing) stay on the retired area and are listed in `result.unplaced`. Role assignments
    on the area and handling units covering it are left as they are (which part each person
    or unit should have is not a matter of geometry) and listed there too, for the operator
    to reassign: until then those roles grant nothing.
    """
    bump_revision()
    current = _lock(area)
    _require_current(current)
    if not current.geometry:
        raise AreaError(f"{current.name} has no boundary to split.", "geometry")
    if len(parts) < 2:
        raise AreaError("A split needs at least two parts.", "parts")
    specs = _validate_parts(current, parts)
    children = list(Area.objects.current().filter(parent=current).order_by("code"))
    floors = [current.valid_from] + [_open_link(c).valid_from for c in children]
    _check_date(effective_date, floors)
    geoms = [geom for _, _, geom, _ in specs]
    child_part = [placement.part_for_area(child, geoms) for child in children]
    misfits = [c.name for c, index in zip(children, child_part, strict=True) if index is None]
    if misfits:
        raise AreaError(
            f"{', '.join(misfits[:5])}: no boundary, or in none of the parts; "
            "draw or move them first.",
            "parts",
        )

    _retire(current, effective_date)
    new_areas = [
        create_area(
            actor=actor,
            name=name,
            level=current.level,
            code=code,
            parent=current.parent,
            geometry=geojson,
            layer=current.layer,
            priority=current.priority,
            valid_from=effective_date,
            record_audit=False,
        )
        for name, code, _, geojson in specs
    ]
    for child, index in zip(children, child_part, strict=True):
        _move(child, new_areas[index], effective_date)
    placer = placement.PartPlacer(geoms, [a.code for a in new_areas])
    placed, unplaced = placement.place_registry_rows(current, new_areas, placer)
    unplaced += _roles_on(current)
    _record_change(
        ChangeKind.SPLIT,
        effective_date,
        actor,
        f"{current.code} → {', '.join(a.code for a in new_areas)}"
        + (f"; {len(unplaced)} rows or roles left to place by hand" if unplaced else ""),
        [current],
        new_areas,
    )
    audit.record(
        actor,
        audit.AuditEntry.Action.CHANGE,
        current,
        fields={
            "kind": ChangeKind.SPLIT,
            "parts": [a.code for a in new_areas],
            "effective_date": effective_date.isoformat(),
            "children_moved": len(children),
            "registry_placed": placed,
            "unplaced": [f"{u.model}#{u.pk}" for u in unplaced],
        },
    )
    area.refresh_from_db()
    return SplitResult(new_areas, unplaced, placed)


@transaction.atomic
def retire_area(area: Area, *, actor, effective_date: dt.date) -> Area:
    """Retire `area` from `effective_date` (it stays in the history, never deleted).

    Refused while it has current children or registry rows point at it: move them first.
    """
    bump_revision()
    current = _lock(area)
    _require_current(current)
    children = Area.objects.current().filter(parent=current).count()
    if children:
        raise AreaError(
            f"{current.name} still has {children} current sub-areas; move or retire them first.",
            "area",
        )
    remaining = {label: count for label, count in registry_counts([current.pk]).items() if count}
    if remaining:
        listed = ", ".join(
            f"{count} {label.split('.')[-1].lower()}" for label, count in remaining.items()
        )
        raise AreaError(f"{current.name} still holds registry rows ({listed}).", "area")
    _check_date(effective_date, [current.valid_from, _open_link(current).valid_from])
    _retire(current, effective_date)
    _record_change(
        ChangeKind.RETIRE, effective_date, actor, f"{current.code} {current.name}", [current], []
    )
    audit.record(
        actor,
        audit.AuditEntry.Action.CHANGE,
        current,
        fields={"kind": ChangeKind.RETIRE, "effective_date": effective_date.isoformat()},
    )
    area.refresh_from_db()
    return current


def registry_counts(area_ids: list[int]) -> dict[str, int]:
    """How many rows of each registry model point at the given areas."""
    return {
        label: apps.get_model(label).objects.filter(**{f"{fld}_id__in": area_ids}).count()
        for label, fld in REGISTRY_AREA_FIELDS
    }


# --- helpers ---------------------------------------------------------------------------


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _lock(area: Area) -> Area:
    """A fresh copy of `area`, locked until commit (callers may hold stale paths)."""
    return Area.objects.select_for_update().get(pk=area.pk)


def _require_current(area: Area, field: str = "area") -> None:
    if area.valid_to is not None:
        raise AreaError(f"{area.name} was retired on {area.valid_to}.", field)


def _check_name_free(
    parent: Area | None, name: str, exclude: list[int] | None = None, field: str = "name"
) -> None:
    siblings = Area.objects.current().filter(parent=parent, name=name)
    if exclude:
        siblings = siblings.exclude(pk__in=exclude)
    if siblings.exists():
        raise AreaError(f"{parent or 'The top level'} already has an area named {name}.", field)


def _check_date(day: dt.date, floors: list[dt.date | None]) -> None:
    if not isinstance(day, dt.date):
        raise AreaError("An effective date is required.", "effective_date")
    if day > clock.today():
        raise AreaError("The effective date cannot be in the future.", "effective_date")
    latest = max((f for f in floors if f is not None), default=None)
    if latest is not None and day < latest:
        raise AreaError(
            f"The effective date cannot precede {latest:%Y-%m-%d}, when the areas "
            "involved took their present place.",
            "effective_date",
        )


def _check_boundary_fits(area: Area) -> None:
    """The (new) boundary of `area` lies inside its parent and holds its current children."""
    from civicgrid.areas.validation import check_inside_parent

    problem = check_inside_parent(area, area.parent)
    if problem:
        raise AreaError(problem, "geometry")
    if area.geometry is None:
        return
    outer = shape(area.geometry)
    outer = outer.buffer(metres_to_degrees(settings.AREA_CONTAINMENT_TOLERANCE_M, outer.centroid.y))
    children = Area.objects.current().filter(parent=area, geometry__isnull=False)
    outside = [c.name for c in children.order_by("code") if not outer.covers(shape(c.geometry))]
    if outside:
        raise AreaError(
            f"The new boundary leaves out parts of {', '.join(outside[:5])}"
            + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
            + ".",
            "geometry",
        )


def _open_link(area: Area) -> AreaParentLink:
    link = AreaParentLink.objects.filter(area=area, valid_to__isnull=True).first()
    if link is None:  # an area written before parent history existed: start it now
        link = AreaParentLink.objects.create(
            area=area, parent=area.parent, valid_from=area.valid_from
        )
    return link


def _move(area: Area, new_parent: Area, day: dt.date) -> None:
    """Close the area's parent link on `day`, open one under `new_parent`, rewrite paths."""
    AreaParentLink.objects.filter(area=area, valid_to__isnull=True).update(valid_to=day)
    AreaParentLink.objects.create(area=area, parent=new_parent, valid_from=day)
    old_path = area.path
    new_path = f"{new_parent.path}{area.pk}/"
    delta = new_path.count("/") - old_path.count("/")
    # One UPDATE for the whole subtree, retired descendants included (their history hangs
    # under this area too).
    Area.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
    )
    Area.objects.filter(pk=area.pk).update(parent=new_parent)
    area.parent, area.path, area.depth = new_parent, new_path, area.depth + delta


def _adopt_children(target: Area, children: list[Area], day: dt.date) -> dict[str, str]:
    """Move `children` under `target`, renaming any whose name is taken there; returns
    {code: new name} of the renamed."""
    taken = set(Area.objects.current().filter(parent=target).values_list("name", flat=True))
    old_parents = Area.objects.in_bulk({c.parent_id for c in children})
    renamed: dict[str, str] = {}
    for child in sorted(children, key=lambda c: c.code):
        name = child.name
        if name in taken:
            name = f"{child.name}（{old_parents[child.parent_id].name}）"
            if name in taken:
                raise AreaError(f"{target.name} would hold two areas named {name}.", "sources")
            Area.objects.filter(pk=child.pk).update(name=name)
            renamed[child.code] = child.name = name
        taken.add(name)
        _move(child, target, day)
    return renamed


def _retire(area: Area, day: dt.date) -> None:
    AreaParentLink.objects.filter(area=area, valid_to__isnull=True).update(valid_to=day)
    Area.objects.filter(pk=area.pk).update(valid_to=day)
    area.valid_to = day


def _record_change(kind, day, actor, description, sources, targets) -> AreaChange:
    change = AreaChange.objects.create(
        kind=kind, effective_date=day, actor=_user(actor), description=description[:500]
    )
    if sources:
        change.sources.add(*sources)
    if targets:
        change.targets.add(*targets)
    return change


def _move_registry_rows(from_ids: list[int], target: Area) -> dict[str, int]:
    """Point every registry row of the `from_ids` areas at `target`; counts per model."""
    moved: dict[str, int] = {}
    for label, fld in REGISTRY_AREA_FIELDS:
        model = apps.get_model(label)
        rows = model.objects.filter(**{f"{fld}_id__in": from_ids})
        if label == "registry.GridAssignment":
            # A worker posted to two of the merged grids keeps one post (the earliest):
            # (grid, worker) is unique.
            taken = set(model.objects.filter(grid=target).values_list("worker_id", flat=True))
            duplicates = []
            for pk, worker_id in rows.order_by("since", "pk").values_list("pk", "worker_id"):
                if worker_id in taken:
                    duplicates.append(pk)
                taken.add(worker_id)
            model.objects.filter(pk__in=duplicates).delete()
        count = rows.update(**{fld: target})
        if count:
            moved[label] = count
    return moved


def _move_role_assignments(from_ids: list[int], target: Area) -> tuple[int, int]:
    """Role assignments on the `from_ids` areas move to `target`; handling units covering any
    of them cover `target` too. Returns (assignments moved, units extended).

    A user holding the same role on two of the merged areas (or already on `target`) keeps
    one assignment: (user, role, area, unit) is unique. Units keep their link to the retired
    area (it grants nothing, and says what the unit served before).
    """
    role_assignment = apps.get_model("accounts", "RoleAssignment")
    rows = role_assignment.objects.filter(area_id__in=from_ids)
    taken = set(role_assignment.objects.filter(area=target).values_list("user_id", "role"))
    duplicates = []
    for pk, user_id, role in rows.order_by("pk").values_list("pk", "user_id", "role"):
        if (user_id, role) in taken:
            duplicates.append(pk)
        taken.add((user_id, role))
    role_assignment.objects.filter(pk__in=duplicates).delete()
    moved = rows.update(area=target)
    link = apps.get_model("accounts", "Unit").areas.through
    unit_ids = set(link.objects.filter(area_id__in=from_ids).values_list("unit_id", flat=True))
    unit_ids -= set(link.objects.filter(area=target).values_list("unit_id", flat=True))
    link.objects.bulk_create([link(unit_id=u, area_id=target.pk) for u in sorted(unit_ids)])
    return moved, len(unit_ids)


def _roles_on(area: Area) -> list[placement.Unplaced]:
    """Role assignments on `area` and handling units covering it, as rows a split leaves for
    a person to reassign."""
    role_assignment = apps.get_model("accounts", "RoleAssignment")
    unit = apps.get_model("accounts", "Unit")
    roles = role_assignment.objects.filter(area=area).select_related("user", "area")
    return [
        placement.Unplaced(
            "accounts.RoleAssignment", ra.pk, str(ra), "role on the split area: reassign it"
        )
        for ra in roles.order_by("pk")
    ] + [
        placement.Unplaced("accounts.Unit", u.pk, str(u), "covers the split area: add the parts")
        for u in unit.objects.filter(areas=area).order_by("code")
    ]


def parts_from_geojson(data, *, name_field: str = "name", code_field: str = "code") -> list[dict]:
    """The parts of a split from a GeoJSON FeatureCollection (a dict, JSON text or bytes):
    one `{"name", "code", "geometry"}` per feature, from its `name` and `code` properties.
    Anything else is an AreaError on `parts`; the geometry is checked by `split_area`."""
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise AreaError(f"Not a GeoJSON file: {exc}", "parts") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise AreaError("Give a GeoJSON FeatureCollection, one feature per part.", "parts")
    features = data.get("features")
    if not isinstance(features, list):
        raise AreaError("The FeatureCollection has no list of features.", "parts")
    parts = []
    for n, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise AreaError(f"Item {n} of the features is not a Feature.", "parts")
        properties = feature.get("properties") or {}
        parts.append(
            {
                "name": properties.get(name_field),
                "code": properties.get(code_field),
                "geometry": feature.get("geometry"),
            }
        )
    return parts


def _validate_parts(area: Area, parts: list[dict]) -> list[tuple[str, str, object, dict]]:
    """(name, code, shapely geometry, GeoJSON) per part, or AreaError naming the part."""
    specs = []
    names: set[str] = set()
    codes: set[str] = set()
    for n, part in enumerate(parts, start=1):
        name = str(part.get("name") or "").strip()
        code = str(part.get("code") or "").strip()
        if not name or not code:
            raise AreaError(f"Part {n} needs a name and a code.", "parts")
        if name in names or code in codes:
            raise AreaError(f"Part {n} repeats the name or code of another part.", "parts")
        names.add(name)
        codes.add(code)
        if Area.objects.filter(code=code).exists():
            raise AreaError(f"Part {n}: code {code} is already used.", "parts")
        _check_name_free(area.parent, name, exclude=[area.pk], field="parts")
        geojson = part.get("geometry")
        try:
            geom = parse_geometry(geojson)
        except GeometryError as exc:
            raise AreaError(f"Part {n} ({name}): {exc}", "parts") from None
        if geojson.get("type") == "Feature":
            geojson = geojson["geometry"]
        specs.append((name, code, geom, geojson))
    from civicgrid.areas.validation import check_partition

    problem = check_partition(area, [(name, geom) for name, _, geom, _ in specs])
    if problem:
        raise AreaError(problem, "parts")
    return specs
