import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.areas import locator, selectors, services
from civicgrid.areas.choices import ChangeKind, Level
from civicgrid.areas.models import Area, AreaChange, AreaParentLink, AreaRevision
from civicgrid.areas.services import AreaError
from civicgrid.core import clock
from civicgrid.core.models import AuditEntry
from civicgrid.registry.models import Building, Facility, GridAssignment, Household
from tests.builders import (
    CELL,
    ORIGIN_LAT,
    ORIGIN_LON,
    build_area,
    build_household,
    build_resident,
    build_user,
    square,
)

TODAY = dt.date(2025, 6, 1)
LAST_YEAR = dt.date(2024, 6, 1)


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen(dt.datetime(2025, 6, 1, 4, tzinfo=dt.UTC)):
        yield


@pytest.fixture
def town(db):
    # The town as it stood since 2024-01-01, so "last year" has a tree to look back at.
    from tests.builders import Town

    town = Town()
    Area.objects.update(valid_from=dt.date(2024, 1, 1))
    AreaParentLink.objects.update(valid_from=dt.date(2024, 1, 1))
    for area in [town.district, *town.streets.values(), *town.communities.values()]:
        area.refresh_from_db()
    for grid in town.grids.values():
        grid.refresh_from_db()
    return town


@pytest.fixture
def officer(personas):
    return personas["district_officer"]


def building(grid, address, lat=None, lon=None):
    return Building.objects.create(grid=grid, address=address, lat=lat, lon=lon)


def widen_street_b(town, officer):
    """Street B takes the whole district, so a community of street A fits inside it."""
    services.update_area(
        town.streets["B"],
        actor=officer,
        geometry=square(ORIGIN_LON, ORIGIN_LAT, 4 * CELL, 2 * CELL),
    )


def revision() -> int:
    return AreaRevision.objects.get(pk=1).value


# --- update ---------------------------------------------------------------------------------


def test_update_renames_reshapes_and_records_history(town, officer):
    grid = town.grids["A1-1"]
    before = revision()
    services.update_area(
        grid,
        actor=officer,
        name="新一网格",
        geometry=square(ORIGIN_LON, ORIGIN_LAT, CELL, CELL / 2),
        priority=3,
    )
    grid.refresh_from_db()
    assert (grid.name, grid.priority) == ("新一网格", 3)
    assert grid.max_lat == pytest.approx(ORIGIN_LAT + CELL / 2)
    assert grid.size_m2 == pytest.approx(town.grids["A1-2"].size_m2 / 2, rel=0.01)
    assert revision() > before
    kinds = set(AreaChange.objects.filter(targets=grid).values_list("kind", flat=True))
    assert {ChangeKind.RENAME, ChangeKind.RESHAPE} <= kinds
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_id=str(grid.pk))
    assert entry.actor == officer
    assert entry.fields["name"] == ["第1网格", "新一网格"]


def test_update_without_changes_writes_nothing(town, officer):
    grid = town.grids["A1-1"]
    services.update_area(grid, actor=officer, name=grid.name, geometry=grid.geometry)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE).exists()


def test_update_refuses_sibling_name_and_boundary_outside_parent(town, officer):
    grid = town.grids["A1-1"]
    with pytest.raises(AreaError) as exc:
        services.update_area(grid, actor=officer, name="第2网格")
    assert exc.value.field == "name"
    with pytest.raises(AreaError) as exc:
        services.update_area(
            grid, actor=officer, geometry=square(ORIGIN_LON, ORIGIN_LAT, 2 * CELL, CELL)
        )
    assert exc.value.field == "geometry"
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[104, 30.6], [104.01, 30.61], [104.01, 30.6], [104, 30.61], [104, 30.6]]],
    }
    with pytest.raises(AreaError, match="Self-intersection") as exc:
        services.update_area(grid, actor=officer, geometry=bowtie)
    assert exc.value.field == "geometry"


