"""Scoped reads of the area tree, and its history.

Everything a user sees goes through `Area.objects.visible_to(user)`: an area outside the
caller's subtree is simply absent, never an error that reveals it exists. The history
readers (`members_at`, `subtree_ids_at`) are not user-facing: they answer "what belonged
to this area on that day" for figures over past periods, from `AreaParentLink` dates.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.models import Area, AreaChange, AreaParentLink

# Small enough for SQLite's bound-parameter limit on any version.
_CHUNK = 900


def area_tree(user, root: Area | None = None, max_depth: int | None = None) -> list[dict]:
    """The current areas `user` may see, as nested dicts in code order.

    Each node is `{"id", "code", "name", "level", "layer", "child_count", "children"}`;
    `child_count` counts all current children even where `max_depth` cut `children` off.
    Without `root`, the list holds the top of each subtree the user may see (a street
    dispatcher gets their street); with `root`, a one-item list (empty when the user may not
    see `root`). `max_depth` limits the levels below the top nodes (0: the tops only).
    """
    areas = Area.objects.visible_to(user).current()
    if root is not None:
        areas = areas.filter(path__startswith=root.path)
    rows = list(
        areas.annotate(
            child_count=Count("children", filter=Q(children__valid_to__isnull=True))
        ).values("id", "code", "name", "level", "layer", "parent_id", "depth", "child_count")
    )
    nodes = {
        r["id"]: {
            "id": r["id"],
            "code": r["code"],
            "name": r["name"],
            "level": r["level"],
            "layer": r["layer"],
            "child_count": r["child_count"],
            "children": [],
        }
        for r in rows
    }
    rows.sort(key=lambda r: (r["depth"], r["code"]))
    tops: list[dict] = []
    top_depth: dict[int, int] = {}
    for r in rows:
        node = nodes[r["id"]]
        parent = nodes.get(r["parent_id"])
        if parent is None:
            tops.append(node)
            top_depth[r["id"]] = r["depth"]
            continue
        top_depth[r["id"]] = top_depth[r["parent_id"]]
        if max_depth is None or r["depth"] - top_depth[r["id"]] <= max_depth:
            parent["children"].append(node)
    return tops


def chain_of(area: Area) -> list[Area]:
    """The area's ancestors from the root down, then the area itself (for breadcrumbs)."""
    ids = area.ancestor_ids()
    by_id = Area.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id] + [area]


def children_of(user, area: Area) -> QuerySet[Area]:
    """The current children of `area` that `user` may see, in code order."""
    return Area.objects.visible_to(user).current().filter(parent=area).order_by("code")


def grids_geojson(
    user, parent: Area, layer: str = GridLayer.SERVICE, *, all_grids: bool = False
) -> dict:
    """A GeoJSON FeatureCollection of the current areas under `parent` that `user` may see.

    By default the next level down (a street's communities, a community's grids of `layer`);
    with `all_grids=True`, every grid of `layer` anywhere under `parent`. Areas without a
    boundary are left out. Properties: id, code, name, level, layer.
    """
    areas = Area.objects.visible_to(user).current().filter(geometry__isnull=False)
    if all_grids:
        areas = areas.filter(path__startswith=parent.path, level=Level.GRID, layer=layer)
    else:
        areas = areas.filter(parent=parent).filter(~Q(level=Level.GRID) | Q(layer=layer))
    features = [
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": row["geometry"],
            "properties": {
                "id": row["id"],
                "code": row["code"],
                "name": row["name"],
                "level": row["level"],
                "layer": row["layer"],
            },
        }
        for row in areas.order_by("code").values("id", "code", "name", "level", "layer", "geometry")
    ]
    return {"type": "FeatureCollection", "features": features}


def history_of(area: Area) -> QuerySet[AreaChange]:
    """The recorded changes that involved `area` (as a source or a result), latest first."""
    return (
        AreaChange.objects.filter(Q(sources=area) | Q(targets=area))
        .distinct()
        .prefetch_related("sources", "targets")
    )


def _active_on(day: dt.date) -> Q:
    # valid_to is the first day a link no longer holds, so a link closed on `day` is out.
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gt=day)
    )


def members_at(area: Area, day: dt.date, *, level: str | None = None) -> set[int]:
    """Ids of the areas below `area` on `day` (its descendants then, not itself), following
    the parent links in force that day; `level` keeps only that level (e.g. the grids a
    street had last year)."""
    found: dict[int, str] = {}
    frontier = [area.pk]
    active = _active_on(day)
    while frontier:
        next_frontier: list[int] = []
        for start in range(0, len(frontier), _CHUNK):
            links = AreaParentLink.objects.filter(
                active, parent_id__in=frontier[start : start + _CHUNK]
            ).values_list("area_id", "area__level")
            for area_id, area_level in links:
                if area_id not in found:
                    found[area_id] = area_level
                    next_frontier.append(area_id)
        frontier = next_frontier
    if level is None:
        return set(found)
    return {area_id for area_id, area_level in found.items() if area_level == level}


def subtree_ids_at(area: Area, day: dt.date) -> set[int]:
    """`area` and everything below it on `day`: filter past records with
    `grid_id__in=subtree_ids_at(street, last_year)` to count what belonged to it then."""
    return {area.pk} | members_at(area, day)
