"""The point-to-grid locator: (lat, lon) -> grid -> community -> street -> district.

Each process keeps one STRtree per grid layer, built from the current grids' polygons. The
index remembers the `AreaRevision` it was built from; at most every
`LOCATOR_VERSION_CHECK_SECONDS` a lookup re-reads the revision (one tiny query) and rebuilds
when another process changed the areas. Writes in this process invalidate at once (services
call `invalidate()` on commit), so the process that made a change never sees stale grids.

Rules, in order:
1. The point lies in one or more grids: the highest priority wins, then the smallest grid,
   then the lowest code (so the answer never depends on insertion order).
2. The point lies in none, but within `LOCATOR_GAP_TOLERANCE_M` metres of a grid: the
   nearest grid, with `status="nearest"` and the distance.
3. Otherwise `status="outside"`, with no grid.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.db.models import TextField
from django.db.models.functions import Cast

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.geometry import distance_m, metres_to_degrees


class Status:
    INSIDE = "inside"
    OVERLAP = "overlap"
    NEAREST = "nearest"
    OUTSIDE = "outside"


@dataclass(frozen=True, slots=True)
class AreaRef:
    id: int
    code: str
    name: str
    level: str


@dataclass(frozen=True, slots=True)
class Location:
    status: str
    grid: AreaRef | None = None
    chain: tuple[AreaRef, ...] = ()  # grid first, then its ancestors up to the root
    distance_m: float | None = None
    overlaps: tuple[str, ...] = ()  # codes of the other grids containing the point
    building_id: int | None = None
    matched_address: str = ""

    def at_level(self, level: str) -> AreaRef | None:
        for ref in self.chain:
            if ref.level == level:
                return ref
        return None

    @property
    def community(self) -> AreaRef | None:
        return self.at_level(Level.COMMUNITY)

    @property
    def street(self) -> AreaRef | None:
        return self.at_level(Level.STREET)

    @property
    def district(self) -> AreaRef | None:
        return self.at_level(Level.DISTRICT)

    def as_dict(self) -> dict:
        def ref(r: AreaRef | None):
            return None if r is None else {"id": r.id, "code": r.code, "name": r.name}

        return {
            "status": self.status,
            "grid": ref(self.grid),
            "community": ref(self.community),
            "street": ref(self.street),
            "district": ref(self.district),
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
            "overlaps": list(self.overlaps),
            "building_id": self.building_id,
            "matched_address": self.matched_address,
        }


OUTSIDE = Location(status=Status.OUTSIDE)


@dataclass
class GridIndex:
    """An immutable snapshot: the tree, the grids in tree order and their ancestor chains."""

    revision: int
    tree: shapely.STRtree
    geoms: list
    refs: list[AreaRef]
    chains: list[tuple[AreaRef, ...]]
    rank: np.ndarray  # sort key per grid: lower wins an overlap
    by_id: dict[int, int] = field(default_factory=dict)
    # The answer for a point inside grid i alone, built once: most lookups are just that.
    inside: list[Location] = field(default_factory=list)

    def __post_init__(self):
        if not self.inside:
            self.inside = [
                Location(Status.INSIDE, ref, chain, 0.0)
                for ref, chain in zip(self.refs, self.chains, strict=True)
            ]

    def locate(self, lat: float, lon: float, tolerance_m: float) -> Location:
        point = shapely.Point(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) == 1:
            return self.inside[hits[0]]
        if len(hits) > 1:
            ordered = sorted((int(h) for h in hits), key=self.rank.__getitem__)
            i = ordered[0]
            others = tuple(self.refs[j].code for j in ordered[1:])
            return Location(Status.OVERLAP, self.refs[i], self.chains[i], 0.0, others)
        if tolerance_m <= 0:
            return OUTSIDE
        # Every grid within the tolerance, measured in metres: the nearest in degrees is not
        # always the nearest on the ground (a degree of longitude is shorter than one of
        # latitude away from the equator). metres_to_degrees over-reaches, never under-reaches.
        max_deg = metres_to_degrees(tolerance_m, lat)
        near = self.tree.query(point, predicate="dwithin", distance=max_deg)
        best: tuple[float, int, int] | None = None
        for h in near:
            i = int(h)
            metres = distance_m(self.geoms[i], lon, lat)
            if metres <= tolerance_m and (best is None or (metres, self.rank[i]) < best[:2]):
                best = (metres, self.rank[i], i)
        if best is None:
            return OUTSIDE
        i = best[2]
        return Location(Status.NEAREST, self.refs[i], self.chains[i], best[0])


def build_index(layer: str = GridLayer.SERVICE, revision: int | None = None) -> GridIndex:
    """Read the current grids of `layer` and their ancestors; build the STRtree."""
    from civicgrid.areas.models import Area

    if revision is None:
        revision = current_revision()
    # The boundaries come as JSON text and GEOS parses them all in one call: decoding
    # 15,000 polygons into Python dicts and back was three quarters of the build time.
    grids = list(
        Area.objects.grids(layer)
        .filter(geometry__isnull=False)
        .order_by("code")
        .annotate(geojson=Cast("geometry", TextField()))
        .values("id", "code", "name", "level", "path", "geojson", "priority", "size_m2")
    )
    geoms = list(shapely.from_geojson([g["geojson"] for g in grids]))
    ancestor_ids = {int(p) for g in grids for p in g["path"].strip("/").split("/")[:-1] if p}
    ancestors = {
        a["id"]: AreaRef(a["id"], a["code"], a["name"], a["level"])
        for a in Area.objects.filter(id__in=ancestor_ids).values("id", "code", "name", "level")
    }
    refs, chains, ranks = [], [], []
    for g in grids:
        ref = AreaRef(g["id"], g["code"], g["name"], g["level"])
        ids = [int(p) for p in g["path"].strip("/").split("/")[:-1] if p]
        chain = (ref, *[ancestors[a] for a in reversed(ids) if a in ancestors])
        refs.append(ref)
        chains.append(chain)
        ranks.append((-g["priority"], g["size_m2"] or 0.0))
    # Rank: priority descending, then size ascending, then code (the list is in code order).
    order = sorted(range(len(ranks)), key=lambda i: (ranks[i], refs[i].code))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return GridIndex(
        revision=revision,
        tree=shapely.STRtree(geoms),
        geoms=geoms,
        refs=refs,
        chains=chains,
        rank=rank,
        by_id={r.id: i for i, r in enumerate(refs)},
    )


def current_revision() -> int:
    from civicgrid.areas.models import AreaRevision

    value = AreaRevision.objects.filter(pk=1).values_list("value", flat=True).first()
    return value or 0


class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[GridIndex, float]] = {}  # layer -> (index, checked at)


_cache = _Cache()


def get_index(layer: str = GridLayer.SERVICE) -> GridIndex:
    """This process's index for `layer`, rebuilt when the area revision moved."""
    entry = _cache.entries.get(layer)
    if entry is not None and time.monotonic() - entry[1] < settings.LOCATOR_VERSION_CHECK_SECONDS:
        return entry[0]
    with _cache.lock:
        revision = current_revision()
        entry = _cache.entries.get(layer)
        index = entry[0] if entry is not None else None
        if index is None or index.revision != revision:
            index = build_index(layer, revision)
        _cache.entries[layer] = (index, time.monotonic())
        return index


