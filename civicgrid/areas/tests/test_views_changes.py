"""Changing an area from its page (district officers, areas.edit): rename, re-parent, merge,
split from an uploaded GeoJSON file, retire; errors next to the field, nothing half-written."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment
from civicgrid.areas.choices import ChangeKind, Level
from civicgrid.areas.models import Area, AreaChange
from civicgrid.core import clock
from civicgrid.core.models import AuditEntry
from civicgrid.registry.models import GridAssignment
from tests.builders import CELL, build_area, build_household, build_resident, build_user, square

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def change_url(area, kind):
    return reverse("areas:change", args=[area.pk, kind])


def today():
    return clock.today().isoformat()


def halves_file(grid, name="parts.geojson"):
    """West and east halves of a lattice grid as an uploaded FeatureCollection."""
    x0, y0 = grid.geometry["coordinates"][0][0]
    features = [
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
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return SimpleUploadedFile(name, data, content_type="application/geo+json")


def test_district_officer_sees_the_change_forms(client, town, personas):
    page = login(client, personas["district_officer"]).get(
        reverse("areas:detail", args=[town.grids["A1-1"].pk])
    )
    assert page.status_code == 200
    assert [c.kind for c in page.context["changes"]] == ["edit", "move", "merge", "split", "retire"]
    assert change_url(town.grids["A1-1"], "merge") in page.text
    # The merge form offers the siblings of the same level and layer only.
    merge = next(c for c in page.context["changes"] if c.kind == "merge")
    assert list(merge.form.fields["others"].queryset) == [town.grids["A1-2"]]
    # the effective date starts at today, in the only format a date input shows
    assert f'name="effective_date" value="{today()}"' in page.text


@pytest.mark.parametrize("persona", ["community_worker", "street_dispatcher", "grid_worker"])
def test_roles_without_areas_edit_get_no_forms_and_a_403(client, town, personas, persona):
    grid = town.grids["A1-1"]
    login(client, personas[persona])
    page = client.get(reverse("areas:detail", args=[grid.pk]))
    assert page.context["changes"] == []
    assert change_url(grid, "edit") not in page.text
    response = client.post(change_url(grid, "edit"), {"name": "改名", "priority": 0})
    assert response.status_code == 403
    grid.refresh_from_db()
    assert grid.name == "第1网格"


@pytest.mark.parametrize("persona", ["outsider", "resident", "auditor"])
def test_hidden_areas_are_404_for_every_change(client, town, personas, persona):
    other = town.grids["B1-1"] if persona != "auditor" else None
    login(client, personas[persona])
    if other is None:  # the auditor sees the district but may not change it: 403
        assert client.post(change_url(town.grids["B1-1"], "retire"), {}).status_code == 403
        return
    for kind in ("edit", "move", "merge", "split", "retire"):
        assert client.post(change_url(other, kind), {}).status_code == 404


def test_an_unknown_change_is_404(client, town, personas):
    login(client, personas["district_officer"])
    assert client.post(change_url(town.grids["A1-1"], "explode"), {}).status_code == 404


def test_rename_and_priority(client, town, personas):
    grid = town.grids["A1-2"]
    response = login(client, personas["district_officer"]).post(
        change_url(grid, "edit"), {"name": "北网格", "priority": 3}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("areas:detail", args=[grid.pk])
    grid.refresh_from_db()
    assert (grid.name, grid.priority) == ("北网格", 3)
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.UPDATE, object_id=str(grid.pk)
    ).exists()


def test_a_name_taken_by_a_sibling_is_an_error_on_the_name_in_place(client, town, personas):
    grid = town.grids["A1-2"]
    response = login(client, personas["district_officer"]).post(
        change_url(grid, "edit"), {"name": "第1网格", "priority": 0}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "<html" not in response.text  # the panel, swapped in place
    assert 'id="area-change-edit"' in response.text
    form = response.context["change"].form
    assert "already has an area named" in " ".join(form.errors["name"])
    grid.refresh_from_db()
    assert grid.name == "第2网格"


def test_errors_without_htmx_render_the_whole_page(client, town, personas):
    grid = town.grids["A1-2"]
    response = login(client, personas["district_officer"]).post(
        change_url(grid, "edit"), {"name": "", "priority": "x"}
    )
    assert response.status_code == 400
    assert "<html" in response.text
    edit = next(c for c in response.context["changes"] if c.kind == "edit")
    assert set(edit.form.errors) == {"name", "priority"}


def test_success_with_htmx_redirects_by_header(client, town, personas):
    grid = town.grids["A1-2"]
    response = login(client, personas["district_officer"]).post(
        change_url(grid, "edit"), {"name": "北网格", "priority": 0}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("areas:detail", args=[grid.pk])


def test_reparent_with_an_effective_date(client, town, personas):
    loose = build_area(Level.GRID, town.communities["A1"], code="LOOSE")
    login(client, personas["district_officer"])
    response = client.post(
        change_url(loose, "move"),
        {"parent": town.communities["A2"].pk, "effective_date": today()},
    )
    assert response.status_code == 302
    loose.refresh_from_db()
    assert loose.parent == town.communities["A2"]
    assert AreaChange.objects.filter(kind=ChangeKind.REPARENT).exists()
    # A boundary that does not fit the new parent: the service's refusal, on `parent`.
    x0, y0 = town.grids["A1-1"].geometry["coordinates"][0][0]
    drawn = build_area(
        Level.GRID,
        town.communities["A1"],
        name="独立网格",
        geometry=square(x0, y0, CELL / 4, CELL / 4),
    )
    response = client.post(
        change_url(drawn, "move"), {"parent": town.communities["B1"].pk, "effective_date": today()}
    )
    assert response.status_code == 400
    move = next(c for c in response.context["changes"] if c.kind == "move")
    assert "parent" in move.form.errors
    # A name already taken under the new parent: no field of the form, so above it.
    response = client.post(
        change_url(town.grids["A1-1"], "move"),
        {"parent": town.communities["A2"].pk, "effective_date": today()},
        HTTP_HX_REQUEST="true",
    )
    assert "already has an area named" in " ".join(
        response.context["change"].form.non_field_errors()
    )
    # A date in the future is the service's refusal on the date field.
    response = client.post(
        change_url(loose, "move"),
        {"parent": town.communities["A1"].pk, "effective_date": "2999-01-01"},
        HTTP_HX_REQUEST="true",
    )
    assert "effective_date" in response.context["change"].form.errors
    loose.refresh_from_db()
    assert loose.parent == town.communities["A2"]


def test_reparent_offers_only_parents_of_the_right_level_in_scope(client, town, personas):
    street_officer = build_user(role=Role.DISTRICT_OFFICER, area=town.streets["A"])
    page = login(client, street_officer).get(reverse("areas:detail", args=[town.grids["A1-1"].pk]))
    move = next(c for c in page.context["changes"] if c.kind == "move")
    assert set(move.form.fields["parent"].queryset) == {town.communities["A2"]}
    # A parent outside the scope is not a choice, whatever the post says.
    response = client.post(
        change_url(town.grids["A1-1"], "move"),
        {"parent": town.communities["B1"].pk, "effective_date": today()},
        HTTP_HX_REQUEST="true",
    )
    assert "parent" in response.context["change"].form.errors


def test_merge_into_a_new_code_moves_registry_rows_and_roles(client, town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    household = build_household(b)
    worker = build_user(role=Role.GRID_WORKER, area=b)
    response = login(client, personas["district_officer"]).post(
        change_url(a, "merge"),
        {
            "others": [b.pk],
            "keep": "",
            "into_name": "合并网格",
            "into_code": "510199001001900",
            "effective_date": today(),
        },
    )
    merged = Area.objects.get(code="510199001001900")
    assert response.status_code == 302
    assert response["Location"] == reverse("areas:detail", args=[merged.pk])
    household.refresh_from_db()
    assert household.area == merged
    assert RoleAssignment.objects.get(user=worker).area == merged
    a.refresh_from_db()
    assert a.successor == merged


def test_merge_keeping_one_code(client, town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    response = login(client, personas["district_officer"]).post(
        change_url(a, "merge"),
        {"others": [b.pk], "keep": b.code, "into_name": "大网格", "effective_date": today()},
    )
    assert response.status_code == 302
    b.refresh_from_db()
    a.refresh_from_db()
    assert (b.is_current, b.name, a.successor) == (True, "大网格", b)


def test_merge_errors_are_on_their_fields_and_nothing_changes(client, town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    login(client, personas["district_officer"])
    post = {"others": [b.pk], "keep": "", "into_name": "合并", "effective_date": today()}
    response = client.post(change_url(a, "merge"), post, HTTP_HX_REQUEST="true")
    assert "into_code" in response.context["change"].form.errors
    used = {**post, "into_code": town.grids["B1-1"].code}
    response = client.post(change_url(a, "merge"), used, HTTP_HX_REQUEST="true")
    assert "already used" in " ".join(response.context["change"].form.errors["into_code"])
    cousin = {**post, "others": [town.grids["A2-1"].pk], "into_code": "X1"}
    response = client.post(change_url(a, "merge"), cousin, HTTP_HX_REQUEST="true")
    assert "others" in response.context["change"].form.errors  # not a sibling: not a choice
    wrong_keep = {**post, "keep": town.grids["A2-1"].code}
    response = client.post(change_url(a, "merge"), wrong_keep, HTTP_HX_REQUEST="true")
    assert "keep" in response.context["change"].form.errors
    assert Area.objects.current().filter(pk__in=[a.pk, b.pk]).count() == 2
    assert not AreaChange.objects.filter(kind=ChangeKind.MERGE).exists()


def test_split_from_an_uploaded_feature_collection(client, town, personas):
    grid = town.grids["B1-1"]
    RoleAssignment.objects.create(user=build_user("b11worker"), role=Role.GRID_WORKER, area=grid)
    loner = build_resident(area=grid, name="无户居民")
    admin = personas["admin"]
    response = login(client, admin).post(
        change_url(grid, "split"), {"file": halves_file(grid), "effective_date": today()}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("areas:detail", args=[grid.pk])
    grid.refresh_from_db()
    assert not grid.is_current
    assert set(
        Area.objects.current().filter(code__startswith=grid.code).values_list("name", flat=True)
    ) == {
        "西半",
        "东半",
    }
    # The retired grid's page lists what the split left there: the resident without a
    # household (masked) and the role assignment, for a person to place.
    page = client.get(response["Location"])
    titles = {g["title"]: g for g in page.context["leftovers"]}
    assert titles["居民"]["count"] == 1
    assert titles["居民"]["items"][0]["label"] == "无***"
    assert loner.name not in page.text
    assert titles["角色分配"]["count"] == 1
    assert page.context["changes"] == []  # a retired area is not changed further


def test_split_refusals_land_on_the_file_field(client, town, personas):
    grid = town.grids["B1-1"]
    login(client, personas["admin"])
    url = change_url(grid, "split")
    bad_json = SimpleUploadedFile("parts.geojson", b"{not json")
    response = client.post(
        url, {"file": bad_json, "effective_date": today()}, HTTP_HX_REQUEST="true"
    )
    assert "file" in response.context["change"].form.errors
    one_half = json.loads(halves_file(grid).read())
    one_half["features"] = one_half["features"][:1]
    response = client.post(
        url,
        {
            "file": SimpleUploadedFile("p.geojson", json.dumps(one_half).encode()),
            "effective_date": today(),
        },
        HTTP_HX_REQUEST="true",
    )
    assert "at least two parts" in " ".join(response.context["change"].form.errors["file"])
    response = client.post(url, {"effective_date": today()}, HTTP_HX_REQUEST="true")
    assert "file" in response.context["change"].form.errors
    grid.refresh_from_db()
    assert grid.is_current


def test_retire_needs_the_confirmation_and_refuses_an_area_in_use(client, town, personas):
    login(client, personas["district_officer"])
    grid = town.grids["A1-1"]
    response = client.post(
        change_url(grid, "retire"), {"effective_date": today()}, HTTP_HX_REQUEST="true"
    )
    assert "confirm" in response.context["change"].form.errors
    build_household(grid)
    response = client.post(
        change_url(grid, "retire"),
        {"effective_date": today(), "confirm": "on"},
        HTTP_HX_REQUEST="true",
    )
    errors = response.context["change"].form.non_field_errors()
    assert "still holds registry rows" in " ".join(errors)
    assert 'class="notice error"' in response.text
    grid.refresh_from_db()
    assert grid.is_current
    empty = build_area(Level.GRID, town.communities["A1"], code="EMPTY")
    response = client.post(
        change_url(empty, "retire"), {"effective_date": today(), "confirm": "on"}
    )
    assert response.status_code == 302
    empty.refresh_from_db()
    assert not empty.is_current
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.CHANGE, object_id=str(empty.pk)
    ).exists()


def test_merged_grid_staff_keep_their_posting_and_view(client, town, personas):
    a, b = town.grids["A1-1"], town.grids["A1-2"]
    worker = build_user(role=Role.GRID_WORKER, area=b)
    GridAssignment.objects.create(grid=b, worker=worker)
    login(client, personas["district_officer"]).post(
        change_url(a, "merge"),
        {"others": [b.pk], "keep": a.code, "into_name": "第1网格", "effective_date": today()},
    )
    page = login(client, worker).get(reverse("areas:detail", args=[a.pk]))
    assert page.status_code == 200
    assert [s.worker for s in page.context["staff"]] == [worker]
