"""The shape of the demo district (pure: no database): boundaries, names and codes of the
streets' communities and grids, and how many grids each community has.

Counts and names are drawn for the whole district, and each street's partition from its own
random stream, so building a few streets (`--streets 2`) gives exactly those streets of the
full district.

Codes follow the 12-digit statistical scheme and the 15-digit unit-grid scheme: street
510106024000 has communities 510106024001, 510106024002 ..., community 510106024001 has
grids 510106024001001, 510106024001002 ..., numbered north to south, west to east.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from civicgrid.demo import catalogue, geometry
from civicgrid.demo.names import PlaceNames
from civicgrid.demo.seeding import allocate, np_rng, rng


class PlanError(ValueError):
    """The generated boundaries do not tile their parent (a bug, never expected)."""


@dataclass
class GridPlan:
    code: str
    name: str
    polygon: Polygon


@dataclass
class CommunityPlan:
    code: str
    name: str
    polygon: Polygon | None = None
    grid_count: int = 0
    grids: list[GridPlan] = field(default_factory=list)


@dataclass
class StreetPlan:
    code: str  # 12 digits
    name: str
    communities: list[CommunityPlan]
    polygon: Polygon | None = None


def outline(district_code: str, street_codes: list[str], seed: int) -> tuple[Polygon, list]:
    """The district boundary and its streets' boundaries (in `street_codes` order)."""
    profile = catalogue.district_profile(district_code[:6])
    anchors_by_code = {code: tuple(s["anchor"]) for code, s in profile["streets"].items()}
    district = geometry.outline(
        profile["bbox"],
        np_rng(seed, "outline", district_code),
        anchors=list(anchors_by_code.values()),
        **profile["outline"],
    )
    # A street the data has no anchor for (a new street in the code list) gets a random one.
    spare = iter(geometry.sample_points(district, len(street_codes), np_rng(seed, "anchors")))
    seeds = [anchors_by_code.get(code[:9]) or next(spare) for code in street_codes]
    streets = geometry.partition(district, np_rng(seed, "streets"), seeds=seeds)
    _check(district, streets, "the district")
    return district, streets


def communities(district_code: str, streets: list[tuple[str, str]], seed: int) -> list[StreetPlan]:
    """Names, codes and grid counts of every community, for streets given as (code, name)."""
    profile = catalogue.district_profile(district_code[:6])
    per_street = profile["streets"]
    known = [per_street.get(code[:9], {}).get("communities") for code, _ in streets]
    missing = [i for i, n in enumerate(known) if n is None]
    spare = profile["communities"] - sum(n for n in known if n is not None)
    for i, n in zip(missing, allocate(max(spare, len(missing)), [1] * len(missing)), strict=True):
        known[i] = n
    names = PlaceNames().community_names(
        rng(seed, "community-names"), [name for _, name in streets], known
    )
    # Grids are drawn by households, so communities differ in how many they have (seed 001:
    # 998 over 108, about 9 each): each gets a seeded share of the district's grids.
    share_range = catalogue.load("profile")["community_grid_share"]
    r = rng(seed, "grid-counts")
    shares = [r.uniform(*share_range) for _ in range(sum(known))]
    grid_counts = iter(allocate(profile["grids"], shares))
    plans = []
    for (code, name), community_names in zip(streets, names, strict=True):
        plans.append(
            StreetPlan(
                code=code,
                name=name,
                communities=[
                    CommunityPlan(
                        code=f"{code[:9]}{i:03d}", name=c_name, grid_count=next(grid_counts)
                    )
                    for i, c_name in enumerate(community_names, start=1)
                ],
            )
        )
    return plans


def shape_street(street: StreetPlan, polygon: BaseGeometry, seed: int) -> None:
    """Partition `polygon` into the street's communities and each community into its grids."""
    grid_name = PlaceNames().data["grid_name"]
    street.polygon = polygon
    parts = geometry.partition(
        polygon, np_rng(seed, "communities", street.code), count=len(street.communities)
    )
    _check(polygon, parts, street.name)
    for community, part in zip(street.communities, parts, strict=True):
        community.polygon = part
        cells = geometry.partition(
            part, np_rng(seed, "grids", community.code), count=community.grid_count
        )
        _check(part, cells, community.name)
        community.grids = [
            GridPlan(f"{community.code}{j:03d}", grid_name.format(n=j), cell)
            for j, cell in enumerate(cells, start=1)
        ]


def _check(parent: BaseGeometry, cells: list, what: str) -> None:
    problem = geometry.tiling_problem(parent, cells)
    if problem:
        raise PlanError(f"The generated parts of {what} do not tile it: {problem}.")
    for cell in cells:
        if not shapely.is_valid(cell):
            raise PlanError(f"A generated part of {what} is not a valid polygon.")