def test_shrinking_a_parent_must_keep_its_children(town, officer):
    community = town.communities["A1"]
    with pytest.raises(AreaError, match="leaves out parts of 第2网格"):
        services.update_area(
            community, actor=officer, geometry=square(ORIGIN_LON, ORIGIN_LAT, CELL, CELL)
        )


# --- re-parent ------------------------------------------------------------------------------


def test_reparent_moves_the_subtree_and_keeps_last_years_figure(town, officer):
    community = town.communities["A2"]
    grid = town.grids["A2-1"]
    build_household(grid)
    new_street = town.streets["B"]
    old_street = town.streets["A"]
    widen_street_b(town, officer)

    services.reparent_area(community, new_street, actor=officer, effective_date=dt.date(2025, 1, 1))

    community.refresh_from_db()
    grid.refresh_from_db()
    assert community.parent == new_street
    assert community.path == f"{new_street.path}{community.pk}/"
    assert grid.path == f"{community.path}{grid.pk}/"
    assert grid.depth == community.depth + 1

    # Today the grid's households count for street B; last year's figure for street A still
    # counts them, because the grid belonged to street A then.
    def households(street, day):
        return Household.objects.filter(area_id__in=selectors.subtree_ids_at(street, day)).count()

    assert households(new_street, TODAY) == 1
    assert households(old_street, TODAY) == 0
    assert households(old_street, LAST_YEAR) == 1
    assert households(new_street, LAST_YEAR) == 0
    assert (
        Household.objects.visible_to(build_user(role="street_dispatcher", area=new_street)).count()
        == 1
    )
    links = list(AreaParentLink.objects.filter(area=community).order_by("valid_from"))
    assert [(lk.parent_id, lk.valid_from, lk.valid_to) for lk in links] == [
        (old_street.pk, dt.date(2024, 1, 1), dt.date(2025, 1, 1)),
        (new_street.pk, dt.date(2025, 1, 1), None),
    ]
    assert AreaChange.objects.filter(
        kind=ChangeKind.REPARENT, effective_date=dt.date(2025, 1, 1)
    ).exists()


def test_reparent_day_boundaries(town, officer):
    community = town.communities["A2"]
    widen_street_b(town, officer)
    services.reparent_area(
        community, town.streets["B"], actor=officer, effective_date=dt.date(2025, 1, 1)
    )
    assert community.pk in selectors.members_at(town.streets["A"], dt.date(2024, 12, 31))
    assert community.pk not in selectors.members_at(town.streets["A"], dt.date(2025, 1, 1))
    assert community.pk in selectors.members_at(town.streets["B"], dt.date(2025, 1, 1))
    grids_then = selectors.members_at(town.streets["A"], LAST_YEAR, level=Level.GRID)
    assert grids_then == {town.grids[k].pk for k in ("A1-1", "A1-2", "A2-1", "A2-2")}


@pytest.mark.parametrize(
    "target, day, field",
    [
        ("street A", dt.date(2025, 1, 1), "parent"),  # already there
        ("grid", dt.date(2025, 1, 1), "parent"),  # a community cannot sit under a grid
        ("own grid", dt.date(2025, 1, 1), "parent"),  # inside itself
        ("street B", dt.date(2026, 1, 1), "effective_date"),  # future
        ("street B", dt.date(2023, 1, 1), "effective_date"),  # before it took its place
    ],
)
def test_reparent_refusals(town, officer, target, day, field):
    community = town.communities["A2"]
    targets = {
        "street A": town.streets["A"],
        "street B": town.streets["B"],
        "grid": town.grids["B1-1"],
        "own grid": town.grids["A2-1"],
    }
    with pytest.raises(AreaError) as exc:
        services.reparent_area(community, targets[target], actor=officer, effective_date=day)
    assert exc.value.field == field
    community.refresh_from_db()
    assert community.parent == town.streets["A"]


