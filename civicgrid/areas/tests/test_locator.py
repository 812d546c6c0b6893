from django.db import connection

from civicgrid.areas import locator
from civicgrid.areas.choices import Level
from civicgrid.areas.locator import Status
from tests.builders import CELL, ORIGIN_LAT, ORIGIN_LON, build_area, square


def test_point_resolves_to_grid_and_its_chain(town):
    grid = town.grids["B2-2"]
    lat, lon = town.centre(grid)
    found = locator.locate(lat, lon)
    assert found.status == Status.INSIDE
    assert found.grid.code == grid.code
    assert found.community.code == town.communities["B2"].code
    assert found.street.code == town.streets["B"].code
    assert found.district.code == town.district.code


def test_point_outside_everything_says_so(town):
    found = locator.locate(ORIGIN_LAT - 1, ORIGIN_LON - 1)
    assert found.status == Status.OUTSIDE
    assert found.grid is None


def test_point_in_gap_goes_to_nearest_grid_within_tolerance(town):
    # 20 m west of the district's west edge, at the height of grid A1-1.
    lat = ORIGIN_LAT + CELL / 2
    lon = ORIGIN_LON - 20 / 96000
    found = locator.locate(lat, lon, tolerance_m=50)
    assert found.status == Status.NEAREST
    assert found.grid.code == town.grids["A1-1"].code
    assert 15 < found.distance_m < 25
    assert locator.locate(lat, lon, tolerance_m=10).status == Status.OUTSIDE


def test_overlap_smaller_grid_wins_unless_priority(town):
    community = town.communities["A1"]
    small = build_area(
        Level.GRID, community, geometry=square(ORIGIN_LON + 0.002, ORIGIN_LAT + 0.002, 0.002, 0.002)
    )
    lat, lon = ORIGIN_LAT + 0.003, ORIGIN_LON + 0.003
    found = locator.locate(lat, lon)
    assert found.status == Status.OVERLAP
    assert found.grid.code == small.code
    assert found.overlaps == (town.grids["A1-1"].code,)
    big = town.grids["A1-1"]
    big.priority = 5
    big.save()
    with connection.cursor() as cursor:  # another process bumps the revision
        cursor.execute("UPDATE areas_arearevision SET value = value + 1")
    assert locator.locate(lat, lon).grid.code == big.code


def test_new_grid_is_seen_without_restart(town):
    lat, lon = ORIGIN_LAT + 0.0205, ORIGIN_LON + 0.005
    assert locator.locate(lat, lon, tolerance_m=0).status == Status.OUTSIDE
    build_area(
        Level.GRID,
        town.communities["A1"],
        geometry=square(ORIGIN_LON, ORIGIN_LAT + 2 * CELL - 0.0001, CELL, 0.0001),
        check_containment=False,
    )
    # Above, just outside the district: a sliver grid that sticks out is refused by default,
    # so here we only check that the index sees a new grid right away.
    assert (
        locator.locate(ORIGIN_LAT + 2 * CELL - 0.00005, lon, tolerance_m=0).status == Status.OVERLAP
    )