def invalidate() -> None:
    """Forget every index of this process (called on commit of an area change)."""
    with _cache.lock:
        _cache.entries.clear()


def locate(
    lat: float, lon: float, *, layer: str = GridLayer.SERVICE, tolerance_m: float | None = None
) -> Location:
    """Resolve a WGS84 point to its grid and the grid's ancestors. See the module docstring."""
    if tolerance_m is None:
        tolerance_m = settings.LOCATOR_GAP_TOLERANCE_M
    return get_index(layer).locate(lat, lon, tolerance_m)


def normalise_address(text: str) -> str:
    """Full-width to half-width, no whitespace: how addresses are compared."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def locate_address(address: str, *, layer: str = GridLayer.SERVICE) -> Location:
    """Resolve an address through the building registry.

    The longest known building address that starts the given address wins ("…3栋2单元501"
    matches the building "…3栋"). The building's own grid is used; if it has coordinates and
    the layer is not the service layer, the point is located on that layer instead.
    """
    from civicgrid.registry.models import Building

    # Building addresses are stored normalised and at most 200 characters long.
    text = normalise_address(address)[:200]
    if len(text) < 2:
        return OUTSIDE
    prefixes = [text[:n] for n in range(len(text), 1, -1)]
    buildings = list(Building.objects.filter(address__in=prefixes).select_related("grid"))
    if not buildings:
        return OUTSIDE
    building = max(buildings, key=lambda b: len(b.address))
    if layer != GridLayer.SERVICE or building.grid.valid_to is not None:
        if building.lat is None or building.lon is None:
            return OUTSIDE
        found = locate(building.lat, building.lon, layer=layer)
    else:
        index = get_index(layer)
        i = index.by_id.get(building.grid_id)
        if i is None:  # the building's grid has no boundary yet: its chain comes from the tree
            found = Location(Status.INSIDE, *_chain_from_db(building.grid))
        else:
            found = Location(Status.INSIDE, index.refs[i], index.chains[i], 0.0)
    if found.grid is None:
        return found
    return Location(
        found.status,
        found.grid,
        found.chain,
        found.distance_m,
        found.overlaps,
        building_id=building.id,
        matched_address=building.address,
    )


def _chain_from_db(grid) -> tuple[AreaRef, tuple[AreaRef, ...]]:
    from civicgrid.areas.models import Area

    ids = grid.ancestor_ids()
    rows = {a.id: a for a in Area.objects.filter(id__in=ids + [grid.id])}
    refs = [rows[i] for i in [grid.id, *reversed(ids)] if i in rows]
    chain = tuple(AreaRef(a.id, a.code, a.name, a.level) for a in refs)
    return chain[0], chain
