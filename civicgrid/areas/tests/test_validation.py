import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.validation import check_inside_parent, sibling_report
from tests.builders import CELL, ORIGIN_LAT, ORIGIN_LON, build_area, square

# About 96 m per 0.001° of longitude and 111 m per 0.001° of latitude here.
M2_PER_SQ_MILLIDEGREE = 96.0 * 111.2


def test_tiled_siblings_report_nothing(town):
    report = sibling_report(town.communities["A1"])
    assert report.ok
    assert (report.children, report.overlaps, report.gaps, report.outside) == (2, [], [], [])


def test_overlap_between_siblings_is_measured(town):
    community = town.communities["B1"]
    intruder = build_area(
        Level.GRID,
        community,
        code="B1-X",
        geometry=square(ORIGIN_LON + 2 * CELL, ORIGIN_LAT + CELL - 0.002, CELL, 0.004),
    )
    report = sibling_report(community)
    pairs = {(o.a, o.b): o.area_m2 for o in report.overlaps}
    lower, upper = town.grids["B1-1"].code, town.grids["B1-2"].code
    assert set(pairs) == {
        tuple(sorted((intruder.code, lower))),
        tuple(sorted((intruder.code, upper))),
    }
    expected = 10 * 2 * M2_PER_SQ_MILLIDEGREE  # 0.01° x 0.002° each side
    assert all(m2 == pytest.approx(expected, rel=0.02) for m2 in pairs.values())


def test_gap_is_reported_with_a_point_inside_it(town):
    community = town.communities["B2"]
    grid = town.grids["B2-2"]
    grid.geometry = square(ORIGIN_LON + 3 * CELL, ORIGIN_LAT + CELL, CELL, CELL / 2)
    grid.save()  # a hand edit leaves the top half of the community uncovered
    report = sibling_report(community)
    assert len(report.gaps) == 1
    gap = report.gaps[0]
    assert gap.area_m2 == pytest.approx(10 * 5 * M2_PER_SQ_MILLIDEGREE, rel=0.02)
    assert ORIGIN_LAT + 1.5 * CELL < gap.lat < ORIGIN_LAT + 2 * CELL
    assert ORIGIN_LON + 3 * CELL < gap.lon < ORIGIN_LON + 4 * CELL


def test_slivers_under_the_threshold_are_ignored(town, settings):
    community = town.communities["B2"]
    grid = town.grids["B2-2"]
    # Pull the top edge down by 0.00001° (1.1 m): a 1,064 m² sliver along the 957 m edge.
    grid.geometry = square(ORIGIN_LON + 3 * CELL, ORIGIN_LAT + CELL, CELL, CELL - 0.00001)
    grid.save()
    settings.AREA_GAP_MIN_M2 = 2000
    assert sibling_report(community).gaps == []
    settings.AREA_GAP_MIN_M2 = 50
    assert [round(g.area_m2, -1) for g in sibling_report(community).gaps] == [1060]
    assert sibling_report(community, min_m2=5000).gaps == []


def test_child_outside_the_parent_is_reported(town):
    community = town.communities["A1"]
    build_area(
        Level.GRID,
        community,
        code="A1-OUT",
        geometry=square(ORIGIN_LON - 0.002, ORIGIN_LAT, 0.002, CELL),
        check_containment=False,
    )
    report = sibling_report(community)
    assert [o.code for o in report.outside] == ["A1-OUT"]
    assert not report.ok


def test_layers_are_compared_separately(town):
    community = town.communities["A1"]
    build_area(
        Level.GRID,
        community,
        layer=GridLayer.PARTY,
        geometry=square(ORIGIN_LON, ORIGIN_LAT, CELL, CELL),
    )
    assert sibling_report(community).ok  # the service layer is untouched
    party = sibling_report(community, GridLayer.PARTY)
    assert party.children == 1
    assert len(party.gaps) == 1  # the party grid covers only the lower half


def test_parent_without_boundary_measures_overlaps_only(db):
    community = build_area(Level.COMMUNITY, build_area(Level.STREET, build_area(Level.DISTRICT)))
    build_area(Level.GRID, community, geometry=square(104, 30, 0.01, 0.01))
    build_area(Level.GRID, community, geometry=square(104.005, 30, 0.01, 0.01))
    build_area(Level.GRID, community)
    report = sibling_report(community)
    assert not report.parent_has_geometry
    assert (len(report.overlaps), report.gaps, len(report.without_geometry)) == (1, [], 1)


def test_a_hundred_grids_take_one_query(db):
    street = build_area(Level.STREET, build_area(Level.DISTRICT))
    community = build_area(Level.COMMUNITY, street, geometry=square(104, 30, 0.1, 0.1))
    for i in range(10):
        for j in range(10):
            build_area(
                Level.GRID,
                community,
                geometry=square(104 + i * 0.01, 30 + j * 0.01, 0.0101, 0.01),
                check_containment=False,
            )
    with CaptureQueriesContext(connection) as queries:
        report = sibling_report(community)
    assert len(queries) == 1
    # Each grid overlaps its east neighbour by a 0.0001° strip (about 1,070 m²)...
    assert len(report.overlaps) == 90
    # ...and the east column sticks out of the community by the same strip.
    assert report.gaps == [] and len(report.outside) == 10


def test_check_inside_parent_allows_the_tolerance(town, settings):
    grid = build_area(
        Level.GRID,
        town.communities["A1"],
        geometry=square(ORIGIN_LON - 0.00002, ORIGIN_LAT, CELL, CELL),  # 2 m west of the edge
    )
    assert check_inside_parent(grid, town.communities["A1"]) == ""
    settings.AREA_CONTAINMENT_TOLERANCE_M = 1
    assert "partly outside" in check_inside_parent(grid, town.communities["A1"])
