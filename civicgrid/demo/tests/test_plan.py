"""The generated district without a database: boundaries tile, codes and counts follow seed 001."""

from __future__ import annotations

import itertools

import pytest
import shapely

from civicgrid.demo import catalogue, geometry, plan
from civicgrid.demo.seeding import allocate, np_rng

JINNIU = "510106000000"
STREET_CODES = [f"510106{code[6:]}000" for code in catalogue.district_profile("510106")["streets"]]


@pytest.fixture(scope="module")
def district():
    """The whole district planned, all 13 streets shaped (pure shapely, well under a second)."""
    outline, parts = plan.outline(JINNIU, STREET_CODES, seed=42)
    streets = plan.communities(JINNIU, [(code, f"街道{code}") for code in STREET_CODES], seed=42)
    for street, part in zip(streets, parts, strict=True):
        plan.shape_street(street, part, seed=42)
    return outline, streets


def test_full_district_has_seed_001_counts(district):
    _, streets = district
    communities = [c for s in streets for c in s.communities]
    assert len(streets) == 13
    assert len(communities) == 108
    assert sum(len(c.grids) for c in communities) == 998
    assert len({c.name for c in communities}) == 108  # unique across the district


def test_codes_extend_their_parent_code(district):
    _, streets = district
    for street in streets:
        for i, community in enumerate(street.communities, start=1):
            assert community.code == f"{street.code[:9]}{i:03d}"
            for j, grid in enumerate(community.grids, start=1):
                assert grid.code == f"{community.code}{j:03d}"
                assert grid.name == f"第{j}网格"


def test_streets_communities_and_grids_tile_their_parents(district):
    outline, streets = district
    assert outline.is_valid and outline.geom_type == "Polygon"
    min_lon, min_lat, max_lon, max_lat = catalogue.district_profile("510106")["bbox"]
    assert min_lon <= outline.bounds[0] and outline.bounds[2] <= max_lon
    assert min_lat <= outline.bounds[1] and outline.bounds[3] <= max_lat
    assert geometry.tiling_problem(outline, [s.polygon for s in streets]) == ""
    for street in streets:
        assert (
            geometry.tiling_problem(street.polygon, [c.polygon for c in street.communities]) == ""
        )
        for community in street.communities:
            cells = [g.polygon for g in community.grids]
            assert geometry.tiling_problem(community.polygon, cells) == ""
            assert all(cell.geom_type == "Polygon" and cell.is_valid for cell in cells)


def test_district_outline_is_irregular_not_a_rectangle(district):
    outline, _ = district
    assert len(outline.exterior.coords) > 20
    assert outline.area < 0.9 * shapely.envelope(outline).area


def test_tiling_problem_reports_gaps_and_overlaps():
    square = shapely.box(0, 0, 1, 1)
    left, right = shapely.box(0, 0, 0.5, 1), shapely.box(0.5, 0, 1, 1)
    assert geometry.tiling_problem(square, [left, right]) == ""
    assert "gap" in geometry.tiling_problem(square, [left])
    assert "overlap" in geometry.tiling_problem(square, [left, right, shapely.box(0.4, 0, 0.6, 1)])
    assert "overhang" in geometry.tiling_problem(square, [left, shapely.box(0.5, 0, 1.2, 1)])


def test_partition_of_a_concave_parent_gives_single_polygons():
    # An L shape: Voronoi cells clipped to it can fall apart; fragments must be merged.
    parent = shapely.union(shapely.box(0, 0, 3, 1), shapely.box(0, 0, 1, 3))
    for seed in range(20):
        cells = geometry.partition(parent, np_rng(seed, "L"), count=7)
        assert len(cells) == 7
        assert geometry.tiling_problem(parent, cells) == ""
        assert all(cell.geom_type == "Polygon" for cell in cells)
        for a, b in itertools.combinations(cells, 2):
            assert a.intersection(b).area < 1e-12


def test_same_seed_same_district_other_seed_another():
    first, _ = plan.outline(JINNIU, STREET_CODES, seed=7)
    again, _ = plan.outline(JINNIU, STREET_CODES, seed=7)
    other, _ = plan.outline(JINNIU, STREET_CODES, seed=8)
    assert first.equals_exact(again, 0)
    assert not first.equals_exact(other, 1e-9)


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, [1, 1], [5, 5]),
        (998, [1] * 108, None),
        (7, [3, 1, 1], [3, 2, 2]),
        (2, [1, 1, 1], [1, 1, 0]),
    ],
)
def test_allocate_splits_a_total(total, weights, expected):
    shares = allocate(total, weights)
    assert sum(shares) == total
    if expected is not None:
        assert shares == expected
    if total >= len(weights):
        assert min(shares) >= 1