def test_reparent_refuses_a_name_taken_under_the_new_parent(town, officer):
    build_area(Level.COMMUNITY, town.streets["B"], name="A2社区", check_containment=False)
    with pytest.raises(AreaError) as exc:
        services.reparent_area(
            town.communities["A2"], town.streets["B"], actor=officer, effective_date=TODAY
        )
    assert exc.value.field == "name"


def test_reparent_refuses_a_parent_that_does_not_contain_the_area(town, officer):
    with pytest.raises(AreaError, match="partly outside") as exc:
        services.reparent_area(
            town.communities["A2"], town.streets["B"], actor=officer, effective_date=TODAY
        )
    assert exc.value.field == "parent"


def test_reparent_rewrites_paths_in_one_statement(town, officer):
    widen_street_b(town, officer)
    with CaptureQueriesContext(connection) as queries:
        services.reparent_area(
            town.communities["A2"], town.streets["B"], actor=officer, effective_date=TODAY
        )
    path_updates = [q for q in queries if q["sql"].startswith("UPDATE") and '"path" =' in q["sql"]]
    assert len(path_updates) == 1


# --- merge ----------------------------------------------------------------------------------


def test_merge_into_a_new_grid_moves_registry_rows_and_keeps_history(town, officer):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    house = building(a, "一号楼", ORIGIN_LAT + 0.001, ORIGIN_LON + 0.001)
    household = build_household(a, building=house)
    resident = build_resident(household)
    facility = Facility.objects.create(grid=b, code="F1", category_code="0101", name="路灯")
    worker = build_user("worker")
    GridAssignment.objects.create(grid=a, worker=worker, since=dt.date(2024, 1, 1))
    GridAssignment.objects.create(grid=b, worker=worker, since=dt.date(2024, 3, 1))

    merged = services.merge_areas(
        [a, b],
        into_name="合并网格",
        into_code="510199001001900",
        actor=officer,
        effective_date=dt.date(2025, 3, 1),
    )

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.valid_to, a.successor, b.valid_to, b.successor) == (
        dt.date(2025, 3, 1),
        merged,
        dt.date(2025, 3, 1),
        merged,
    )
    assert merged.valid_from == dt.date(2025, 3, 1)
    assert merged.parent == town.communities["A1"]
    assert merged.size_m2 == pytest.approx(a.size_m2 + b.size_m2, rel=0.001)
    assert merged.geometry["type"] == "Polygon"  # the two squares share an edge
    for row in (house, household, resident, facility):
        row.refresh_from_db()
    assert (house.grid, household.area, resident.area, facility.grid) == (
        merged,
        merged,
        merged,
        merged,
    )
    # The worker posted to both keeps one post, the earliest.
    assert list(GridAssignment.objects.filter(worker=worker).values_list("grid", "since")) == [
        (merged.pk, dt.date(2024, 1, 1))
    ]
    community = town.communities["A1"]
    assert selectors.members_at(community, LAST_YEAR) == {a.pk, b.pk}
    assert selectors.members_at(community, TODAY) == {merged.pk}
    change = AreaChange.objects.get(kind=ChangeKind.MERGE)
    assert set(change.sources.all()) == {a, b}
    assert list(change.targets.all()) == [merged]
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.CHANGE, object_id=str(merged.pk)
    ).exists()
    lat, lon = ORIGIN_LAT + CELL * 1.5, ORIGIN_LON + CELL / 2
    assert locator.locate(lat, lon).grid.code == "510199001001900"


