"""Checks on boundaries: a child inside its parent, gaps and overlaps between siblings.

Slivers (gaps or overlaps smaller than `settings.AREA_GAP_MIN_M2`) are ignored everywhere:
two grids digitised by different hands never meet exactly, and a 3 m² sliver is not a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from django.conf import settings
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.geometry import metres_to_degrees, size_m2


def check_inside_parent(area, parent) -> str:
    """'' when `area` lies inside `parent` within the containment tolerance, else why not."""
    if parent is None or parent.geometry is None or area.geometry is None:
        return ""
    child = shape(area.geometry)
    outer = shape(parent.geometry)
    tolerance = metres_to_degrees(settings.AREA_CONTAINMENT_TOLERANCE_M, child.centroid.y)
    if outer.buffer(tolerance).covers(child):
        return ""
    outside = child.difference(outer)
    return (
        f"The boundary lies partly outside {parent.name}: {size_m2(outside):,.0f} m² "
        f"beyond the allowed {settings.AREA_CONTAINMENT_TOLERANCE_M:g} m tolerance."
    )


@dataclass(frozen=True)
class Overlap:
    """Two siblings sharing ground: codes in sorted order and the shared area."""

    a: str
    b: str
    area_m2: float


@dataclass(frozen=True)
class Gap:
    """A piece of the parent no child covers; (lat, lon) is a point inside it."""

    area_m2: float
    lat: float
    lon: float


@dataclass(frozen=True)
class Outside:
    """A child sticking out of its parent by `area_m2`."""

    code: str
    area_m2: float


@dataclass
class SiblingReport:
    """Gaps and overlaps among the current children of one parent (one grid layer).

    `gaps` is empty when the parent has no boundary (`parent_has_geometry` says so): there is
    nothing to measure coverage against. Lists are sorted largest first.
    """

    parent_code: str
    layer: str
    children: int
    min_m2: float
    parent_has_geometry: bool
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    outside: list[Outside] = field(default_factory=list)
    without_geometry: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.overlaps or self.gaps or self.outside)

    def as_dict(self) -> dict:
        return {
            "parent": self.parent_code,
            "layer": self.layer,
            "children": self.children,
            "min_m2": self.min_m2,
            "parent_has_geometry": self.parent_has_geometry,
            "overlaps": [
                {"a": o.a, "b": o.b, "area_m2": round(o.area_m2, 1)} for o in self.overlaps
            ],
            "gaps": [
                {"area_m2": round(g.area_m2, 1), "lat": g.lat, "lon": g.lon} for g in self.gaps
            ],
            "outside": [{"code": o.code, "area_m2": round(o.area_m2, 1)} for o in self.outside],
            "without_geometry": list(self.without_geometry),
        }


def sibling_report(parent, layer: str | None = None, *, min_m2: float | None = None):
    """Overlaps between the current children of `parent`, gaps the children leave in it, and
    children sticking out of it, ignoring anything smaller than `min_m2` (default
    `settings.AREA_GAP_MIN_M2`).

    `layer` picks the grid layer compared (default: the service layer). Only grid children
    have a layer that matters; zones and estates are always compared with the grids of the
    chosen layer, because they share the ground with them.
    """
    from civicgrid.areas.models import Area

    layer = layer or GridLayer.SERVICE
    rows = (
        Area.objects.current()
        .filter(parent=parent)
        .exclude(level=Level.GRID, layer__in=[v for v in GridLayer.values if v != layer])
        .order_by("code")
        .values_list("code", "geometry")
    )
    children = [(code, geometry) for code, geometry in rows]
    return sibling_report_for(
        parent.code,
        shape(parent.geometry) if parent.geometry else None,
        [(code, shape(g)) for code, g in children if g],
        layer=layer,
        min_m2=min_m2,
        without_geometry=[code for code, g in children if not g],
    )


def sibling_report_for(
    parent_code: str,
    parent_geom: BaseGeometry | None,
    children: list[tuple[str, BaseGeometry]],
    *,
    layer: str = GridLayer.SERVICE,
    min_m2: float | None = None,
    without_geometry: list[str] | None = None,
) -> SiblingReport:
    """The sibling report on shapes in memory (a dry-run import has nothing saved yet)."""
    if min_m2 is None:
        min_m2 = settings.AREA_GAP_MIN_M2
    report = SiblingReport(
        parent_code=parent_code,
        layer=layer,
        children=len(children) + len(without_geometry or []),
        min_m2=min_m2,
        parent_has_geometry=parent_geom is not None,
        without_geometry=sorted(without_geometry or []),
    )
    if not children:
        if parent_geom is not None and size_m2(parent_geom) >= min_m2:
            report.gaps.append(_gap(parent_geom))
        return report
    codes = [code for code, _ in children]
    geoms = [geom for _, geom in children]
    # One STRtree query for every pair whose boxes meet, instead of n² intersections.
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = geoms[i].intersection(geoms[j])
        if shared.is_empty or shared.area == 0:
            continue
        metres = size_m2(shared)
        if metres >= min_m2:
            a, b = sorted((codes[i], codes[j]))
            report.overlaps.append(Overlap(a, b, metres))
    if parent_geom is not None:
        covered = shapely.unary_union(geoms)
        for piece in _parts(parent_geom.difference(covered)):
            if size_m2(piece) >= min_m2:
                report.gaps.append(_gap(piece))
        for code, geom in children:
            beyond = geom.difference(parent_geom)
            if not beyond.is_empty and size_m2(beyond) >= min_m2:
                report.outside.append(Outside(code, size_m2(beyond)))
    report.overlaps.sort(key=lambda o: (-o.area_m2, o.a, o.b))
    report.gaps.sort(key=lambda g: (-g.area_m2, g.lat, g.lon))
    report.outside.sort(key=lambda o: (-o.area_m2, o.code))
    return report


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    """The polygons of a difference result (which may be a collection with lines in it)."""
    if geom.is_empty:
        return []
    if hasattr(geom, "geoms"):
        return [g for g in geom.geoms if g.geom_type == "Polygon" and not g.is_empty]
    return [geom] if geom.geom_type == "Polygon" else []


def _gap(piece: BaseGeometry) -> Gap:
    point = piece.representative_point()
    return Gap(size_m2(piece), round(point.y, 7), round(point.x, 7))


def check_partition(area, parts: list[tuple[str, BaseGeometry]]) -> str:
    """'' when the named `parts` tile `area`'s boundary, else why not: no part may reach out
    of it (beyond the containment tolerance), no two may overlap and together they must
    cover it (both within `AREA_GAP_MIN_M2`)."""
    whole = shape(area.geometry)
    min_m2 = settings.AREA_GAP_MIN_M2
    tolerance = metres_to_degrees(settings.AREA_CONTAINMENT_TOLERANCE_M, whole.centroid.y)
    grown = whole.buffer(tolerance)
    for name, geom in parts:
        if not grown.covers(geom):
            return f"Part {name} reaches outside {area.name}."
    geoms = [geom for _, geom in parts]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            shared = geoms[i].intersection(geoms[j])
            if not shared.is_empty and size_m2(shared) >= min_m2:
                return (
                    f"Parts {parts[i][0]} and {parts[j][0]} overlap by {size_m2(shared):,.0f} m²."
                )
    rest = whole.difference(shapely.unary_union(geoms))
    if not rest.is_empty and size_m2(rest) >= min_m2:
        point = rest.representative_point()
        return (
            f"The parts leave {size_m2(rest):,.0f} m² of {area.name} uncovered "
            f"(for example at {point.y:.6f}, {point.x:.6f})."
        )
    return ""
