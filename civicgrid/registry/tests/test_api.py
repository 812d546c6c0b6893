"""The registry API: scoped and masked reads, audited reveals, writes through the services."""

import datetime as dt
import re

import pytest
from django.test import Client

from civicgrid.accounts.api import issue_token
from civicgrid.core.models import AuditEntry
from civicgrid.registry.idnumbers import make_id_number
from civicgrid.registry.models import Building, Resident
from tests.builders import build_household, build_resident

API = "/api/v1"
MASKED_ID = re.compile(r"^5101\*{10}[\dX]{4}$")


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def homes(town):
    """Households in grid A1-1 (the grid worker's), its neighbour A1-2, and B1-1 (street B)."""
    building = Building.objects.create(grid=town.grids["A1-1"], address="锦江路8号3栋")
    mine = build_household(
        town.grids["A1-1"],
        address="锦江路8号3栋1单元101",
        building=building,
        contact_name="王小明",
        contact_phone="13812345678",
    )
    neighbour = build_household(
        town.grids["A1-2"], contact_name="李四", contact_phone="13900001111"
    )
    far = build_household(town.grids["B1-1"], contact_name="赵六", contact_phone="13700002222")
    elder = build_resident(
        mine, name="王大爷", birth_date=dt.date(1950, 3, 1), tags=",released_prisoner,disabled,"
    )
    child = build_resident(mine, name="王小红", birth_date=dt.date(2015, 6, 1), phone="")
    next_door = build_resident(neighbour, name="李四")
    return {
        "building": building,
        "mine": mine,
        "neighbour": neighbour,
        "far": far,
        "elder": elder,
        "child": child,
        "next_door": next_door,
    }


# --- households -------------------------------------------------------------------------------


def test_household_list_is_scoped_and_masked(homes, personas):
    body = as_user(personas["grid_worker"]).get(f"{API}/households").json()
    assert [h["id"] for h in body["items"]] == [homes["mine"].pk]
    item = body["items"][0]
    assert item["contact_phone"] == "138****5678"
    assert item["contact_name"] == "王**"
    assert item["masked"] is True
    street = as_user(personas["street_dispatcher"]).get(f"{API}/households").json()
    assert {h["id"] for h in street["items"]} == {homes["mine"].pk, homes["neighbour"].pk}


def test_household_filters(homes, town, personas):
    client = as_user(personas["district_officer"])

    def ids(**params):
        return {h["id"] for h in client.get(f"{API}/households", params).json()["items"]}

    assert ids(area=town.streets["B"].pk) == {homes["far"].pk}
    assert ids(q="锦江路") == {homes["mine"].pk}
    assert ids(q="5678") == {homes["mine"].pk}  # last four digits of the phone
    hidden = as_user(personas["grid_worker"]).get(
        f"{API}/households", {"area": town.grids["A1-2"].pk}
    )
    assert hidden.status_code == 404


def test_grid_worker_never_sees_the_neighbour_grids_household(homes, personas):
    client = as_user(personas["grid_worker"])
    neighbour = client.get(f"{API}/households/{homes['neighbour'].pk}")
    missing = client.get(f"{API}/households/999999")
    assert neighbour.status_code == missing.status_code == 404
    assert neighbour.json() == missing.json()
    reveal = client.post(
        f"{API}/households/{homes['neighbour'].pk}/reveal",
        {"reason": "visit"},
        content_type="application/json",
    )
    assert reveal.status_code == 404
    assert client.get(f"{API}/residents/{homes['next_door'].pk}").status_code == 404


def test_household_detail_has_masked_members(homes, personas):
    body = as_user(personas["grid_worker"]).get(f"{API}/households/{homes['mine'].pk}").json()
    assert body["contact_phone"] == "138****5678"
    members = {r["id"]: r for r in body["residents"]}
    assert set(members) == {homes["elder"].pk, homes["child"].pk}
    assert all(MASKED_ID.match(r["id_number"]) for r in members.values())
    assert members[homes["child"].pk]["phone"] == ""