def test_merge_into_one_of_the_sources_keeps_its_code_and_adopts_children(town, officer):
    keep, absorb = town.communities["A1"], town.communities["A2"]
    household = build_household(absorb)  # a household not yet placed in a grid
    grids = [town.grids["A2-1"], town.grids["A2-2"]]

    result = services.merge_areas(
        [keep, absorb],
        into_name="合并社区",
        into_code=keep.code,
        actor=officer,
        effective_date=dt.date(2025, 2, 1),
    )

    assert result.pk == keep.pk
    keep.refresh_from_db()
    absorb.refresh_from_db()
    assert keep.valid_to is None and keep.name == "合并社区"
    assert absorb.valid_to == dt.date(2025, 2, 1) and absorb.successor == keep
    assert keep.max_lon == pytest.approx(ORIGIN_LON + 2 * CELL)
    for grid in grids:
        grid.refresh_from_db()
        assert grid.parent == keep
        assert grid.path.startswith(keep.path)
    # Both communities had a 第1网格 and a 第2网格: the adopted ones carry their old name.
    assert [g.name for g in grids] == ["第1网格（A2社区）", "第2网格（A2社区）"]
    assert town.grids["A1-1"].name == "第1网格"
    household.refresh_from_db()
    assert household.area == keep
    assert selectors.members_at(absorb, LAST_YEAR) == {g.pk for g in grids}
    assert selectors.members_at(absorb, TODAY) == set()
    assert {g.pk for g in grids} <= selectors.members_at(keep, TODAY)


@pytest.mark.parametrize(
    "keys, code, field",
    [
        (["A1-1"], "X1", "sources"),  # one area only
        (["A1-1", "B1-1"], "X1", "sources"),  # different parents
        (["A1-1", "A1-2"], "510199001002001", "into_code"),  # code of another area
    ],
)
def test_merge_refusals(town, officer, keys, code, field):
    with pytest.raises(AreaError) as exc:
        services.merge_areas(
            [town.grids[k] for k in keys],
            into_name="X",
            into_code=code,
            actor=officer,
            effective_date=TODAY,
        )
    assert exc.value.field == field
    assert not Area.objects.filter(valid_to__isnull=False).exists()


def test_merge_refuses_retired_source(town, officer):
    a, b, c = (
        build_area(Level.GRID, town.communities["B1"], check_containment=False) for _ in range(3)
    )
    services.merge_areas(
        [a, b], into_name="AB", into_code="AB1", actor=officer, effective_date=TODAY
    )
    with pytest.raises(AreaError, match="retired") as exc:
        services.merge_areas(
            [a, c], into_name="AC", into_code="AC1", actor=officer, effective_date=TODAY
        )
    assert exc.value.field == "sources"


def test_merge_moves_role_assignments_so_staff_keep_their_view(town, officer):
    from civicgrid.accounts.choices import Role
    from civicgrid.accounts.models import RoleAssignment, Unit
    from civicgrid.core.scoping import scope_of

    a, b = town.grids["A1-1"], town.grids["A1-2"]
    only_b = build_user("only_b", role=Role.GRID_WORKER, area=b)
    both = build_user("both", role=Role.GRID_WORKER, area=a)
    RoleAssignment.objects.create(user=both, role=Role.GRID_WORKER, area=b)
    RoleAssignment.objects.create(user=both, role=Role.AUDITOR, area=b)
    unit = Unit.objects.create(code="U1", name="物业公司", kind="company")
    unit.areas.add(b)

    services.merge_areas(
        [a, b], into_name="第1网格", into_code=a.code, actor=officer, effective_date=TODAY
    )

    # b's roles now name a (the survivor); the duplicate grid-worker role of `both` is one
    assert list(RoleAssignment.objects.filter(user=only_b).values_list("area", "role")) == [
        (a.pk, Role.GRID_WORKER)
    ]
    assert set(RoleAssignment.objects.filter(user=both).values_list("area", "role")) == {
        (a.pk, Role.GRID_WORKER),
        (a.pk, Role.AUDITOR),
    }
    assert scope_of(only_b).covers_path(a.path)
    assert set(unit.areas.values_list("pk", flat=True)) == {a.pk, b.pk}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, object_id=str(a.pk))
    # moved: only_b's and both's auditor role; both's second grid-worker role was dropped
    assert (entry.fields["roles_moved"], entry.fields["units_extended"]) == (2, 1)


