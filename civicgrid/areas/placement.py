"""Where things go when an area is split: child areas by overlap, registry rows by point.

The rules mirror the locator's (smaller part first where parts overlap, nearest part within
`LOCATOR_GAP_TOLERANCE_M` in a gap), so a building lands where a later lookup of its point
would put it.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from django.apps import apps
from django.conf import settings
from shapely.geometry import shape

from civicgrid.areas.geometry import distance_m, metres_to_degrees
from civicgrid.areas.models import Area

# The registry models a split places, and the field pointing at the area.
PLACED_FIELDS: dict[str, str] = {
    "registry.Building": "grid",
    "registry.Place": "grid",
    "registry.Facility": "grid",
    "registry.Household": "area",
    "registry.Resident": "area",
}
# Rows with no location of their own: a split reports them for a person to place.
UNPLACEABLE_FIELDS: dict[str, str] = {
    "registry.Organization": "area",
    "registry.GridAssignment": "grid",
}


@dataclass(frozen=True)
class Unplaced:
    """A registry row a split could not place: it stays on the retired area until someone
    moves it by hand. `model` is the model label, `reason` says why in plain words."""

    model: str
    pk: int
    label: str
    reason: str


def part_for_area(area, geoms: list) -> int | None:
    """Index of the part that `area`'s boundary overlaps most, None when it has no boundary
    or overlaps none (ties go to the earlier part)."""
    if not area.geometry:
        return None
    inner = shape(area.geometry)
    overlaps = [inner.intersection(g).area for g in geoms]
    best = max(range(len(geoms)), key=lambda i: (overlaps[i], -i))
    return best if overlaps[best] > 0 else None


class PartPlacer:
    """Point-in-part lookups for a split, with the locator's rules (smaller part first on an
    overlap, nearest within the gap tolerance)."""

    def __init__(self, geoms: list, codes: list[str]):
        self.geoms = geoms
        self.tree = shapely.STRtree(geoms)
        self.rank = sorted(range(len(geoms)), key=lambda i: (geoms[i].area, codes[i]))
        self.tolerance_m = settings.LOCATOR_GAP_TOLERANCE_M

    def place(self, lat: float | None, lon: float | None) -> int | None:
        if lat is None or lon is None:
            return None
        point = shapely.Point(lon, lat)
        hits = set(self.tree.query(point, predicate="intersects").tolist())
        if hits:
            return next(i for i in self.rank if i in hits)
        if self.tolerance_m <= 0:
            return None
        near = self.tree.query(
            point, predicate="dwithin", distance=metres_to_degrees(self.tolerance_m, lat)
        )
        scored = [(distance_m(self.geoms[i], lon, lat), i) for i in near.tolist()]
        scored = [(d, i) for d, i in scored if d <= self.tolerance_m]
        return min(scored)[1] if scored else None


def place_registry_rows(
    original: Area, parts: list[Area], placer: PartPlacer
) -> tuple[dict[str, int], list[Unplaced]]:
    """Move the registry rows of `original` into `parts`; (counts moved, rows left)."""
    get = apps.get_model
    moves: dict[str, dict[int, Area]] = {}  # model label -> {row pk: new area}
    unplaced: list[Unplaced] = []

    for label in ("registry.Building", "registry.Place", "registry.Facility"):
        moves[label] = {}
        for row in get(label).objects.filter(grid=original):
            index = placer.place(row.lat, row.lon)
            if index is not None:
                moves[label][row.pk] = parts[index]
            else:
                missing = row.lat is None or row.lon is None
                reason = "no coordinates" if missing else "outside every part"
                unplaced.append(Unplaced(label, row.pk, str(row), reason))

    households: dict[int, Area] = {}
    for household in (
        get("registry.Household").objects.filter(area=original).select_related("building")
    ):
        building = household.building
        index = placer.place(building.lat, building.lon) if building is not None else None
        if index is not None:
            households[household.pk] = parts[index]
        else:
            missing = building is None or building.lat is None or building.lon is None
            reason = "no building with coordinates" if missing else "building outside every part"
            unplaced.append(Unplaced("registry.Household", household.pk, str(household), reason))
    moves["registry.Household"] = households

    residents: dict[int, Area] = {}
    for resident in (
        get("registry.Resident").objects.filter(area=original).select_related("household__area")
    ):
        household = resident.household
        if household is not None and household.pk in households:
            residents[resident.pk] = households[household.pk]
        elif (
            household is not None
            and household.area_id != original.pk
            and household.area.valid_to is None
        ):
            residents[resident.pk] = household.area
        else:
            reason = "no household" if household is None else "household not placed"
            unplaced.append(Unplaced("registry.Resident", resident.pk, str(resident), reason))
    moves["registry.Resident"] = residents

    for label, fld in UNPLACEABLE_FIELDS.items():
        for row in get(label).objects.filter(**{fld: original}):
            unplaced.append(Unplaced(label, row.pk, str(row), "no location to place it by"))

    placed: dict[str, int] = {}
    for label, targets in moves.items():
        by_target: dict[Area, list[int]] = {}
        for pk, target in targets.items():
            by_target.setdefault(target, []).append(pk)
        for target, pks in by_target.items():
            for start in range(0, len(pks), 500):
                chunk = pks[start : start + 500]
                get(label).objects.filter(pk__in=chunk).update(**{PLACED_FIELDS[label]: target})
        if targets:
            placed[label] = len(targets)
    return placed, unplaced
