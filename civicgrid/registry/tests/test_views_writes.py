"""Registry pages that write: buildings (list, export, register), households and residents by
hand, moving a resident, grid staffing on the grid page. Every persona's scope, the
outsider's 404, the 403 of a role that may see but not act, field errors, audit rows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from civicgrid.accounts.choices import Role
from civicgrid.core.models import AuditEntry
from civicgrid.registry.idnumbers import make_id_number
from civicgrid.registry.models import Building, GridAssignment, Household, Resident
from tests.builders import Town, build_household, build_resident, build_user

pytestmark = pytest.mark.django_db

NEW_ID = make_id_number("510107", dt.date(1990, 1, 2), 7, "female")


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def place(town):
    """A building with a flat in grid A1-1 (the grid worker's) and one in B1-1."""
    mine = Building.objects.create(
        grid=town.grids["A1-1"], address="金牛路8号1栋", estate="金牛小区", floors=6
    )
    far = Building.objects.create(grid=town.grids["B1-1"], address="青羊路1号2栋")
    home = build_household(
        town.grids["A1-1"],
        address="金牛路8号1栋1单元101",
        building=mine,
        entrance="1单元",
        room="101",
        contact_name="王小明",
        contact_phone="13912345678",
    )
    head = build_resident(
        home,
        name="王小明",
        phone="13812345678",
        relation="head",
        tags=",disabled,released_prisoner,",
    )
    away = build_household(town.grids["B1-1"], address="青羊路1号2栋3单元5", building=far)
    return {"mine": mine, "far": far, "home": home, "head": head, "away": away}


# --- buildings ------------------------------------------------------------------------------


def test_building_list_is_scoped_and_searchable(client, town, personas, place):
    url = reverse("registry:building_list")
    page = login(client, personas["grid_worker"]).get(url)
    assert page.status_code == 200
    assert [b.address for b in page.context["page_obj"]] == ["金牛路8号1栋"]
    assert page.context["page_obj"][0].household_total == 1
    page = login(client, personas["district_officer"]).get(url, {"q": "青羊"})
    assert [b.address for b in page.context["page_obj"]] == ["青羊路1号2栋"]
    page = client.get(url, {"area": town.streets["A"].pk})
    assert [b.address for b in page.context["page_obj"]] == ["金牛路8号1栋"]
    # the hotline finds buildings too (buildings.view), without registry links
    page = login(client, personas["hotline_operator"]).get(url)
    assert page.status_code == 200 and len(page.context["page_obj"]) == 2


@pytest.mark.parametrize("persona", ["outsider", "resident", "auditor"])
def test_building_list_does_not_exist_for_roles_without_a_use_for_it(client, personas, persona):
    assert (
        login(client, personas[persona]).get(reverse("registry:building_list")).status_code == 404
    )


def test_building_export_is_scoped_and_audited(client, town, personas, place):
    response = login(client, personas["community_worker"]).get(
        reverse("registry:building_export"), {"q": "金牛"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("楼栋地址", "小区", "楼号")
    assert [r[0] for r in rows[1:]] == ["金牛路8号1栋"]
    assert rows[1][-1] == 1 and rows[1][6] == town.grids["A1-1"].code
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.object_type == "registry.building"
    assert entry.fields["rows"] == 1
    assert entry.area_path == town.grids["A1-1"].path


@pytest.mark.parametrize("persona", ["hotline_operator", "auditor", "outsider"])
def test_building_export_needs_registry_export(client, personas, place, persona):
    response = login(client, personas[persona]).get(reverse("registry:building_export"))
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_grid_worker_registers_a_building(client, town, personas):
    login(client, personas["grid_worker"])
    url = reverse("registry:building_new")
    grid = town.grids["A1-1"]
    assert client.get(url, {"grid": grid.pk}).context["form"].initial["grid"] == str(grid.pk)
    response = client.post(url, {"grid": grid.pk, "address": "金牛路 9号 1栋", "floors": 7})
    assert response.status_code == 302
    building = Building.objects.get()
    assert (building.address, building.grid, building.floors) == ("金牛路9号1栋", grid, 7)
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.CREATE, object_type="registry.building"
    ).exists()
    # the same address again, and a grid outside the scope: field errors, nothing written
    again = client.post(url, {"grid": grid.pk, "address": "金牛路9号1栋"})
    assert again.status_code == 400 and "address" in again.context["form"].errors
    outside = client.post(url, {"grid": town.grids["B1-1"].pk, "address": "别处1号"})
    assert "grid" in outside.context["form"].errors
    located = client.post(url, {"address": "无坐标1号"})
    assert "grid" in located.context["form"].errors  # neither a grid nor coordinates
    lat, lon = Town.centre(grid)
    by_point = client.post(url, {"address": "定位1号", "lat": lat, "lon": lon})
    assert by_point.status_code == 302
    assert Building.objects.get(address="定位1号").grid == grid
    assert Building.objects.count() == 2


def test_building_form_is_403_without_registry_edit(client, personas):
    login(client, personas["district_officer"])
    assert client.get(reverse("registry:building_new")).status_code == 403
    assert client.post(reverse("registry:building_new"), {"address": "x"}).status_code == 403


# --- households -----------------------------------------------------------------------------


def test_register_a_household_in_a_building(client, town, personas, place):
    login(client, personas["grid_worker"])
    url = reverse("registry:household_new")
    page = client.get(url, {"building": place["mine"].pk})
    assert page.context["form"].initial["building"] == "金牛路8号1栋"
    response = client.post(
        url,
        {
            "building": "金牛路8号1栋",
            "entrance": "2单元",
            "room": "502",
            "household_type": "rented",
            "contact_name": "李四",
            "contact_phone": "13700001111",
        },
    )
    household = Household.objects.get(room="502")
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:household_detail", args=[household.pk])
    assert household.area == town.grids["A1-1"]
    assert household.address == "金牛路8号1栋2单元502"
    entry = AuditEntry.objects.get(action="create", object_type="registry.household")
    assert entry.fields["contact_phone"] == "137****1111"  # masked in the log


def test_household_form_field_errors(client, town, personas, place):
    login(client, personas["grid_worker"])
    url = reverse("registry:household_new")
    response = client.post(url, {"household_type": "owner"})
    assert response.status_code == 400 and "area" in response.context["form"].errors
    # a building of another grid is not found (hidden and missing look the same)
    response = client.post(url, {"building": "青羊路1号2栋", "household_type": "owner"})
    assert "building" in response.context["form"].errors
    # the same room again, and a bad phone: the service's refusals, on their fields
    taken = {"building": "金牛路8号1栋", "entrance": "1单元", "room": "101"}
    response = client.post(url, {**taken, "household_type": "owner"})
    assert set(response.context["form"].errors) == {"room"}
    response = client.post(
        url,
        {
            "address": "金牛路1号",
            "area": town.grids["A1-1"].pk,
            "household_type": "owner",
            "contact_phone": "12",
        },
    )
    assert set(response.context["form"].errors) == {"contact_phone"}
    assert 'class="errorlist' in response.text
    assert Household.objects.count() == 2


def test_register_a_household_in_a_community_before_it_is_placed(client, town, personas):
    login(client, personas["community_worker"])
    response = client.post(
        reverse("registry:household_new"),
        {"area": town.communities["A1"].pk, "address": "金牛路88号", "household_type": "owner"},
    )
    assert response.status_code == 302
    assert Household.objects.get(address="金牛路88号").area == town.communities["A1"]


def test_edit_household_keeps_the_hidden_contact_and_reveals_nothing(client, town, personas, place):
    home = place["home"]
    login(client, personas["grid_worker"])
    url = reverse("registry:household_edit", args=[home.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "13912345678" not in page.text and "王小明" not in page.text
    assert "139****5678" in page.text  # the masked value as a hint
    response = client.post(
        url,
        {
            "area": home.area_id,
            "building": "金牛路8号1栋",
            "entrance": "1单元",
            "room": "101",
            "address": home.address,
            "household_type": "rented",
            "contact_name": "",
            "contact_phone": "",
        },
    )
    assert response.status_code == 302
    home.refresh_from_db()
    assert (home.household_type, home.contact_name, home.contact_phone) == (
        "rented",
        "王小明",
        "13912345678",
    )
    cleared = client.post(
        url,
        {
            "building": "金牛路8号1栋",
            "entrance": "1单元",
            "room": "101",
            "address": home.address,
            "household_type": "rented",
            "clear_contact": "on",
        },
    )
    assert cleared.status_code == 302
    home.refresh_from_db()
    assert (home.contact_name, home.contact_phone) == ("", "")
    assert AuditEntry.objects.filter(action="update", object_id=str(home.pk)).count() == 2


def test_moving_a_household_to_another_grid_moves_its_residents(client, town, personas):
    home = build_household(town.communities["A1"], address="待入格1号")
    person = build_resident(home)
    login(client, personas["community_worker"])
    response = client.post(
        reverse("registry:household_edit", args=[home.pk]),
        {"area": town.grids["A1-2"].pk, "address": "待入格1号", "household_type": "owner"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.area == town.grids["A1-2"]


def test_household_writes_refused(client, town, personas, place):
    home, away = place["home"], place["away"]
    # visible, but the role may not edit: 403
    for persona in ("district_officer", "street_dispatcher"):
        login(client, personas[persona])
        assert client.get(reverse("registry:household_edit", args=[home.pk])).status_code == 403
        assert client.get(reverse("registry:resident_new", args=[home.pk])).status_code == 403
        assert client.get(reverse("registry:household_new")).status_code == 403
    # hidden: 404
    for persona in ("grid_worker", "outsider"):
        login(client, personas[persona])
        assert client.get(reverse("registry:household_edit", args=[away.pk])).status_code == 404
        assert client.post(reverse("registry:resident_new", args=[away.pk]), {}).status_code == 404


# --- residents ------------------------------------------------------------------------------


def resident_post(**changes):
    data = {
        "name": "王小芳",
        "id_number": NEW_ID,
        "phone": "13600001234",
        "relation": "child",
        "population_type": "registered",
        "tags": ["low_income", "disabled"],
        "ethnicity": "汉族",
        "arrived_on": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_register_a_resident_in_a_household(client, town, personas, place):
    home = place["home"]
    login(client, personas["grid_worker"])
    url = reverse("registry:resident_new", args=[home.pk])
    page = client.get(url)
    tags = dict(page.context["form"].fields["tags"].choices)
    assert "disabled" in tags and "released_prisoner" in tags  # grid workers may reveal
    assert 'type="checkbox"' in page.text
    response = client.post(url, resident_post())
    resident = Resident.objects.get(id_number=NEW_ID)
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:resident_detail", args=[resident.pk])
    assert (resident.household, resident.area, resident.gender) == (
        home,
        home.area,
        "female",
    )
    assert resident.birth_date == dt.date(1990, 1, 2)
    assert resident.tag_list == ["disabled", "low_income"]
    entry = AuditEntry.objects.get(action="create", object_type="registry.resident")
    assert entry.object_repr == "王**"  # the log never holds a name in clear


def test_resident_form_errors_name_each_field_and_write_nothing(client, personas, place):
    login(client, personas["grid_worker"])
    url = reverse("registry:resident_new", args=[place["home"].pk])
    bad_check_digit = NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")
    response = client.post(url, resident_post(id_number=bad_check_digit, phone="12"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"id_number", "phone"}
    response = client.post(url, resident_post(id_number=place["head"].id_number))
    assert "id_number" in response.context["form"].errors
    response = client.post(url, resident_post(name="", tags=["no_such_tag"]))
    assert {"name", "tags"} <= set(response.context["form"].errors)
    assert Resident.objects.count() == 1


def test_edit_resident_reveals_nothing_and_keeps_blank_fields(client, personas, place):
    head = place["head"]
    Resident.objects.filter(pk=head.pk).update(arrived_on=dt.date(2020, 3, 4))
    login(client, personas["grid_worker"])
    url = reverse("registry:resident_edit", args=[head.pk])
    page = client.get(url)
    assert page.status_code == 200
    for secret in (head.id_number, head.phone, head.name):
        assert secret not in page.text
    assert "5101**********" in page.text  # masked hint
    assert 'value="2020-03-04"' in page.text  # a date input shows only ISO dates
    response = client.post(
        url,
        resident_post(name="", id_number="", phone="", tags=["disabled"], relation="head"),
    )
    assert response.status_code == 302
    head.refresh_from_db()
    assert (head.name, head.phone) == ("王小明", "13812345678")
    # the tag the form did not tick is gone; the sensitive one was shown and not ticked
    assert head.tag_list == ["disabled"]
    response = client.post(url, resident_post(name="", id_number="", phone="", clear_phone="on"))
    head.refresh_from_db()
    assert head.phone == ""


def test_a_role_that_may_not_see_sensitive_tags_neither_sees_nor_clears_them(
    client, town, personas, place, monkeypatch
):
    # No role today may edit without revealing; the form must still hold for one that does.
    from civicgrid.accounts.choices import CAPABILITIES

    monkeypatch.setitem(
        CAPABILITIES, Role.GRID_WORKER, CAPABILITIES[Role.GRID_WORKER] - {"registry.reveal"}
    )
    head = place["head"]
    login(client, personas["grid_worker"])
    url = reverse("registry:resident_edit", args=[head.pk])
    page = client.get(url)
    assert "released_prisoner" not in dict(page.context["form"].fields["tags"].choices)
    assert page.context["form"].initial["tags"] == ["disabled"]
    response = client.post(url, resident_post(name="", id_number="", phone="", tags=["low_income"]))
    assert response.status_code == 302
    head.refresh_from_db()
    assert head.tag_list == ["low_income", "released_prisoner"]
    # and ticking a tag the form does not offer is refused
    response = client.post(
        url, resident_post(name="", id_number="", phone="", tags=["released_prisoner"])
    )
    assert "tags" in response.context["form"].errors


def test_move_a_resident_by_searching_the_household(client, town, personas, place):
    head = place["head"]
    other = build_household(town.grids["A1-2"], address="金牛路10号")
    login(client, personas["community_worker"])
    url = reverse("registry:resident_move", args=[head.pk])
    page = client.get(url, {"q": "金牛路10"})
    assert [h.pk for h in page.context["candidates"]] == [other.pk]
    fragment = client.get(
        reverse("registry:household_pick"), {"q": "金牛路10"}, HTTP_HX_REQUEST="true"
    )
    assert f'value="{other.pk}"' in fragment.text and "<html" not in fragment.text
    response = client.post(url, {"household": other.pk})
    assert response.status_code == 302
    head.refresh_from_db()
    assert (head.household, head.area) == (other, town.grids["A1-2"])
    response = client.post(url, {"household": "none"})
    head.refresh_from_db()
    assert head.household is None and head.area == town.grids["A1-2"]
    assert AuditEntry.objects.filter(action="update", object_id=str(head.pk)).count() == 2


def test_move_refusals(client, town, personas, place):
    head = place["head"]
    login(client, personas["grid_worker"])
    url = reverse("registry:resident_move", args=[head.pk])
    # a household of another street is not found; an empty choice is a field error
    response = client.post(url, {"household": place["away"].pk})
    assert response.status_code == 400 and "household" in response.context["form"].errors
    assert "household" in client.post(url, {}).context["form"].errors
    assert client.get(reverse("registry:household_pick"), {"q": "青羊"}).context["candidates"] == []
    head.refresh_from_db()
    assert head.household == place["home"]
    login(client, personas["street_dispatcher"])
    assert client.post(url, {"household": "none"}).status_code == 403
    assert client.get(reverse("registry:household_pick"), {"q": "金牛"}).status_code == 403
    login(client, personas["outsider"])
    assert client.get(url).status_code == 404
    assert client.get(reverse("registry:resident_edit", args=[head.pk])).status_code == 404


def test_detail_pages_offer_the_write_links_to_editors_only(client, personas, place):
    home, head = place["home"], place["head"]
    page = login(client, personas["grid_worker"]).get(
        reverse("registry:household_detail", args=[home.pk])
    )
    assert reverse("registry:household_edit", args=[home.pk]) in page.text
    assert reverse("registry:resident_new", args=[home.pk]) in page.text
    page = client.get(reverse("registry:resident_detail", args=[head.pk]))
    assert reverse("registry:resident_move", args=[head.pk]) in page.text
    page = login(client, personas["district_officer"]).get(
        reverse("registry:household_detail", args=[home.pk])
    )
    assert reverse("registry:household_edit", args=[home.pk]) not in page.text


# --- grid staffing --------------------------------------------------------------------------


@pytest.fixture
def workers(town):
    """Grid workers whose roles cover A1-1 (on the grid, on the community) and one of B1-1."""
    return {
        "on_grid": build_user("gw_a11", role=Role.GRID_WORKER, area=town.grids["A1-1"]),
        "on_community": build_user("gw_a1", role=Role.GRID_WORKER, area=town.communities["A1"]),
        "elsewhere": build_user("gw_b11", role=Role.GRID_WORKER, area=town.grids["B1-1"]),
        "clerk": build_user("clerk", role=Role.HOTLINE_OPERATOR, area=town.grids["A1-1"]),
    }


def staff_url(grid):
    return reverse("registry:grid_staff_assign", args=[grid.pk])


@pytest.mark.parametrize("persona", ["community_worker", "street_dispatcher", "district_officer"])
def test_staff_form_offers_grid_workers_covering_the_grid(client, town, personas, workers, persona):
    grid = town.grids["A1-1"]
    page = login(client, personas[persona]).get(reverse("areas:detail", args=[grid.pk]))
    choices = set(page.context["staff_form"].fields["worker"].queryset)
    # the persona grid worker holds the grid-worker role on A1-1 too
    assert choices == {workers["on_grid"], workers["on_community"], personas["grid_worker"]}
    assert staff_url(grid) in page.text


def test_post_and_remove_a_grid_worker_with_htmx(client, town, personas, workers):
    grid = town.grids["A1-1"]
    login(client, personas["community_worker"])
    response = client.post(
        staff_url(grid), {"worker": workers["on_community"].pk, "post": "b"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="grid-staff"' in response.text and "<html" not in response.text
    assignment = GridAssignment.objects.get()
    assert (assignment.grid, assignment.worker, assignment.post) == (
        grid,
        workers["on_community"],
        "b",
    )
    assert workers["on_community"] not in set(
        response.context["staff_form"].fields["worker"].queryset
    )
    created = AuditEntry.objects.get(action="create", object_type="registry.gridassignment")
    assert created.fields == {"worker": workers["on_community"].pk, "post": "b"}
    remove = reverse("registry:grid_staff_remove", args=[grid.pk, assignment.pk])
    response = client.post(remove, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and not GridAssignment.objects.exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(assignment.pk)).exists()


def test_posting_without_htmx_redirects_to_the_grid(client, town, personas, workers):
    grid = town.grids["A1-1"]
    response = login(client, personas["street_dispatcher"]).post(
        staff_url(grid), {"worker": workers["on_grid"].pk, "post": "a"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("areas:detail", args=[grid.pk])


def test_posting_errors_name_the_field(client, town, personas, workers):
    grid = town.grids["A1-1"]
    login(client, personas["community_worker"])
    for worker in (workers["elsewhere"], workers["clerk"]):
        response = client.post(
            staff_url(grid), {"worker": worker.pk, "post": "a"}, HTTP_HX_REQUEST="true"
        )
        assert "worker" in response.context["staff_form"].errors
    response = client.post(staff_url(grid), {"worker": workers["on_grid"].pk, "post": "c"})
    assert response.status_code == 400
    assert "post" in response.context["staff_form"].errors
    assert not GridAssignment.objects.exists()


def test_staffing_refused(client, town, personas, workers):
    grid = town.grids["A1-1"]
    posting = GridAssignment.objects.create(grid=grid, worker=workers["on_grid"])
    remove = reverse("registry:grid_staff_remove", args=[grid.pk, posting.pk])
    data = {"worker": workers["on_community"].pk, "post": "a"}
    # a grid worker sees the grid and its staff, and may not post: no form, 403
    login(client, personas["grid_worker"])
    page = client.get(reverse("areas:detail", args=[grid.pk]))
    assert page.context["staff_form"] is None and staff_url(grid) not in page.text
    assert client.post(staff_url(grid), data).status_code == 403
    assert client.post(remove).status_code == 403
    # the outsider and another street's community worker: 404
    other = build_user(role=Role.COMMUNITY_WORKER, area=town.communities["B1"])
    for user in (personas["outsider"], other):
        login(client, user)
        assert client.post(staff_url(grid), data).status_code == 404
        assert client.post(remove).status_code == 404
    # a posting of another grid through this grid's URL: 404
    login(client, personas["community_worker"])
    wrong = reverse("registry:grid_staff_remove", args=[town.grids["A1-2"].pk, posting.pk])
    assert client.post(wrong).status_code == 404
    assert GridAssignment.objects.count() == 1