def test_reveal_household_is_audited(homes, personas):
    household = homes["mine"]
    response = as_user(personas["community_worker"]).post(
        f"{API}/households/{household.pk}/reveal",
        {"reason": "入户走访"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": household.pk,
        "contact_name": "王小明",
        "contact_phone": "13812345678",
    }
    entry = AuditEntry.objects.get(action="reveal", object_id=str(household.pk))
    assert entry.actor == personas["community_worker"] and entry.reason == "入户走访"
    assert entry.object_type == "registry.household"


def test_reveal_household_refused_without_capability(homes, personas):
    response = as_user(personas["street_dispatcher"]).post(
        f"{API}/households/{homes['mine'].pk}/reveal",
        {"reason": "curious"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="reveal").exists()


# --- residents --------------------------------------------------------------------------------


def test_resident_list_is_masked_with_derived_age(homes, personas):
    with_reveal = as_user(personas["grid_worker"]).get(f"{API}/residents").json()
    rows = {r["id"]: r for r in with_reveal["items"]}
    assert set(rows) == {homes["elder"].pk, homes["child"].pk}
    elder = rows[homes["elder"].pk]
    assert MASKED_ID.match(elder["id_number"])
    assert elder["id_number"][-4:] == homes["elder"].id_number[-4:]
    assert elder["phone"] == "138****5678"
    assert elder["name"] == "王**"
    assert elder["age"] == homes["elder"].age
    assert "birth_date" not in elder
    # A role that may reveal sees the sensitive tag; the derived 60+ tag comes first.
    assert elder["tags"] == ["elderly_60", "released_prisoner", "disabled"]


def test_sensitive_tags_hidden_from_roles_that_may_not_reveal(homes, personas):
    body = as_user(personas["district_officer"]).get(f"{API}/residents").json()
    elder = next(r for r in body["items"] if r["id"] == homes["elder"].pk)
    assert "released_prisoner" not in elder["tags"]
    assert "disabled" in elder["tags"]
    # Nor can the filter be used to learn who is in the group.
    filtered = as_user(personas["district_officer"]).get(
        f"{API}/residents", {"tag": "released_prisoner"}
    )
    assert filtered.json() == {"items": [], "count": 0}


def test_resident_filters(homes, town, personas):
    client = as_user(personas["community_worker"])

    def ids(**params):
        response = client.get(f"{API}/residents", params)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["items"]}

    assert ids(tag="elderly_60") == {homes["elder"].pk}
    assert ids(tag="released_prisoner") == {homes["elder"].pk}
    assert ids(q="小红") == {homes["child"].pk}
    assert ids(q=homes["next_door"].id_number) == {homes["next_door"].pk}
    assert ids(area=town.grids["A1-2"].pk) == {homes["next_door"].pk}
    assert ids(population_type="floating") == set()
    assert errors_of(client.get(f"{API}/residents", {"tag": "vip"})).keys() == {"tag"}
    assert errors_of(client.get(f"{API}/residents", {"population_type": "x"})).keys() == {
        "population_type"
    }


def test_resident_detail_is_masked(homes, personas):
    body = as_user(personas["grid_worker"]).get(f"{API}/residents/{homes['elder'].pk}").json()
    assert MASKED_ID.match(body["id_number"]) and body["phone"] == "138****5678"
    assert body["household_id"] == homes["mine"].pk


def test_reveal_resident_is_audited(homes, personas):
    elder = homes["elder"]
    response = as_user(personas["grid_worker"]).post(
        f"{API}/residents/{elder.pk}/reveal",
        {"reason": "办理低保"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": elder.pk,
        "name": "王大爷",
        "id_number": elder.id_number,
        "phone": "13812345678",
    }
    entry = AuditEntry.objects.get(action="reveal", object_id=str(elder.pk))
    assert entry.actor == personas["grid_worker"]
    assert entry.reason == "办理低保"
    assert entry.area_path == elder.area.path


@pytest.mark.parametrize("persona", ["district_officer", "street_dispatcher"])
def test_reveal_resident_refused_without_capability(homes, personas, persona):
    response = as_user(personas[persona]).post(
        f"{API}/residents/{homes['elder'].pk}/reveal",
        {"reason": "curious"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert homes["elder"].id_number not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_reveal_needs_a_reason(homes, personas):
    client = as_user(personas["grid_worker"])
    url = f"{API}/residents/{homes['elder'].pk}/reveal"
    assert errors_of(client.post(url, {}, content_type="application/json")).keys() == {"reason"}
    assert errors_of(
        client.post(url, {"reason": "  "}, content_type="application/json")
    ).keys() == {"reason"}
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_outsider_gets_empty_lists_and_404s(homes, personas):
    for persona in ("outsider", "auditor"):
        client = as_user(personas[persona])
        for path in ("/households", "/residents"):
            assert client.get(f"{API}{path}").json() == {"items": [], "count": 0}, (persona, path)
        for path in (
            f"/households/{homes['mine'].pk}",
            f"/residents/{homes['elder'].pk}",
        ):
            assert client.get(f"{API}{path}").status_code == 404, (persona, path)
        for path in (
            f"/households/{homes['mine'].pk}/reveal",
            f"/residents/{homes['elder'].pk}/reveal",
        ):
            response = client.post(
                f"{API}{path}", {"reason": "x y"}, content_type="application/json"
            )
            assert response.status_code == 404, (persona, path)
    outsider = as_user(personas["outsider"])
    assert outsider.get(f"{API}/buildings").json() == {"items": [], "count": 0}
    assert outsider.get(f"{API}/buildings/{homes['building'].pk}").status_code == 404


def test_registry_needs_authentication(homes):
    for path in (
        "/households",
        f"/households/{homes['mine'].pk}",
        "/residents",
        f"/residents/{homes['elder'].pk}",
        "/buildings",
    ):
        assert Client().get(f"{API}{path}").status_code == 401, path
    response = Client().post(
        f"{API}/residents/{homes['elder'].pk}/reveal", {"reason": "x y"}, "application/json"
    )
    assert response.status_code == 401


# --- writes -----------------------------------------------------------------------------------


def new_id(n: int = 7) -> str:
    return make_id_number("510107", dt.date(1990, 1, 2), n, "female")


def test_grid_worker_registers_a_resident(homes, personas):
    payload = {
        "name": "王小芳",
        "id_number": new_id(),
        "household": homes["mine"].pk,
        "phone": "13600001234",
        "relation": "child",
        "tags": ["low_income"],
    }
    response = as_user(personas["grid_worker"]).post(
        f"{API}/residents", payload, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "王**" and body["phone"] == "136****1234"
    assert body["household_id"] == homes["mine"].pk and body["gender"] == "female"
    resident = Resident.objects.get(pk=body["id"])
    assert resident.birth_date == dt.date(1990, 1, 2) and resident.area == homes["mine"].area
    assert AuditEntry.objects.filter(
        action="create", object_type="registry.resident", object_id=str(resident.pk)
    ).exists()


def test_register_resident_with_a_token(homes, personas):
    _, key = issue_token(personas["community_worker"], "census tablet", actor=None)
    response = Client(enforce_csrf_checks=True).post(
        f"{API}/residents",
        {"name": "孙七", "id_number": new_id(8), "area": homes["mine"].area_id},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content


def test_register_resident_rejects_bad_input_by_field(homes, personas):
    client = as_user(personas["grid_worker"])
    url = f"{API}/residents"
    bad_check_digit = new_id()[:-1] + ("0" if new_id()[-1] != "0" else "1")
    assert errors_of(
        client.post(
            url,
            {"name": "王", "id_number": bad_check_digit, "household": homes["mine"].pk},
            content_type="application/json",
        )
    ).keys() == {"id_number"}
    assert errors_of(client.post(url, {}, content_type="application/json")).keys() == {
        "name",
        "id_number",
    }
    several = errors_of(
        client.post(
            url,
            {
                "name": "王",
                "id_number": "123",
                "phone": "12",
                "tags": ["elderly_60"],
                "household": homes["mine"].pk,
            },
            content_type="application/json",
        )
    )
    assert several.keys() == {"id_number", "phone", "tags"}
    duplicate = client.post(
        url,
        {"name": "王", "id_number": homes["elder"].id_number, "household": homes["mine"].pk},
        content_type="application/json",
    )
    assert errors_of(duplicate).keys() == {"id_number"}
    assert errors_of(
        client.post(url, {"name": "王", "id_number": new_id()}, content_type="application/json")
    ).keys() == {"area"}
    assert Resident.objects.count() == 3


def test_register_resident_refusals(homes, personas):
    payload = {"name": "王", "id_number": new_id(), "household": homes["mine"].pk}
    # Visible household, no registry.edit: 403.
    response = as_user(personas["district_officer"]).post(
        f"{API}/residents", payload, content_type="application/json"
    )
    assert response.status_code == 403
    # The neighbour's household reads as missing, on its field.
    hidden = as_user(personas["grid_worker"]).post(
        f"{API}/residents",
        {**payload, "household": homes["neighbour"].pk},
        content_type="application/json",
    )
    missing = as_user(personas["grid_worker"]).post(
        f"{API}/residents", {**payload, "household": 999999}, content_type="application/json"
    )
    assert errors_of(hidden) == errors_of(missing) == {"household": "Not found."}
    assert Resident.objects.count() == 3


def test_patch_resident_changes_fields_and_household(homes, personas):
    client = as_user(personas["community_worker"])
    child = homes["child"]
    response = client.patch(
        f"{API}/residents/{child.pk}",
        {"phone": "13511112222", "tags": ["left_behind_child"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "135****2222"
    child.refresh_from_db()
    assert child.phone == "13511112222" and child.tag_list == ["left_behind_child"]
    assert child.name == "王小红"  # untouched
    moved = client.patch(
        f"{API}/residents/{child.pk}",
        {"household": homes["neighbour"].pk},
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["household_id"] == homes["neighbour"].pk
    out = client.patch(
        f"{API}/residents/{child.pk}", {"household": None}, content_type="application/json"
    )
    assert out.json()["household_id"] is None
    assert AuditEntry.objects.filter(action="update", object_id=str(child.pk)).count() == 3


def test_patch_resident_is_all_or_nothing(homes, personas):
    child = homes["child"]
    response = as_user(personas["community_worker"]).patch(
        f"{API}/residents/{child.pk}",
        {"phone": "13511112222", "household": 999999},
        content_type="application/json",
    )
    assert errors_of(response).keys() == {"household"}
    response = as_user(personas["community_worker"]).patch(
        f"{API}/residents/{child.pk}", {"phone": "abc"}, content_type="application/json"
    )
    assert errors_of(response).keys() == {"phone"}
    child.refresh_from_db()
    assert child.phone == ""


def test_patch_resident_refusals(homes, personas):
    url = f"{API}/residents/{homes['child'].pk}"
    assert (
        as_user(personas["street_dispatcher"])
        .patch(url, {"phone": "13511112222"}, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        as_user(personas["outsider"])
        .patch(url, {"phone": "13511112222"}, content_type="application/json")
        .status_code
        == 404
    )
    neighbour_url = f"{API}/residents/{homes['next_door'].pk}"
    assert (
        as_user(personas["grid_worker"])
        .patch(neighbour_url, {"phone": "13511112222"}, content_type="application/json")
        .status_code
        == 404
    )


# --- buildings --------------------------------------------------------------------------------


def test_buildings_are_scoped(homes, town, personas):
    other = Building.objects.create(grid=town.grids["B2-2"], address="蜀都大道1号")
    hotline = as_user(personas["hotline_operator"]).get(f"{API}/buildings").json()
    assert {b["id"] for b in hotline["items"]} == {homes["building"].pk, other.pk}
    grid_worker = as_user(personas["grid_worker"])
    body = grid_worker.get(f"{API}/buildings").json()
    assert [b["address"] for b in body["items"]] == ["锦江路8号3栋"]
    assert body["items"][0]["household_count"] == 1
    assert body["items"][0]["grid"]["code"] == town.grids["A1-1"].code
    assert grid_worker.get(f"{API}/buildings/{other.pk}").status_code == 404
    assert grid_worker.get(f"{API}/buildings/{homes['building'].pk}").status_code == 200
    officer = as_user(personas["district_officer"])
    assert [b["id"] for b in officer.get(f"{API}/buildings", {"q": "蜀都"}).json()["items"]] == [
        other.pk
    ]
    assert [
        b["id"]
        for b in officer.get(f"{API}/buildings", {"grid": town.streets["B"].pk}).json()["items"]
    ] == [other.pk]
