"""The registry API's writes by hand: buildings, households, grid staffing; and the buildings
workbook. Scope (404), capability (403), field errors (422), audit rows, all or nothing."""

import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from civicgrid.accounts.api import issue_token
from civicgrid.accounts.choices import Role
from civicgrid.core.models import AuditEntry
from civicgrid.registry.models import Building, GridAssignment, Household
from tests.builders import Town, build_household, build_resident, build_user

API = "/api/v1"
JSON = "application/json"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def homes(town):
    mine = Building.objects.create(grid=town.grids["A1-1"], address="锦江路8号3栋")
    far = Building.objects.create(grid=town.grids["B1-1"], address="青羊路1号")
    home = build_household(
        town.grids["A1-1"],
        address="锦江路8号3栋1单元101",
        building=mine,
        entrance="1单元",
        room="101",
        contact_name="王小明",
        contact_phone="13812345678",
    )
    away = build_household(town.grids["B1-1"], address="青羊路1号5", building=far)
    return {"mine": mine, "far": far, "home": home, "away": away}


# --- buildings ------------------------------------------------------------------------------


def test_register_a_building(town, personas):
    grid = town.grids["A1-1"]
    response = as_user(personas["grid_worker"]).post(
        f"{API}/buildings",
        {"grid": grid.pk, "address": "锦江路 9号", "estate": "锦江苑", "floors": 18},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == "锦江路9号" and body["grid"]["code"] == grid.code
    assert body["household_count"] == 0
    assert AuditEntry.objects.filter(
        action="create", object_type="registry.building", object_id=str(body["id"])
    ).exists()


def test_register_a_building_located_by_its_point_with_a_token(town, personas):
    _, key = issue_token(personas["community_worker"], "survey tablet", actor=None)
    lat, lon = Town.centre(town.grids["A1-2"])
    response = Client(enforce_csrf_checks=True).post(
        f"{API}/buildings",
        {"address": "锦江路10号", "lat": lat, "lon": lon},
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["grid"]["id"] == town.grids["A1-2"].pk


def test_building_refusals(town, personas, homes):
    grid = town.grids["A1-1"]
    # visible grid, no registry.edit
    response = as_user(personas["district_officer"]).post(
        f"{API}/buildings", {"grid": grid.pk, "address": "x1"}, content_type=JSON
    )
    assert response.status_code == 403
    client = as_user(personas["grid_worker"])
    hidden = client.post(
        f"{API}/buildings", {"grid": town.grids["B1-1"].pk, "address": "x2"}, content_type=JSON
    )
    missing = client.post(f"{API}/buildings", {"grid": 999999, "address": "x3"}, content_type=JSON)
    assert errors_of(hidden) == errors_of(missing) == {"grid": "Not found."}
    duplicate = client.post(
        f"{API}/buildings", {"grid": grid.pk, "address": "锦江路８号３栋"}, content_type=JSON
    )
    assert errors_of(duplicate).keys() == {"address"}
    assert errors_of(
        client.post(f"{API}/buildings", {"address": "x4", "floors": 0}, content_type=JSON)
    ).keys() == {"floors"}
    assert errors_of(
        client.post(f"{API}/buildings", {"address": "x5", "lat": 30.6}, content_type=JSON)
    ).keys() == {"lat"}
    assert Building.objects.count() == 2


def test_buildings_workbook_is_scoped_and_audited(town, personas, homes):
    response = as_user(personas["grid_worker"]).get(f"{API}/buildings.xlsx")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert [r[0] for r in rows[1:]] == ["锦江路8号3栋"]
    entry = AuditEntry.objects.get(action="export")
    assert (entry.object_type, entry.fields["rows"]) == ("registry.building", 1)
    officer = as_user(personas["district_officer"])
    rows = list(
        load_workbook(
            io.BytesIO(officer.get(f"{API}/buildings.xlsx", {"q": "青羊"}).content)
        ).active.values
    )
    assert [r[0] for r in rows[1:]] == ["青羊路1号"]
    assert as_user(personas["hotline_operator"]).get(f"{API}/buildings.xlsx").status_code == 403
    outsider = as_user(personas["outsider"])
    assert outsider.get(f"{API}/buildings.xlsx").status_code == 403
    assert outsider.get(f"{API}/buildings.xlsx", {"grid": town.grids["A1-1"].pk}).status_code == 404


# --- households -----------------------------------------------------------------------------


def test_register_a_household_in_a_building_and_in_a_grid(town, personas, homes):
    client = as_user(personas["grid_worker"])
    response = client.post(
        f"{API}/households",
        {
            "building": homes["mine"].pk,
            "entrance": "2单元",
            "room": "301",
            "contact_phone": "13900001111",
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == "锦江路8号3栋2单元301"
    assert body["area_id"] == town.grids["A1-1"].pk
    assert body["contact_phone"] == "139****1111" and body["masked"] is True
    response = client.post(
        f"{API}/households",
        {"area": town.grids["A1-1"].pk, "address": "锦江路20号", "household_type": "rented"},
        content_type=JSON,
    )
    assert response.status_code == 201
    entry = AuditEntry.objects.filter(action="create", object_type="registry.household").first()
    assert entry.object_id == str(response.json()["id"])


def test_household_creation_refusals(town, personas, homes):
    client = as_user(personas["grid_worker"])
    url = f"{API}/households"
    hidden = client.post(url, {"building": homes["far"].pk}, content_type=JSON)
    missing = client.post(url, {"building": 999999}, content_type=JSON)
    assert errors_of(hidden) == errors_of(missing) == {"building": "Not found."}
    assert errors_of(client.post(url, {"address": "无区域1号"}, content_type=JSON)).keys() == {
        "area"
    }
    several = client.post(
        url,
        {"area": town.grids["A1-1"].pk, "address": "", "contact_phone": "12"},
        content_type=JSON,
    )
    assert errors_of(several).keys() == {"address", "contact_phone"}
    same_room = client.post(
        url, {"building": homes["mine"].pk, "entrance": "1单元", "room": "101"}, content_type=JSON
    )
    assert errors_of(same_room).keys() == {"room"}
    assert errors_of(
        client.post(
            url, {"area": town.grids["A1-1"].pk, "household_type": "castle"}, content_type=JSON
        )
    ).keys() == {"household_type"}
    refused = as_user(personas["street_dispatcher"]).post(
        url, {"area": town.grids["A1-1"].pk, "address": "x"}, content_type=JSON
    )
    assert refused.status_code == 403
    assert Household.objects.count() == 2


def test_patch_a_household_moves_its_residents_with_it(town, personas):
    home = build_household(town.communities["A1"], address="待入格2号")
    person = build_resident(home)
    client = as_user(personas["community_worker"])
    response = client.patch(
        f"{API}/households/{home.pk}",
        {"area": town.grids["A1-2"].pk, "contact_name": "赵大"},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    assert response.json()["contact_name"] == "赵*"
    person.refresh_from_db()
    home.refresh_from_db()
    assert (home.area, person.area, home.contact_name) == (
        town.grids["A1-2"],
        town.grids["A1-2"],
        "赵大",
    )
    update = AuditEntry.objects.get(action="update", object_id=str(home.pk))
    assert update.fields["contact_name"] == ["", "赵*"]  # masked in the log


def test_patch_household_into_a_building_takes_its_grid(town, personas, homes):
    home = build_household(town.grids["A1-2"], address="锦江路8号3栋9单元9")
    response = as_user(personas["community_worker"]).patch(
        f"{API}/households/{home.pk}",
        {"building": homes["mine"].pk, "entrance": "9单元", "room": "9"},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    assert response.json()["area_id"] == town.grids["A1-1"].pk
    out = as_user(personas["community_worker"]).patch(
        f"{API}/households/{home.pk}", {"building": None}, content_type=JSON
    )
    assert out.json()["building_id"] is None and out.json()["area_id"] == town.grids["A1-1"].pk


def test_patch_household_refusals_write_nothing(town, personas, homes):
    home = homes["home"]
    url = f"{API}/households/{home.pk}"
    client = as_user(personas["grid_worker"])
    response = client.patch(url, {"contact_phone": "abc", "room": "102"}, content_type=JSON)
    assert errors_of(response).keys() == {"contact_phone"}
    response = client.patch(url, {"area": town.grids["B1-1"].pk}, content_type=JSON)
    assert errors_of(response) == {"area": "Not found."}
    assert errors_of(client.patch(url, {"address": None}, content_type=JSON)).keys() == {"address"}
    assert (
        as_user(personas["district_officer"])
        .patch(url, {"room": "102"}, content_type=JSON)
        .status_code
        == 403
    )
    assert (
        client.patch(f"{API}/households/{homes['away'].pk}", {"room": "1"}, content_type=JSON)
    ).status_code == 404
    assert (
        as_user(personas["outsider"]).patch(url, {"room": "1"}, content_type=JSON).status_code
        == 404
    )
    home.refresh_from_db()
    assert (home.room, home.contact_phone) == ("101", "13812345678")
    assert not AuditEntry.objects.filter(action="update").exists()


# --- grid staffing --------------------------------------------------------------------------


@pytest.fixture
def workers(town):
    return {
        "a11": build_user(
            "gw_a11", role=Role.GRID_WORKER, area=town.grids["A1-1"], display_name="甲"
        ),
        "a1": build_user("gw_a1", role=Role.GRID_WORKER, area=town.communities["A1"]),
        "b11": build_user("gw_b11", role=Role.GRID_WORKER, area=town.grids["B1-1"]),
        "retired": build_user(
            "gw_old", role=Role.GRID_WORKER, area=town.grids["A1-1"], is_active=False
        ),
    }


def test_post_list_and_remove_grid_staff(town, personas, workers):
    grid = town.grids["A1-1"]
    url = f"{API}/grids/{grid.pk}/staff"
    client = as_user(personas["street_dispatcher"])
    candidates = client.get(f"{url}/candidates").json()
    assert {c["username"] for c in candidates} == {"gw_a11", "gw_a1", "grid_worker"}
    response = client.post(url, {"worker": workers["a11"].pk, "post": "b"}, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["worker"] == {"id": workers["a11"].pk, "username": "gw_a11", "display_name": "甲"}
    assert (body["post"], body["grid_id"]) == ("b", grid.pk)
    assert "gw_a11" not in {c["username"] for c in client.get(f"{url}/candidates").json()}
    # the grid worker sees the grid's staff, as everyone who sees the grid
    listed = as_user(personas["grid_worker"]).get(url).json()
    assert [s["id"] for s in listed] == [body["id"]]
    again = client.post(url, {"worker": workers["a11"].pk}, content_type=JSON)
    assert errors_of(again).keys() == {"worker"}  # already posted
    response = client.delete(f"{url}/{body['id']}")
    assert response.status_code == 204
    assert not GridAssignment.objects.exists()
    actions = list(
        AuditEntry.objects.filter(object_type="registry.gridassignment")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "delete"]


def test_posting_refusals(town, personas, workers):
    grid = town.grids["A1-1"]
    url = f"{API}/grids/{grid.pk}/staff"
    client = as_user(personas["community_worker"])
    for worker in ("b11", "retired"):
        response = client.post(url, {"worker": workers[worker].pk}, content_type=JSON)
        assert errors_of(response) == {"worker": "Not found."}
    assert errors_of(client.post(url, {"worker": 999999}, content_type=JSON)) == {
        "worker": "Not found."
    }
    assert errors_of(
        client.post(url, {"worker": workers["a11"].pk, "post": "c"}, content_type=JSON)
    ).keys() == {"post"}
    # a community is not a grid: 404, as for anything that is not there
    assert client.get(f"{API}/grids/{town.communities['A1'].pk}/staff").status_code == 404
    # sees the grid, may not post: 403
    for persona in ("grid_worker", "auditor"):
        other = as_user(personas[persona])
        assert other.post(url, {"worker": workers["a11"].pk}, content_type=JSON).status_code == 403
        assert other.get(f"{url}/candidates").status_code == 403
    # hidden grid: 404 for the outsider and another street's community worker
    b_worker = build_user(role=Role.COMMUNITY_WORKER, area=town.communities["B1"])
    for user in (personas["outsider"], b_worker):
        assert as_user(user).get(url).status_code == 404
        assert (
            as_user(user).post(url, {"worker": workers["a11"].pk}, content_type=JSON).status_code
            == 404
        )
    assert not GridAssignment.objects.exists()


def test_removal_refusals(town, personas, workers):
    grid = town.grids["A1-1"]
    posting = GridAssignment.objects.create(grid=grid, worker=workers["a11"])
    url = f"{API}/grids/{grid.pk}/staff/{posting.pk}"
    assert as_user(personas["grid_worker"]).delete(url).status_code == 403
    assert as_user(personas["outsider"]).delete(url).status_code == 404
    other_grid = f"{API}/grids/{town.grids['A1-2'].pk}/staff/{posting.pk}"
    assert as_user(personas["community_worker"]).delete(other_grid).status_code == 404
    assert GridAssignment.objects.filter(pk=posting.pk).exists()
