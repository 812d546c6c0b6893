import math

import pytest
from django.db import connection, transaction

from civicgrid.areas import locator, services
from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.geometry import METRES_PER_DEGREE_LAT
from civicgrid.areas.locator import Status
from civicgrid.registry.models import Building
from tests.builders import CELL, ORIGIN_LAT, ORIGIN_LON, build_area, square


def bump_revision_elsewhere() -> None:
    """What another worker process does on commit of an area change, as seen from here."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE areas_arearevision SET value = value + 1")


def test_point_resolves_to_grid_and_its_chain(town):
    grid = town.grids["B2-2"]
    lat, lon = town.centre(grid)
    found = locator.locate(lat, lon)
    assert found.status == Status.INSIDE
    assert found.grid.code == grid.code
    assert found.community.code == town.communities["B2"].code
    assert found.street.code == town.streets["B"].code
    assert found.district.code == town.district.code
    assert [ref.level for ref in found.chain] == ["grid", "community", "street", "district"]


def test_point_outside_everything_says_so(town):
    found = locator.locate(ORIGIN_LAT - 1, ORIGIN_LON - 1)
    assert found.status == Status.OUTSIDE
    assert found.grid is None
    assert found.as_dict()["grid"] is None


def test_point_in_gap_goes_to_nearest_grid_within_tolerance(town):
    # 20 m west of the district's west edge, at the height of grid A1-1.
    lat = ORIGIN_LAT + CELL / 2
    lon = ORIGIN_LON - 20 / 96000
    found = locator.locate(lat, lon, tolerance_m=50)
    assert found.status == Status.NEAREST
    assert found.grid.code == town.grids["A1-1"].code
    assert 15 < found.distance_m < 25
    assert locator.locate(lat, lon, tolerance_m=10).status == Status.OUTSIDE


def test_nearest_is_measured_in_metres_not_degrees(db):
    # A point 18 m east of grid W and 20 m south of grid N. In degrees N looks nearer
    # (a degree of longitude is shorter than one of latitude), on the ground W is.
    community = build_area(
        Level.COMMUNITY,
        build_area(Level.STREET, build_area(Level.DISTRICT)),
    )
    lat, lon = 30.6, 104.0
    d_lon = 18 / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
    d_lat = 20 / METRES_PER_DEGREE_LAT
    assert d_lon > d_lat
    west = build_area(
        Level.GRID,
        community,
        code="W",
        geometry=square(lon - d_lon - 0.01, lat - 0.01, 0.01, 0.01 + d_lat),
    )
    build_area(
        Level.GRID, community, code="N", geometry=square(lon - d_lon, lat + d_lat, 0.02, 0.01)
    )
    found = locator.locate(lat, lon, tolerance_m=50)
    assert found.status == Status.NEAREST
    assert found.grid.code == west.code
    assert found.distance_m == pytest.approx(18, abs=0.5)


def test_overlap_smaller_grid_wins_unless_priority(town):
    community = town.communities["A1"]
    small = build_area(
        Level.GRID, community, geometry=square(ORIGIN_LON + 0.002, ORIGIN_LAT + 0.002, 0.002, 0.002)
    )
    big = town.grids["A1-1"]
    lat, lon = ORIGIN_LAT + 0.003, ORIGIN_LON + 0.003
    found = locator.locate(lat, lon)
    assert found.status == Status.OVERLAP
    assert found.grid.code == small.code
    assert found.overlaps == (big.code,)
    services.update_area(big, actor=None, priority=5)
    found = locator.locate(lat, lon)
    assert (found.grid.code, found.overlaps) == (big.code, (small.code,))


def test_tie_break_is_the_lowest_code_whatever_the_creation_order(town):
    community = town.communities["B1"]
    cell = square(ORIGIN_LON + 2 * CELL + 0.001, ORIGIN_LAT + 0.001, 0.003, 0.003)
    build_area(Level.GRID, community, code="Z-late", geometry=cell)
    build_area(Level.GRID, community, code="M-middle", geometry=cell)
    build_area(Level.GRID, community, code="A-early", geometry=cell)
    lat, lon = ORIGIN_LAT + 0.002, ORIGIN_LON + 2 * CELL + 0.002
    answers = set()
    for _ in range(3):
        locator.invalidate()
        found = locator.locate(lat, lon)
        answers.add((found.grid.code, found.overlaps))
    # Same priority and size: the lowest code wins, the rest are listed in rank order; the
    # big lattice grid B1-1 comes last because it is larger.
    assert answers == {("A-early", ("M-middle", "Z-late", town.grids["B1-1"].code))}


def test_grids_of_other_layers_do_not_answer_for_the_service_layer(town):
    party = build_area(
        Level.GRID,
        town.communities["A1"],
        layer=GridLayer.PARTY,
        geometry=square(ORIGIN_LON, ORIGIN_LAT, CELL, 2 * CELL),
    )
    lat, lon = town.centre(town.grids["A1-2"])
    assert locator.locate(lat, lon).grid.code == town.grids["A1-2"].code
    assert locator.locate(lat, lon, layer=GridLayer.PARTY).grid.code == party.code


def test_grid_created_through_the_services_is_found_at_once(town):
    lat, lon = ORIGIN_LAT + 2 * CELL + 0.005, ORIGIN_LON + 0.005  # just north of the district
    assert locator.locate(lat, lon, tolerance_m=0).status == Status.OUTSIDE
    services.update_area(
        town.district, actor=None, geometry=square(ORIGIN_LON, ORIGIN_LAT, 4 * CELL, 3 * CELL)
    )
    services.update_area(
        town.streets["A"], actor=None, geometry=square(ORIGIN_LON, ORIGIN_LAT, 2 * CELL, 3 * CELL)
    )
    services.update_area(
        town.communities["A1"], actor=None, geometry=square(ORIGIN_LON, ORIGIN_LAT, CELL, 3 * CELL)
    )
    new = build_area(
        Level.GRID,
        town.communities["A1"],
        geometry=square(ORIGIN_LON, ORIGIN_LAT + 2 * CELL, CELL, CELL),
    )
    found = locator.locate(lat, lon, tolerance_m=0)
    assert (found.status, found.grid.code) == (Status.INSIDE, new.code)


def test_change_made_by_another_process_is_seen_once_the_revision_moves(town):
    grid = town.grids["A1-1"]
    lat, lon = town.centre(grid)
    assert locator.locate(lat, lon).grid.name == "第1网格"  # this process builds its index
    with connection.cursor() as cursor:  # another process renames the grid...
        cursor.execute("UPDATE areas_area SET name = %s WHERE id = %s", ["改名网格", grid.pk])
    assert locator.locate(lat, lon).grid.name == "第1网格"  # ...our index is still valid...
    bump_revision_elsewhere()  # ...until its commit moves the revision.
    assert locator.locate(lat, lon).grid.name == "改名网格"


def test_revision_is_rechecked_at_most_once_per_interval(town, settings, monkeypatch):
    settings.LOCATOR_VERSION_CHECK_SECONDS = 30
    now = [1000.0]
    monkeypatch.setattr(locator.time, "monotonic", lambda: now[0])
    grid = town.grids["A1-1"]
    lat, lon = town.centre(grid)
    assert locator.locate(lat, lon).grid.name == "第1网格"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE areas_area SET name = %s WHERE id = %s", ["改名网格", grid.pk])
    bump_revision_elsewhere()
    now[0] += 29
    assert locator.locate(lat, lon).grid.name == "第1网格"  # within the interval: no query
    now[0] += 2
    assert locator.locate(lat, lon).grid.name == "改名网格"


def test_index_built_inside_a_rolled_back_change_is_not_reused(town):
    grid = town.grids["A1-1"]
    lat, lon = town.centre(grid)

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        services.update_area(grid, actor=None, name="临时名")
        assert locator.locate(lat, lon).grid.name == "临时名"  # built from uncommitted rows
        raise Abandon
    # Another process commits a change of its own: the revision moves on from where it was
    # before the rollback, and must not land on the number our stale index carries.
    services.bump_revision()
    assert locator.locate(lat, lon).grid.name == "第1网格"


# --- addresses ------------------------------------------------------------------------------


@pytest.fixture
def buildings(town):
    grid = town.grids["A2-1"]
    lat, lon = town.centre(grid)
    return {
        "road": Building.objects.create(grid=grid, address="幸福路1号", lat=lat, lon=lon),
        "court": Building.objects.create(
            grid=town.grids["A2-2"], address="幸福路1号院2栋", lat=lat + CELL, lon=lon
        ),
    }


def test_address_resolves_through_the_longest_matching_building(town, buildings):
    found = locator.locate_address("幸福路1号院2栋3单元501")
    assert found.status == Status.INSIDE
    assert found.grid.code == town.grids["A2-2"].code
    assert found.community.code == town.communities["A2"].code
    assert (found.building_id, found.matched_address) == (buildings["court"].pk, "幸福路1号院2栋")
    found = locator.locate_address("幸福路1号3单元")
    assert found.grid.code == town.grids["A2-1"].code


def test_address_is_normalised_before_matching(town, buildings):
    found = locator.locate_address(" 幸福路１号 ３单元 ")  # full-width digits and spaces
    assert found.building_id == buildings["road"].pk


def test_unknown_address_is_outside(town, buildings):
    assert locator.locate_address("光明路9号").status == Status.OUTSIDE
    assert locator.locate_address("幸").status == Status.OUTSIDE


def test_address_on_another_layer_is_located_by_the_buildings_point(town, buildings):
    party = build_area(
        Level.GRID,
        town.communities["A2"],
        layer=GridLayer.PARTY,
        geometry=square(ORIGIN_LON + CELL, ORIGIN_LAT, CELL, 2 * CELL),
    )
    found = locator.locate_address("幸福路1号", layer=GridLayer.PARTY)
    assert (found.grid.code, found.building_id) == (party.code, buildings["road"].pk)
