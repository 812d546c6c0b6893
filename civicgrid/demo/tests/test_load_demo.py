"""manage.py load_demo at a tiny scale (two streets, ~3 households per grid) and demo_logins."""

from __future__ import annotations

import random
from io import StringIO

import pytest
import shapely
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import override_settings
from shapely.geometry import shape

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment, User
from civicgrid.areas import locator
from civicgrid.areas.choices import Level
from civicgrid.areas.locator import Status
from civicgrid.areas.models import Area, AreaParentLink
from civicgrid.core.models import AuditEntry
from civicgrid.demo import catalogue
from civicgrid.registry.choices import ResidentTag
from civicgrid.registry.coverage import coverage_report
from civicgrid.registry.idnumbers import parse_id_number, validate_credit_code
from civicgrid.registry.models import (
    Building,
    Facility,
    GridAssignment,
    Household,
    Organization,
    Place,
    Resident,
)

TINY = {"scale": 0.005, "streets": 2}
# The same cheap hasher conftest.py sets per test, so the module's logins can be checked.
CHEAP_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MODELS = (Area, Building, Household, Resident, Place, Facility, Organization, GridAssignment, User)


def load(**options) -> str:
    out = StringIO()
    call_command("load_demo", **{**TINY, **options}, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One tiny demo for the whole module, rolled back at the end."""
    with (
        override_settings(PASSWORD_HASHERS=CHEAP_HASHER),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        output = load()
        yield output
        transaction.set_rollback(True)


@pytest.fixture
def district(demo, db) -> Area:
    return Area.objects.get(code="510106000000")


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_real_district_and_streets_with_two_built(district, demo):
    assert district.name == "金牛区" and district.parent.name == "成都市"
    streets = Area.objects.filter(parent=district, level=Level.STREET).order_by("code")
    assert streets.count() == 13
    assert streets[0].code == "510106024000" and streets[0].name == "西安路街道"
    assert all(street.geometry for street in streets)
    built = streets.annotate(n=Count("children")).filter(n__gt=0)
    assert [s.code for s in built] == ["510106024000", "510106025000"]
    assert "西安路街道" in demo and "Done in" in demo


def test_codes_follow_the_statistical_scheme(district):
    for street in Area.objects.filter(parent=district):
        communities = list(street.children.order_by("code"))
        for i, community in enumerate(communities, start=1):
            assert community.level == Level.COMMUNITY
            assert community.code == f"{street.code[:9]}{i:03d}"
            grids = list(community.children.order_by("code"))
            assert grids, community.code
            for j, grid in enumerate(grids, start=1):
                assert grid.level == Level.GRID
                assert grid.code == f"{community.code}{j:03d}"
                assert grid.path == f"{community.path}{grid.pk}/"
                assert grid.depth == community.depth + 1


def test_new_areas_have_parent_links(district):
    below = Area.objects.filter(path__startswith=district.path, level__in=["community", "grid"])
    links = AreaParentLink.objects.filter(area__in=below, valid_to__isnull=True)
    assert links.count() == below.count()
    assert not links.exclude(parent_id=None).filter(area__parent_id=None).exists()


def test_grids_tile_each_community_and_communities_tile_streets(district):
    for parent in Area.objects.filter(
        path__startswith=district.path, level__in=[Level.STREET, Level.COMMUNITY]
    ):
        children = [shape(c.geometry) for c in parent.children.all()]
        if not children:
            continue
        outer = shape(parent.geometry)
        union = shapely.union_all(children)
        assert outer.symmetric_difference(union).area < outer.area * 1e-9
        assert sum(c.area for c in children) - union.area < outer.area * 1e-9  # no overlaps


def test_random_points_in_built_streets_resolve_to_their_grid(district):
    r = random.Random(5)
    for street in (
        Area.objects.filter(parent=district).annotate(n=Count("children")).filter(n__gt=0)
    ):
        polygon = shape(street.geometry)
        min_x, min_y, max_x, max_y = polygon.bounds
        found = 0
        while found < 200:
            lon, lat = r.uniform(min_x, max_x), r.uniform(min_y, max_y)
            if not polygon.contains(shapely.Point(lon, lat)):
                continue
            found += 1
            location = locator.locate(lat, lon, tolerance_m=0)
            assert location.status == Status.INSIDE
            assert location.street.code == street.code
            assert location.district.code == district.code
            grid = Area.objects.get(pk=location.grid.id)
            assert shape(grid.geometry).covers(shapely.Point(lon, lat))


def test_buildings_places_and_facilities_lie_in_their_grid(district):
    for model in (Building, Place, Facility):
        for row in model.objects.all()[:300]:
            assert locator.locate(row.lat, row.lon, tolerance_m=0).grid.id == row.grid_id


def test_residents_have_valid_ids_consistent_with_their_record(district):
    residents = list(Resident.objects.select_related("household"))
    assert residents
    for resident in residents:
        number, birth, gender = parse_id_number(resident.id_number)
        assert number.startswith("510106")
        assert (birth, gender) == (resident.birth_date, resident.gender)
        assert set(resident.tag_list) <= set(ResidentTag.values)
        if resident.household_id:
            assert resident.area_id == resident.household.area_id
    assert 2 <= len(residents) / Household.objects.count() <= 3


def test_households_live_in_buildings_of_their_grid(district):
    placed = Household.objects.filter(building__isnull=False).select_related("building")
    assert placed.exists()
    for household in placed:
        assert household.area_id == household.building.grid_id
        assert household.address == (
            f"{household.building.address}{household.entrance}{household.room}"
        )
        assert household.address.startswith("成都市金牛区")


def test_organisations_have_valid_credit_codes_and_ratings(district):
    organisations = Organization.objects.all()
    assert organisations.filter(kind="party_branch").exists()
    for organisation in organisations.exclude(credit_code=None):
        assert validate_credit_code(organisation.credit_code) == organisation.credit_code
    assert set(organisations.exclude(rating="").values_list("kind", flat=True)) == {"social"}


def test_coverage_report_has_gaps_to_show(district):
    report = coverage_report(User.objects.get(username="district"), district)
    assert report.households_without_grid > 0
    assert report.residents_without_household > 0
    staffed = {row.staff for row in report.grids}
    assert {0, 2, 3, 4, 6} <= staffed


def test_every_role_has_a_login_with_the_demo_password(district):
    password = catalogue.load("logins")["password"]
    assignments = RoleAssignment.objects.filter(
        user__username__in=[s["username"] for s in catalogue.load("logins")["users"]]
    ).select_related("user", "area", "unit")
    by_role = {a.role: a for a in assignments}
    assert set(by_role) == set(Role.values)
    for assignment in assignments:
        assert check_password(password, assignment.user.password)
    assert by_role[Role.ADMINISTRATOR].user.is_superuser
    assert by_role[Role.DISTRICT_OFFICER].area == district
    assert by_role[Role.STREET_DISPATCHER].area.code == "510106024000"
    community = by_role[Role.COMMUNITY_WORKER].area
    assert community.code == "510106024001"
    grid = by_role[Role.GRID_WORKER].area
    assert grid.parent == community and by_role[Role.RESIDENT].area == grid
    assert GridAssignment.objects.filter(grid=grid, worker=by_role[Role.GRID_WORKER].user).exists()
    assert by_role[Role.DEPARTMENT_HANDLER].unit.name == "金牛区城市管理局"
    assert district in by_role[Role.DEPARTMENT_HANDLER].unit.areas.all()


def test_demo_logins_prints_every_login_and_the_url(district):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    for spec in catalogue.load("logins")["users"]:
        assert f"{spec['username']} " in text
    assert "西安路街道西安路社区第1网格 510106024001001" in text


def test_loading_again_duplicates_nothing(district):
    before, audits = counts(), AuditEntry.objects.count()
    output = load()
    assert "already loaded" in output
    assert counts() == before
    assert AuditEntry.objects.count() == audits


def test_loading_more_streets_builds_only_the_missing_ones(district):
    first = set(Area.objects.filter(level=Level.GRID).values_list("id", flat=True))
    output = load(streets=3)
    assert "荷花池街道" in output and "西安路街道" not in output
    grids = set(Area.objects.filter(level=Level.GRID).values_list("id", flat=True))
    assert first < grids
    assert Area.objects.filter(level=Level.COMMUNITY, code__startswith="510106027").exists()


def test_a_login_changed_by_hand_is_restored(district):
    User.objects.filter(username="street").update(is_active=False)
    assert "refreshed its logins" in load()
    assert User.objects.get(username="street").is_active


def _load_audits() -> int:
    # The request loop's own rows (cases made through the services, units re-covering the
    # rebuilt communities, dispatch rules) are the services' audit, not the load's.
    return (
        AuditEntry.objects.exclude(object_type__startswith="cases.")
        .exclude(object_type="accounts.unit")
        .count()
    )


def test_reset_rebuilds_the_same_demo_with_one_audit_row(district):
    before, audits = counts(), _load_audits()
    old_grid = Area.objects.get(code="510106024001001")
    load(reset=True)
    assert counts() == before
    assert not Area.objects.filter(pk=old_grid.pk).exists()
    assert Area.objects.get(code="510106024001001").geometry == old_grid.geometry
    assert _load_audits() == audits + 1
    entry = AuditEntry.objects.filter(object_type="areas.area").order_by("-id").first()
    assert entry.fields["reset"] is True and entry.area_path == district.path
