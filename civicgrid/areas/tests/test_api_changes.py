"""The areas API's tree changes: merge, split (parts as a GeoJSON FeatureCollection), retire.
Scope (404 / 422 on a body id), capability (403), field errors (422), audit, all or nothing."""

from django.test import Client

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment
from civicgrid.areas.choices import ChangeKind, Level
from civicgrid.areas.models import Area, AreaChange
from civicgrid.core.models import AuditEntry
from tests.builders import CELL, build_area, build_household, build_user, square

API = "/api/v1"
JSON = "application/json"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def halves(grid) -> dict:
    x0, y0 = grid.geometry["coordinates"][0][0]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "西半", "code": f"{grid.code}W"},
                "geometry": square(x0, y0, CELL / 2, CELL),
            },
            {
                "type": "Feature",
                "properties": {"name": "东半", "code": f"{grid.code}E"},
                "geometry": square(x0 + CELL / 2, y0, CELL / 2, CELL),
            },
        ],
    }


# --- merge ----------------------------------------------------------------------------------


def test_merge_into_a_new_area(town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    worker = build_user(role=Role.GRID_WORKER, area=a)
    response = as_user(personas["district_officer"]).post(
        f"{API}/areas/merge",
        {"sources": [a.pk, b.pk], "into_name": "合并网格", "into_code": "510199001001900"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["name"], body["level"]) == ("510199001001900", "合并网格", "grid")
    assert body["chain"][-2]["id"] == town.communities["A1"].pk
    merged = Area.objects.get(pk=body["id"])
    assert RoleAssignment.objects.get(user=worker).area == merged
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, object_id=str(merged.pk))
    # the personas grid worker and resident held roles on A1-1 too
    assert entry.fields["roles_moved"] == RoleAssignment.objects.filter(area=merged).count() == 3


def test_merge_into_one_of_the_sources(town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    response = as_user(personas["admin"]).post(
        f"{API}/areas/merge",
        {"sources": [a.pk, b.pk], "into_name": "大网格", "into_code": b.code},
        content_type=JSON,
    )
    assert response.status_code == 201
    assert response.json()["id"] == b.pk
    a.refresh_from_db()
    assert a.successor_id == b.pk and a.valid_to is not None


def test_merge_refusals(town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    url = f"{API}/areas/merge"
    officer = as_user(personas["district_officer"])
    body = {"sources": [a.pk, b.pk], "into_name": "合并", "into_code": "NEW1"}
    # no areas.edit, though both are visible
    assert as_user(personas["community_worker"]).post(url, body, content_type=JSON).status_code == (
        403
    )
    # an id outside the caller's scope is a 422 on `sources`, like a missing one
    street_officer = as_user(build_user(role=Role.DISTRICT_OFFICER, area=town.streets["A"]))
    hidden = street_officer.post(
        url, {**body, "sources": [a.pk, town.grids["B1-1"].pk]}, content_type=JSON
    )
    missing = street_officer.post(url, {**body, "sources": [a.pk, 999999]}, content_type=JSON)
    assert errors_of(hidden) == errors_of(missing) == {"sources": "Not found."}
    assert errors_of(officer.post(url, {**body, "sources": [a.pk]}, content_type=JSON)).keys() == {
        "sources"
    }
    cousins = officer.post(
        url, {**body, "sources": [a.pk, town.grids["A2-1"].pk]}, content_type=JSON
    )
    assert "same parent" in errors_of(cousins)["sources"]
    taken = officer.post(url, {**body, "into_code": town.grids["B1-1"].code}, content_type=JSON)
    assert errors_of(taken).keys() == {"into_code"}
    future = officer.post(url, {**body, "effective_date": "2999-01-01"}, content_type=JSON)
    assert errors_of(future).keys() == {"effective_date"}
    assert Area.objects.current().filter(pk__in=[a.pk, b.pk]).count() == 2
    assert not AreaChange.objects.filter(kind=ChangeKind.MERGE).exists()


# --- split ----------------------------------------------------------------------------------


def test_split_answers_the_parts_and_what_is_left_to_place(town, personas):
    grid = town.grids["B1-1"]
    worker = build_user(role=Role.GRID_WORKER, area=grid)
    household = build_household(grid)  # no building, no coordinates: left on the old grid
    response = as_user(personas["admin"]).post(
        f"{API}/areas/{grid.pk}/split", {"parts": halves(grid)}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [a["name"] for a in body["areas"]] == ["西半", "东半"]
    left = {(u["model"], u["pk"]) for u in body["unplaced"]}
    role = RoleAssignment.objects.get(user=worker)
    assert left == {("registry.Household", household.pk), ("accounts.RoleAssignment", role.pk)}
    assert role.area == grid  # left for a person to reassign, listed
    grid.refresh_from_db()
    assert grid.valid_to is not None


def test_split_refusals(town, personas):
    grid = town.grids["B1-1"]
    url = f"{API}/areas/{grid.pk}/split"
    admin = as_user(personas["admin"])
    assert errors_of(admin.post(url, {"parts": {"type": "Feature"}}, content_type=JSON)).keys() == {
        "parts"
    }
    one = halves(grid)
    one["features"] = one["features"][:1]
    assert "at least two" in errors_of(admin.post(url, {"parts": one}, content_type=JSON))["parts"]
    overlapping = halves(grid)
    overlapping["features"][1]["geometry"] = grid.geometry
    assert errors_of(admin.post(url, {"parts": overlapping}, content_type=JSON)).keys() == {"parts"}
    nameless = halves(grid)
    nameless["features"][0]["properties"] = {}
    assert (
        "name and a code"
        in errors_of(admin.post(url, {"parts": nameless}, content_type=JSON))["parts"]
    )
    assert errors_of(admin.post(url, {}, content_type=JSON)).keys() == {"parts"}
    assert (
        as_user(personas["street_dispatcher"])
        .post(
            f"{API}/areas/{town.grids['A1-1'].pk}/split", {"parts": halves(grid)}, content_type=JSON
        )
        .status_code
        == 403
    )
    assert (
        as_user(personas["outsider"])
        .post(url, {"parts": halves(grid)}, content_type=JSON)
        .status_code
        == 404
    )
    grid.refresh_from_db()
    assert grid.valid_to is None
    assert Area.objects.filter(code__startswith=f"{grid.code}W").count() == 0


# --- retire ---------------------------------------------------------------------------------


def test_retire_an_empty_area(town, personas):
    empty = build_area(Level.GRID, town.communities["A1"], code="EMPTY1")
    response = as_user(personas["district_officer"]).post(
        f"{API}/areas/{empty.pk}/retire", {}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    assert response.json()["valid_to"] is not None
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.CHANGE, object_id=str(empty.pk)
    ).exists()
    again = as_user(personas["district_officer"]).post(
        f"{API}/areas/{empty.pk}/retire", {}, content_type=JSON
    )
    assert errors_of(again).keys() == {"area"}


def test_retire_refusals(town, personas):
    grid = town.grids["A1-1"]
    build_household(grid)
    url = f"{API}/areas/{grid.pk}/retire"
    in_use = as_user(personas["district_officer"]).post(url, {}, content_type=JSON)
    assert "still holds registry rows" in errors_of(in_use)["area"]
    community = as_user(personas["district_officer"]).post(
        f"{API}/areas/{town.communities['A1'].pk}/retire", {}, content_type=JSON
    )
    assert "sub-areas" in errors_of(community)["area"]
    assert as_user(personas["community_worker"]).post(url, {}, content_type=JSON).status_code == 403
    assert as_user(personas["outsider"]).post(url, {}, content_type=JSON).status_code == 404
    bad_date = as_user(personas["district_officer"]).post(
        url, {"effective_date": "yesterday"}, content_type=JSON
    )
    assert errors_of(bad_date).keys() == {"effective_date"}
    grid.refresh_from_db()
    assert grid.valid_to is None
