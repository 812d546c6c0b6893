"""Checks on boundaries: a child inside its parent, gaps and overlaps between siblings."""

from __future__ import annotations

from django.conf import settings
from shapely.geometry import shape

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
