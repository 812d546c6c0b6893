"""The areas API: scoped lists and objects, GeoJSON, the sibling report, edits, the locator."""

import pytest
from django.test import Client

from civicgrid.accounts.api import issue_token
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.core.models import AuditEntry
from tests.builders import CELL, ORIGIN_LAT, ORIGIN_LON, build_area, build_user, square

API = "/api/v1"


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# --- reads ------------------------------------------------------------------------------------


def test_area_list_is_scoped(town, personas):
    body = as_user(personas["street_dispatcher"]).get(f"{API}/areas", {"page_size": 200}).json()
    codes = {a["code"] for a in body["items"]}
    assert town.streets["A"].code in codes and town.grids["A2-2"].code in codes
    assert town.streets["B"].code not in codes and town.district.code not in codes
    assert body["count"] == 1 + 2 + 4  # street A, its 2 communities, their 4 grids
    grid = as_user(personas["grid_worker"]).get(f"{API}/areas").json()
    assert [a["code"] for a in grid["items"]] == [town.grids["A1-1"].code]
    assert grid["items"][0]["bbox"] == [
        ORIGIN_LON,
        ORIGIN_LAT,
        ORIGIN_LON + CELL,
        ORIGIN_LAT + CELL,
    ]


def test_area_list_filters(town, personas):
    client = as_user(personas["district_officer"])

    def codes(**params):
        return [a["code"] for a in client.get(f"{API}/areas", params).json()["items"]]

    assert codes(level="street") == [town.streets["A"].code, town.streets["B"].code]
    assert codes(parent=town.communities["B1"].pk) == [
        town.grids["B1-1"].code,
        town.grids["B1-2"].code,
    ]
    assert codes(q="B2社区") == [town.communities["B2"].code]
    assert codes(q=town.communities["A2"].code) == [
        town.communities["A2"].code,
        town.grids["A2-1"].code,
        town.grids["A2-2"].code,
    ]
    assert errors_of(client.get(f"{API}/areas", {"level": "planet"})).keys() == {"level"}


def test_outsider_sees_no_areas_and_gets_404(town, personas):
    client = as_user(personas["outsider"])
    assert client.get(f"{API}/areas").json() == {"items": [], "count": 0}
    assert client.get(f"{API}/areas/tree").json() == []
    grid = town.grids["A1-1"]
    for path in ("", "/geojson", "/children.geojson", "/siblings-report"):
        response = client.get(f"{API}/areas/{grid.pk}{path}")
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}
    assert client.get(f"{API}/areas", {"parent": grid.pk}).status_code == 404


def test_hidden_area_is_identical_to_a_missing_one(town, personas):
    client = as_user(personas["grid_worker"])
    neighbour = client.get(f"{API}/areas/{town.grids['A1-2'].pk}")
    missing = client.get(f"{API}/areas/999999")
    assert neighbour.status_code == missing.status_code == 404
    assert neighbour.json() == missing.json()


def test_area_detail_has_its_chain(town, personas):
    grid = town.grids["B2-1"]
    body = as_user(personas["district_officer"]).get(f"{API}/areas/{grid.pk}").json()
    assert [a["code"] for a in body["chain"]] == [
        town.district.code,
        town.streets["B"].code,
        town.communities["B2"].code,
        grid.code,
    ]
    assert body["level"] == "grid" and body["has_geometry"] is True
    assert body["parent_id"] == town.communities["B2"].pk


def test_tree_is_nested_and_rooted_in_the_callers_scope(town, personas):
    tree = as_user(personas["street_dispatcher"]).get(f"{API}/areas/tree").json()
    assert [n["code"] for n in tree] == [town.streets["A"].code]
    communities = tree[0]["children"]
    assert [c["code"] for c in communities] == [
        town.communities["A1"].code,
        town.communities["A2"].code,
    ]
    assert [g["code"] for g in communities[0]["children"]] == [
        town.grids["A1-1"].code,
        town.grids["A1-2"].code,
    ]
    client = as_user(personas["district_officer"])
    shallow = client.get(f"{API}/areas/tree", {"max_depth": 1}).json()
    assert shallow[0]["child_count"] == 2
    assert all(s["children"] == [] and s["child_count"] == 2 for s in shallow[0]["children"])
    rooted = client.get(f"{API}/areas/tree", {"root": town.communities["B1"].pk}).json()
    assert [n["code"] for n in rooted] == [town.communities["B1"].code]
    hidden_root = as_user(personas["grid_worker"]).get(
        f"{API}/areas/tree", {"root": town.communities["B1"].pk}
    )
    assert hidden_root.status_code == 404


def test_area_geojson_is_a_feature(town, personas):
    grid = town.grids["A1-1"]
    body = as_user(personas["grid_worker"]).get(f"{API}/areas/{grid.pk}/geojson").json()
    assert body["type"] == "Feature" and body["id"] == grid.pk
    assert body["geometry"] == grid.geometry
    assert body["properties"]["code"] == grid.code