def test_split_leaves_role_assignments_and_lists_them(town, officer):
    from civicgrid.accounts.choices import Role
    from civicgrid.accounts.models import RoleAssignment, Unit
    from civicgrid.core.scoping import scope_of

    grid = town.grids["B1-1"]
    worker = build_user("b_worker", role=Role.GRID_WORKER, area=grid)
    role = RoleAssignment.objects.get(user=worker)
    unit = Unit.objects.create(code="U2", name="环卫所", kind="department")
    unit.areas.add(grid)

    result = services.split_area(grid, halves(grid), actor=officer, effective_date=TODAY)

    assert {(u.model, u.pk) for u in result.unplaced} == {
        ("accounts.RoleAssignment", role.pk),
        ("accounts.Unit", unit.pk),
    }
    role.refresh_from_db()
    assert role.area == grid  # which half the worker gets is a person's decision
    assert not scope_of(worker).covers_path(result[0].path)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, object_id=str(grid.pk))
    assert f"accounts.RoleAssignment#{role.pk}" in entry.fields["unplaced"]


# --- split ----------------------------------------------------------------------------------


def halves(grid):
    """West and east halves of a lattice grid."""
    ring = grid.geometry["coordinates"][0]
    x0, y0 = ring[0]
    return [
        {"name": "西半", "code": f"{grid.code}-W", "geometry": square(x0, y0, CELL / 2, CELL)},
        {
            "name": "东半",
            "code": f"{grid.code}-E",
            "geometry": square(x0 + CELL / 2, y0, CELL / 2, CELL),
        },
    ]


def test_split_places_buildings_by_point_and_reports_the_rest(town, officer):
    grid = town.grids["B1-1"]
    x0, y0 = grid.geometry["coordinates"][0][0]
    west = building(grid, "西楼", y0 + 0.005, x0 + 0.002)
    east = building(grid, "东楼", y0 + 0.005, x0 + 0.008)
    lost = building(grid, "无坐标楼")
    west_home = build_household(grid, building=west)
    east_home = build_household(grid, building=east)
    lost_home = build_household(grid, building=lost)
    west_person = build_resident(west_home)
    east_person = build_resident(east_home)
    lost_person = build_resident(lost_home)
    loner = build_resident(area=grid)
    worker_post = GridAssignment.objects.create(grid=grid, worker=build_user("w"))

    result = services.split_area(
        grid, halves(grid), actor=officer, effective_date=dt.date(2025, 4, 1)
    )

    west_grid, east_grid = result
    assert [g.name for g in result] == ["西半", "东半"]
    for row in (
        west,
        east,
        lost,
        west_home,
        east_home,
        lost_home,
        west_person,
        east_person,
        lost_person,
        loner,
    ):
        row.refresh_from_db()
    assert (west.grid, west_home.area, west_person.area) == (west_grid, west_grid, west_grid)
    assert (east.grid, east_home.area, east_person.area) == (east_grid, east_grid, east_grid)
    grid.refresh_from_db()
    assert grid.valid_to == dt.date(2025, 4, 1)
    assert (lost.grid, lost_home.area, lost_person.area, loner.area) == (grid, grid, grid, grid)
    assert {(u.model, u.pk) for u in result.unplaced} == {
        ("registry.Building", lost.pk),
        ("registry.Household", lost_home.pk),
        ("registry.Resident", lost_person.pk),
        ("registry.Resident", loner.pk),
        ("registry.GridAssignment", worker_post.pk),
    }
    assert result.placed == {
        "registry.Building": 2,
        "registry.Household": 2,
        "registry.Resident": 2,
    }
    community = town.communities["B1"]
    assert grid.pk in selectors.members_at(community, LAST_YEAR)
    assert {west_grid.pk, east_grid.pk}.isdisjoint(selectors.members_at(community, LAST_YEAR))
    assert {west_grid.pk, east_grid.pk} <= selectors.members_at(community, TODAY)
    assert grid.pk not in selectors.members_at(community, TODAY)
    change = AreaChange.objects.get(kind=ChangeKind.SPLIT)
    assert list(change.sources.all()) == [grid]
    assert set(change.targets.all()) == {west_grid, east_grid}
    assert locator.locate(y0 + 0.005, x0 + 0.008).grid.code == east_grid.code


