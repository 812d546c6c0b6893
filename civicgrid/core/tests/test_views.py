"""Core pages: log in and out, the home page of each persona, the audit log, the language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.cases.choices import DeadlineStatus, State
from civicgrid.cases.tests.builders import build_case, build_unit, unit_handler
from civicgrid.core import audit
from civicgrid.core.models import AuditEntry
from tests.builders import build_household, build_user

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def test_pages_need_a_login(client, town):
    for url in [
        reverse("core:home"),
        reverse("core:audit_log"),
        reverse("areas:tree"),
        reverse("registry:household_list"),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("core:login"))


def test_login_page_is_chinese_by_default_and_logs_in(client, personas):
    page = client.get(reverse("core:login"))
    assert page.status_code == 200
    assert 'lang="zh-hans"' in page.text
    assert "登录" in page.text
    response = client.post(
        reverse("core:login"), {"username": "grid_worker", "password": "pass-civicgrid-1"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")


def test_wrong_password_shows_an_error_on_the_form(client, personas):
    response = client.post(
        reverse("core:login"), {"username": "grid_worker", "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert 'class="notice error"' in response.text
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client, personas):
    login(client, personas["grid_worker"])
    response = client.post(reverse("core:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_language_switch_turns_the_pages_english(client, personas):
    login(client, personas["grid_worker"])
    assert "首页" in client.get(reverse("core:home")).text
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("core:home")}
    )
    assert response.status_code == 302
    page = client.get(reverse("core:home"))
    assert 'lang="en"' in page.text
    assert ">Home<" in page.text
    assert "首页" not in page.text


def test_grid_worker_home_shows_their_grid_and_its_counts(client, town, personas):
    grid = town.grids["A1-1"]
    build_household(grid)
    build_household(grid)
    build_household(town.grids["A2-1"])  # another community: not theirs
    page = login(client, personas["grid_worker"]).get(reverse("core:home"))
    assert page.status_code == 200
    sections = page.context["sections"]
    assert [s["area"] for s in sections] == [grid]
    assert sections[0]["report"].households == 2
    assert reverse("areas:detail", args=[grid.pk]) in page.text
    assert town.communities["A2"].name not in page.text


def test_community_worker_home_has_coverage_and_the_import_link(client, town, personas):
    page = login(client, personas["community_worker"]).get(reverse("core:home"))
    section = page.context["sections"][0]
    assert section["area"] == town.communities["A1"]
    assert [row["area"] for row in section["children"]] == [
        town.grids["A1-1"],
        town.grids["A1-2"],
    ]
    assert reverse("registry:import_new") in page.text


def test_district_officer_home_lists_streets_with_counts(client, town, personas):
    build_household(town.grids["B1-1"])
    page = login(client, personas["district_officer"]).get(reverse("core:home"))
    rows = {row["area"].name: row for row in page.context["sections"][0]["children"]}
    assert set(rows) == {"A街道", "B街道"}
    assert rows["B街道"]["households"] == 1
    assert rows["A街道"]["households"] == 0
    assert rows["A街道"]["grids"] == 4
    # the district officer may not import
    assert reverse("registry:import_new") not in page.text


def test_auditor_home_shows_the_latest_audit_entries(client, town, personas):
    audit.record(None, AuditEntry.Action.CHANGE, town.grids["A1-1"], reason="边界调整")
    page = login(client, personas["auditor"]).get(reverse("core:home"))
    assert "边界调整" in page.text
    assert reverse("core:audit_log") in page.text


def test_resident_home_offers_the_grid_finder(client, personas):
    page = login(client, personas["resident"]).get(reverse("core:home"))
    assert page.context["show_finder"] is True
    assert page.context["sections"] == []
    assert 'name="address"' in page.text
    assert "data-grid-map" in page.text
    # no grid vectors for a resident, but the map opens over the town
    assert "data-geojson-url" not in page.text
    assert 'data-bounds="30.600000,104.000000,30.620000,104.040000"' in page.text
    assert reverse("registry:household_list") not in page.text


def test_hotline_operator_home_locates_on_the_grid_map(client, personas):
    page = login(client, personas["hotline_operator"]).get(reverse("core:home"))
    assert page.context["show_finder"] is True
    assert f'data-geojson-url="{reverse("areas:grids_geojson")}' in page.text
    assert [s["area"].name for s in page.context["sections"]] == ["测试区"]
    assert page.context["sections"][0]["report"] is None  # no registry.view


def test_outsider_home_says_there_is_no_role(client, personas):
    page = login(client, personas["outsider"]).get(reverse("core:home"))
    assert page.status_code == 200
    assert page.context["sections"] == []
    assert reverse("registry:household_list") not in page.text
    assert reverse("core:audit_log") not in page.text


def _entries(town, personas):
    grid_worker = personas["grid_worker"]
    audit.record(grid_worker, AuditEntry.Action.REVEAL, town.grids["A1-1"], reason="入户核查")
    audit.record(grid_worker, AuditEntry.Action.EXPORT, town.grids["A1-2"], reason="月报")
    audit.record(None, AuditEntry.Action.CREATE, town.grids["B1-1"], reason="B街道新建")


def test_audit_log_lists_the_auditors_subtree(client, town, personas):
    _entries(town, personas)
    page = login(client, personas["auditor"]).get(reverse("core:audit_log"))
    assert page.status_code == 200
    assert "入户核查" in page.text and "月报" in page.text
    assert "B街道新建" in page.text  # the auditor's scope is the whole district


def test_audit_log_of_a_street_auditor_leaves_out_other_streets(client, town, personas):
    _entries(town, personas)
    street_auditor = build_user(role="auditor", area=town.streets["A"])
    page = login(client, street_auditor).get(reverse("core:audit_log"))
    assert "入户核查" in page.text
    assert "B街道新建" not in page.text


def test_audit_log_filters(client, town, personas):
    _entries(town, personas)
    login(client, personas["auditor"])
    url = reverse("core:audit_log")
    page = client.get(url, {"action": "reveal"})
    assert "入户核查" in page.text and "月报" not in page.text
    page = client.get(url, {"actor": "grid_w"})
    assert "入户核查" in page.text and "B街道新建" not in page.text
    page = client.get(url, {"object_type": "areas.area", "date_from": "2000-01-01"})
    assert (
        page.context["page_obj"].paginator.count
        == AuditEntry.objects.filter(object_type="areas.area").count()
    )


def test_audit_log_bad_dates_are_field_errors(client, personas):
    login(client, personas["auditor"])
    page = client.get(
        reverse("core:audit_log"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert page.status_code == 200
    assert page.context["form"].errors["date_to"]
    assert 'class="errorlist' in page.text
    page = client.get(reverse("core:audit_log"), {"date_from": "not-a-date"})
    assert page.context["form"].errors["date_from"]


def test_audit_log_paginates(client, town, personas):
    for n in range(55):
        audit.record(None, AuditEntry.Action.UPDATE, town.grids["A1-1"], reason=f"r{n}")
    login(client, personas["auditor"])
    first = client.get(reverse("core:audit_log"))
    assert len(first.context["page_obj"].object_list) == 50
    second = client.get(reverse("core:audit_log"), {"page": 2})
    assert len(second.context["page_obj"].object_list) >= 5


@pytest.mark.parametrize("persona", ["grid_worker", "street_dispatcher", "resident", "outsider"])
def test_audit_log_is_hidden_without_audit_view(client, personas, persona):
    response = login(client, personas[persona]).get(reverse("core:audit_log"))
    assert response.status_code == 404


def test_a_hidden_object_gets_the_styled_not_found_page(client, town, personas):
    login(client, personas["outsider"])
    response = client.get(reverse("areas:detail", args=[town.grids["A1-1"].pk]))
    assert response.status_code == 404
    assert "core/home" not in response.text
    assert 'class="site-header"' in response.text
    assert reverse("core:home") in response.text


def _case_panel(town):
    unit = build_unit("城管局", code="CG-HOME", areas=[town.district])
    other = build_unit("水务局", code="SW-HOME", areas=[town.district])
    build_case(town, grid="A1-1")  # open, on time
    build_case(
        town,
        grid="A1-2",
        state=State.DISPATCHED,
        lead_unit=unit,
        deadline_status=DeadlineStatus.NEAR_DUE,
    )
    build_case(
        town,
        grid="A2-1",
        state=State.ACCEPTED,
        lead_unit=unit,
        deadline_status=DeadlineStatus.OVERDUE,
    )
    build_case(town, grid="A1-1", state=State.RETURNED, lead_unit=other)
    build_case(town, grid="A1-1", state=State.DISPATCHED, lead_unit=other)
    build_case(
        town,
        grid="A1-1",
        state=State.CLOSED,
        lead_unit=unit,
        deadline_status=DeadlineStatus.OVERDUE,
    )  # not open: counted nowhere
    build_case(
        town,
        grid="B1-1",
        state=State.DISPATCHED,
        lead_unit=unit,
        deadline_status=DeadlineStatus.OVERDUE,
    )  # street B
    return unit


def test_dispatcher_home_counts_the_cases_of_their_street(client, town, personas):
    _case_panel(town)
    page = login(client, personas["street_dispatcher"]).get(reverse("core:home"))
    assert page.context["case_counts"] == {
        "open": 5,
        "near_due": 1,
        "overdue": 1,
        "returned": 1,
        "awaiting_acceptance": None,
    }
    queue = reverse("cases:queue")
    assert f'<a href="{queue}?due=overdue">1</a>' in page.text
    assert f'<a href="{queue}?state=returned">1</a>' in page.text
    assert f'<a href="{queue}">5</a>' in page.text
    assert reverse("cases:inbox") not in page.text
    assert "退单待审定" in page.text and "在办诉求" in page.text


def test_department_handler_home_counts_their_units_cases(client, town, personas):
    unit = _case_panel(town)
    page = login(client, unit_handler(unit)).get(reverse("core:home"))
    counts = page.context["case_counts"]
    # The unit sees its own three open cases (both streets), not the other unit's.
    assert counts["open"] == 3 and counts["overdue"] == 2 and counts["returned"] is None
    assert counts["awaiting_acceptance"] == 2
    assert f'<a href="{reverse("cases:inbox")}?show=awaiting_acceptance">2</a>' in page.text


def test_outsider_home_has_no_case_panel(client, town, personas):
    _case_panel(town)
    page = login(client, personas["outsider"]).get(reverse("core:home"))
    assert page.context["case_counts"] is None
    assert 'id="cases-heading"' not in page.text