def test_children_geojson_is_a_feature_collection_of_visible_children(town, personas):
    street = town.streets["A"]
    body = (
        as_user(personas["street_dispatcher"])
        .get(f"{API}/areas/{street.pk}/children.geojson")
        .json()
    )
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in body["features"]] == [
        town.communities["A1"].code,
        town.communities["A2"].code,
    ]
    grids = (
        as_user(personas["street_dispatcher"])
        .get(f"{API}/areas/{street.pk}/children.geojson", {"all_grids": "true"})
        .json()
    )
    assert len(grids["features"]) == 4
    assert all(f["geometry"]["type"] == "Polygon" for f in grids["features"])


def test_siblings_report_finds_gaps_and_overlaps(town, personas):
    community = town.communities["A1"]
    client = as_user(personas["community_worker"])
    clean = client.get(f"{API}/areas/{community.pk}/siblings-report").json()
    assert clean["ok"] is True and clean["children"] == 2
    assert clean["overlaps"] == [] and clean["gaps"] == []
    build_area(
        Level.GRID,
        community,
        code="OVERLAPPER",
        geometry=square(ORIGIN_LON + 0.002, ORIGIN_LAT + 0.008, 0.004, 0.004),
    )
    report = client.get(f"{API}/areas/{community.pk}/siblings-report").json()
    assert report["ok"] is False
    pairs = {(o["a"], o["b"]) for o in report["overlaps"]}
    assert ("OVERLAPPER", town.grids["A1-1"].code) in pairs or (
        town.grids["A1-1"].code,
        "OVERLAPPER",
    ) in pairs
    assert all(o["area_m2"] > 0 for o in report["overlaps"])


# --- writes -----------------------------------------------------------------------------------