def test_split_community_moves_each_grid_to_the_part_it_lies_in(town, officer):
    community = town.communities["A1"]
    lower, upper = town.grids["A1-1"], town.grids["A1-2"]
    parts = [
        {"name": "南社区", "code": "S1", "geometry": square(ORIGIN_LON, ORIGIN_LAT, CELL, CELL)},
        {
            "name": "北社区",
            "code": "N1",
            "geometry": square(ORIGIN_LON, ORIGIN_LAT + CELL, CELL, CELL),
        },
    ]
    south, north = services.split_area(community, parts, actor=officer, effective_date=TODAY)
    lower.refresh_from_db()
    upper.refresh_from_db()
    assert lower.parent == south and upper.parent == north
    assert upper.path == f"{north.path}{upper.pk}/"
    assert selectors.members_at(community, LAST_YEAR) == {lower.pk, upper.pk}
    assert selectors.subtree_ids_at(south, TODAY) == {south.pk, lower.pk}


@pytest.mark.parametrize(
    "parts, message",
    [
        (lambda g: halves(g)[:1], "at least two"),
        (
            lambda g: [
                halves(g)[0],
                {**halves(g)[1], "geometry": square(*g.geometry["coordinates"][0][0], CELL, CELL)},
            ],
            "overlap",
        ),
        (
            lambda g: [
                halves(g)[0],
                {
                    **halves(g)[1],
                    "geometry": square(
                        g.geometry["coordinates"][0][0][0] + CELL / 2,
                        g.geometry["coordinates"][0][0][1],
                        CELL / 2,
                        CELL / 2,
                    ),
                },
            ],
            "uncovered",
        ),
        (lambda g: [halves(g)[0], {**halves(g)[1], "code": g.code}], "already used"),
        (
            lambda g: [
                halves(g)[0],
                {**halves(g)[1], "geometry": {"type": "Point", "coordinates": [104, 30]}},
            ],
            "Polygon",
        ),
    ],
)
def test_split_refusals_write_nothing(town, officer, parts, message):
    grid = town.grids["B2-1"]
    with pytest.raises(AreaError, match=message) as exc:
        services.split_area(grid, parts(grid), actor=officer, effective_date=TODAY)
    assert exc.value.field == "parts"
    grid.refresh_from_db()
    assert grid.valid_to is None
    assert not AreaChange.objects.filter(kind=ChangeKind.SPLIT).exists()


# --- retire ---------------------------------------------------------------------------------


def test_retire_is_refused_while_children_or_registry_rows_remain(town, officer):
    with pytest.raises(AreaError, match="sub-areas"):
        services.retire_area(town.communities["B2"], actor=officer, effective_date=TODAY)
    grid = town.grids["B2-2"]
    home = build_household(grid)
    with pytest.raises(AreaError, match="1 household"):
        services.retire_area(grid, actor=officer, effective_date=TODAY)
    home.delete()
    services.retire_area(grid, actor=officer, effective_date=dt.date(2025, 5, 1))
    grid.refresh_from_db()
    assert grid.valid_to == dt.date(2025, 5, 1)
    assert grid.pk in selectors.members_at(town.communities["B2"], dt.date(2025, 4, 30))
    assert grid.pk not in selectors.members_at(town.communities["B2"], dt.date(2025, 5, 1))
    lat, lon = town.centre(grid)
    assert locator.locate(lat, lon, tolerance_m=0).status == locator.Status.OUTSIDE
    with pytest.raises(AreaError, match="retired"):
        services.update_area(grid, actor=officer, name="x")


def test_every_change_bumps_the_revision(town, officer):
    widen_street_b(town, officer)
    before = revision()
    services.reparent_area(
        town.communities["A2"], town.streets["B"], actor=officer, effective_date=TODAY
    )
    assert revision() > before