def test_district_officer_creates_a_grid_and_it_is_audited(town, personas):
    community = town.communities["A2"]
    payload = {
        "name": "第3网格",
        "code": "510199001002003",
        "level": "grid",
        "parent": community.pk,
        "geometry": square(ORIGIN_LON + CELL + 0.001, ORIGIN_LAT + 0.001, 0.002, 0.002),
        "priority": 2,
    }
    response = as_user(personas["district_officer"]).post(
        f"{API}/areas", payload, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == payload["code"] and body["parent_id"] == community.pk
    assert body["chain"][-1]["code"] == payload["code"]
    area = Area.objects.get(code=payload["code"])
    assert AuditEntry.objects.filter(
        action="create", object_type="areas.area", object_id=str(area.pk)
    ).exists()


def test_create_area_refusals(town, personas):
    community = town.communities["A1"]
    payload = {"name": "新网格", "code": "X1", "level": "grid", "parent": community.pk}
    # Visible parent, but no areas.edit: 403.
    response = as_user(personas["community_worker"]).post(
        f"{API}/areas", payload, content_type="application/json"
    )
    assert response.status_code == 403
    # Hidden parent: the same answer as a missing one, on the parent field.
    hidden = {**payload, "parent": town.communities["B1"].pk}
    officer_of_a = build_user("officer_a", role="district_officer", area=town.streets["A"])
    assert errors_of(
        as_user(officer_of_a).post(f"{API}/areas", hidden, content_type="application/json")
    ) == errors_of(
        as_user(officer_of_a).post(
            f"{API}/areas", {**payload, "parent": 999999}, content_type="application/json"
        )
    )
    # Top level: administrators only.
    top = {"name": "新区", "code": "X2", "level": "district"}
    assert "parent" in errors_of(
        as_user(personas["district_officer"]).post(
            f"{API}/areas", top, content_type="application/json"
        )
    )
    assert not Area.objects.filter(code__in=["X1", "X2"]).exists()


def test_create_area_reports_service_errors_by_field(town, personas):
    client = as_user(personas["district_officer"])
    community = town.communities["A1"]
    base = {"name": "新网格", "code": "X1", "level": "grid", "parent": community.pk}
    assert errors_of(
        client.post(
            f"{API}/areas",
            {**base, "code": town.grids["A1-1"].code},
            content_type="application/json",
        )
    ).keys() == {"code"}
    assert errors_of(
        client.post(f"{API}/areas", {**base, "level": "street"}, content_type="application/json")
    ).keys() == {"parent"}
    bad_shape = {**base, "geometry": {"type": "Point", "coordinates": [104, 30]}}
    assert errors_of(
        client.post(f"{API}/areas", bad_shape, content_type="application/json")
    ).keys() == {"geometry"}
    assert errors_of(
        client.post(f"{API}/areas", {"level": "grid"}, content_type="application/json")
    ).keys() == {"name", "code"}


def test_patch_area_renames_reshapes_and_moves(town, personas):
    client = as_user(personas["district_officer"])
    grid = town.grids["A1-2"]
    response = client.patch(
        f"{API}/areas/{grid.pk}", {"name": "北网格", "priority": 3}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "北网格" and response.json()["priority"] == 3
    community = town.communities["A1"]
    moved = client.patch(
        f"{API}/areas/{community.pk}",
        {"parent": town.streets["B"].pk},
        content_type="application/json",
    )
    # A1's boundary lies in street A, not B: the service refuses, on the parent field.
    assert errors_of(moved).keys() == {"parent"}
    before_it_existed = client.patch(
        f"{API}/areas/{grid.pk}",
        {"parent": town.communities["A2"].pk, "effective_date": "2000-01-01"},
        content_type="application/json",
    )
    assert errors_of(before_it_existed).keys() == {"effective_date"}
    loose = build_area(Level.GRID, town.communities["A1"], code="LOOSE")
    moved = client.patch(
        f"{API}/areas/{loose.pk}",
        {"parent": town.communities["A2"].pk, "name": "新网格"},
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["parent_id"] == town.communities["A2"].pk
    assert moved.json()["name"] == "新网格"
    assert moved.json()["chain"][-2]["code"] == town.communities["A2"].code
    cleared = client.patch(
        f"{API}/areas/{grid.pk}", {"geometry": None}, content_type="application/json"
    )
    assert cleared.status_code == 200 and cleared.json()["has_geometry"] is False


def test_patch_area_refused_without_capability_or_scope(town, personas):
    grid = town.grids["A1-1"]
    community_worker = as_user(personas["community_worker"])
    assert (
        community_worker.patch(
            f"{API}/areas/{grid.pk}", {"name": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    outsider = as_user(personas["outsider"])
    assert (
        outsider.patch(
            f"{API}/areas/{grid.pk}", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    grid.refresh_from_db()
    assert grid.name == "第1网格"


# --- the locator ------------------------------------------------------------------------------


def test_locate_point_gives_the_chain(town, personas):
    grid = town.grids["B1-2"]
    lat, lon = town.centre(grid)
    body = as_user(personas["outsider"]).get(f"{API}/locate", {"lat": lat, "lon": lon}).json()
    assert body["status"] == "inside"
    assert body["grid"]["code"] == grid.code
    assert body["community"]["code"] == town.communities["B1"].code
    assert body["street"]["code"] == town.streets["B"].code
    assert body["district"]["code"] == town.district.code
    assert body["distance_m"] == 0 and body["overlaps"] == [] and body["building"] is None


def test_locate_outside_and_layer(town, personas):
    client = as_user(personas["resident"])
    outside = client.get(f"{API}/locate", {"lat": ORIGIN_LAT - 1, "lon": ORIGIN_LON}).json()
    assert outside["status"] == "outside" and outside["grid"] is None
    lat, lon = town.centre(town.grids["A1-1"])
    party = client.get(f"{API}/locate", {"lat": lat, "lon": lon, "layer": "party"}).json()
    assert party["status"] == "outside"  # the town has no party-building grids


def test_locate_address_through_the_building_registry(town, personas):
    from civicgrid.registry.models import Building

    grid = town.grids["A2-1"]
    building = Building.objects.create(grid=grid, address="锦江路8号3栋")
    body = (
        as_user(personas["hotline_operator"])
        .get(f"{API}/locate", {"address": "锦江路8号3栋2单元501"})
        .json()
    )
    assert body["status"] == "inside" and body["grid"]["code"] == grid.code
    assert body["building"] == {"id": building.pk, "address": "锦江路8号3栋"}
    unknown = as_user(personas["hotline_operator"]).get(f"{API}/locate", {"address": "无此路1号"})
    assert unknown.json()["status"] == "outside"


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"lat": "abc", "lon": "104"}, {"lat"}),
        ({"lat": "200", "lon": "104"}, {"lat"}),
        ({"lat": "30", "lon": "-181"}, {"lon"}),
        ({"lat": "nan", "lon": "104"}, {"lat"}),
        ({"lat": "30"}, {"lon"}),
        ({}, {"lat"}),
        ({"lat": "30", "lon": "104", "address": "锦江路"}, {"address"}),
        ({"lat": "30", "lon": "104", "layer": "moon"}, {"layer"}),
    ],
)
def test_locate_bad_input_gives_field_errors(personas, params, fields):
    response = as_user(personas["grid_worker"]).get(f"{API}/locate", params)
    assert errors_of(response).keys() == fields
    assert response.json()["detail"] == "Invalid input."


def test_locate_needs_authentication_and_accepts_a_token(town, personas):
    lat, lon = town.centre(town.grids["A1-1"])
    assert Client().get(f"{API}/locate", {"lat": lat, "lon": lon}).status_code == 401
    _, key = issue_token(personas["outsider"], "kiosk", actor=None)
    response = Client().get(
        f"{API}/locate", {"lat": lat, "lon": lon}, HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 200
    assert response.json()["grid"]["code"] == town.grids["A1-1"].code


def test_area_endpoints_need_authentication(town):
    grid = town.grids["A1-1"]
    for path in ("/areas", "/areas/tree", f"/areas/{grid.pk}", f"/areas/{grid.pk}/geojson"):
        assert Client().get(f"{API}{path}").status_code == 401, path
