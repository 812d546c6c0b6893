"""Scorecard pages and API: scope (a street sees its own figures, not a neighbour's), the cases
behind a figure, publishing (frozen figures, audited), and the bulletin workbook."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from civicgrid.accounts.choices import Role
from civicgrid.cases.choices import Satisfaction, Solved
from civicgrid.cases.tests.builders import Desk, build_policy
from civicgrid.core.models import AuditEntry
from civicgrid.scoring import rollups
from civicgrid.scoring.models import Scorecard
from civicgrid.scoring.tests.stories import Story
from tests.builders import build_user

MARCH = {"period": "month", "date": "2026-03-01"}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def history(town, personas):
    """Street A: two cases (one satisfied, one dissatisfied after its reopen limit); street B:
    one satisfied case. All handled by one unit."""
    build_policy(respond_hours=2, resolve_hours=72)
    desk = Desk(town)
    d, h, u = personas["district_officer"], desk.handler, desk.unit
    a1 = Story(town, d, grid="A1-1").dispatch(u).accept(h, 1).resolve(h, 5).callback(6)
    a2 = Story(town, d, grid="A2-1").dispatch(u).accept(h, 1).resolve(h, 5)
    a2.callback(6, solved=Solved.PARTLY, satisfaction=Satisfaction.BASIC)
    b1 = Story(town, d, grid="B1-1").dispatch(u).accept(h, 1).resolve(h, 5).callback(6)
    rollups.refresh()
    desk.cases = {"a1": a1.case, "a2": a2.case, "b1": b1.case}
    return desk


@pytest.fixture
def street_b(town):
    return build_user("street_b", role=Role.STREET_DISPATCHER, area=town.streets["B"])


def test_a_street_sees_its_own_streets_figures_only(town, personas, history, street_b):
    url = "/api/v1/scoring/scorecard"
    admin = as_user(personas["admin"]).get(url, {**MARCH, "subject": "street"}).json()
    assert {r["id"] for r in admin["rows"]} == {town.streets["A"].pk, town.streets["B"].pk}
    mine = as_user(personas["street_dispatcher"]).get(url, {**MARCH, "subject": "street"}).json()
    assert [r["id"] for r in mine["rows"]] == [town.streets["A"].pk]
    assert mine["overall"]["counts"]["scored"] == 2
    theirs = as_user(street_b).get(url, {**MARCH, "subject": "street"}).json()
    assert [r["id"] for r in theirs["rows"]] == [town.streets["B"].pk]
    # The unit's figures, seen from street A, are its cases in street A only.
    units = as_user(personas["street_dispatcher"]).get(url, MARCH).json()
    assert [r["counts"]["scored"] for r in units["rows"]] == [2]


def test_a_neighbours_area_is_not_found(town, personas, history):
    client = as_user(personas["street_dispatcher"])
    b = town.streets["B"].pk
    assert client.get("/api/v1/scoring/scorecard", {**MARCH, "area": b}).status_code == 404
    # The page's area list does not offer it: refused like an area that does not exist.
    for area in (b, 999_999):
        page = client.get("/scoring/", {**MARCH, "area": area})
        assert page.status_code == 200
        assert 'data-testid="scorecard-table"' not in page.content.decode()
    assert (
        client.get(
            "/api/v1/scoring/counts", {"start": "2026-03-01", "end": "2026-03-31", "area": b}
        ).status_code
        == 404
    )


def test_outsiders_see_nothing(personas, history):
    client = as_user(personas["outsider"])
    assert client.get("/scoring/").status_code == 404
    assert client.get("/api/v1/scoring/scorecard", MARCH).status_code == 404
    assert client.get("/scoring/published/").status_code == 404
    assert Client().get("/api/v1/scoring/scorecard", MARCH).status_code == 401


def test_the_page_shows_rates_rankings_and_links(personas, history):
    page = as_user(personas["admin"]).get("/scoring/", MARCH)
    assert page.status_code == 200
    html = page.content.decode()
    assert history.unit.name in html
    assert "metric=satisfaction_rate&part=numerator" in html
    assert 'data-testid="red-list"' in html


def test_the_cases_behind_a_figure(town, personas, history):
    client = as_user(personas["admin"])
    base = {
        "start": "2026-03-01",
        "end": "2026-03-31",
        "subject": "unit",
        "id": history.unit.pk,
        "metric": "satisfaction_rate",
    }
    numbers = {
        c["number"]
        for c in client.get("/api/v1/scoring/cases", {**base, "part": "numerator"}).json()["items"]
    }
    # Satisfied (a1, b1) and basically satisfied (a2) are all in the numerator.
    assert numbers == {c.number for c in history.cases.values()}
    street = client.get(
        "/api/v1/scoring/cases",
        {**base, "subject": "street", "id": town.streets["A"].pk, "part": "denominator"},
    ).json()
    assert {c["number"] for c in street["items"]} == {
        history.cases["a1"].number,
        history.cases["a2"].number,
    }
    page = client.get("/scoring/cases/", {**base, "part": "numerator"})
    assert page.status_code == 200 and history.cases["b1"].number in page.content.decode()
    # A street dispatcher asking for the whole unit sees only their street's cases.
    mine = as_user(personas["street_dispatcher"]).get(
        "/api/v1/scoring/cases", {**base, "part": "numerator"}
    )
    assert history.cases["b1"].number not in {c["number"] for c in mine.json()["items"]}


def test_publishing_freezes_the_figures_and_is_audited(town, personas, history, street_b):
    client = as_user(personas["street_dispatcher"])
    body = {**MARCH, "subject": "community", "area": town.streets["A"].pk, "title": "三月通报"}
    response = client.post("/api/v1/scoring/published", body, content_type="application/json")
    assert response.status_code == 201, response.content
    card = response.json()
    assert card["preset"] == "zhungeer" and card["preset_version"] == 1
    rows = card["scorecard"]["rows"]
    assert {r["id"] for r in rows} == {town.communities["A1"].pk, town.communities["A2"].pk}
    assert AuditEntry.objects.filter(object_type__icontains="scorecard").count() == 1
    # A later change moves the live figures, never the published ones.
    stored = Scorecard.objects.get(pk=card["id"]).rows
    Story(town, personas["district_officer"], grid="A1-2").dispatch(history.unit).accept(
        history.handler, 5
    )
    rollups.refresh()
    live = client.get("/api/v1/scoring/scorecard", {**MARCH, "subject": "community"}).json()
    assert live["overall"]["counts"]["scored"] == 3
    again = client.get(f"/api/v1/scoring/published/{card['id']}").json()
    assert again["scorecard"]["rows"] == rows == stored
    # The neighbour street does not see it; the page and the workbook answer 404 too.
    other = as_user(street_b)
    assert other.get(f"/api/v1/scoring/published/{card['id']}").status_code == 404
    assert other.get(f"/scoring/published/{card['id']}/").status_code == 404
    assert other.get("/api/v1/scoring/published").json()["count"] == 0
    assert client.get("/api/v1/scoring/published").json()["count"] == 1


def test_publishing_outside_ones_area_is_refused(town, personas, history):
    client = as_user(personas["street_dispatcher"])
    body = {**MARCH, "subject": "community", "area": town.streets["B"].pk}
    response = client.post("/api/v1/scoring/published", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "area"
    # A grid worker may read scorecards but not publish them.
    grid = as_user(personas["grid_worker"])
    body = {**MARCH, "subject": "grid", "area": town.grids["A1-1"].pk}
    assert (
        grid.post("/api/v1/scoring/published", body, content_type="application/json").status_code
        == 403
    )
    assert not Scorecard.objects.exists()


def test_publish_from_the_page_then_export_the_bulletin(town, personas, history):
    client = as_user(personas["district_officer"])
    response = client.post(
        "/scoring/publish/",
        {**MARCH, "preset": "zhungeer", "subject": "unit", "area": town.district.pk},
    )
    assert response.status_code == 302
    card = Scorecard.objects.get()
    assert client.get(f"/scoring/published/{card.pk}/").status_code == 200
    xlsx = client.get(f"/scoring/published/{card.pk}/export.xlsx")
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["通报", "明细"]
    sheet = wb["通报"]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert card.title in values
    assert "红榜（前列）" in values and "黑榜（末位）" in values
    assert history.unit.name in values


def test_bad_input_gets_field_errors(personas, history):
    client = as_user(personas["admin"])
    r = client.get("/api/v1/scoring/scorecard", {"period": "range", "date": "2026-03-05"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "end"
    r = client.get("/api/v1/scoring/scorecard", {"preset": "nope"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "preset"
    r = client.get(
        "/api/v1/scoring/counts",
        {"start": "2026-03-01", "end": "2026-03-31", "group_by": "planet"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "group_by"
    page = client.get("/scoring/", {"period": "range", "date": "2026-03-05"})
    assert page.status_code == 200 and 'data-testid="scorecard-table"' not in page.content.decode()


def test_counts_for_dashboards(town, personas, history):
    rows = (
        as_user(personas["admin"])
        .get(
            "/api/v1/scoring/counts",
            {"start": "2026-03-01", "end": "2026-03-31", "group_by": "street,week"},
        )
        .json()
    )
    assert [(r["street"], r["week"], r["total"]) for r in rows] == [
        (town.streets["A"].pk, dt.date(2026, 3, 2).isoformat(), 2),
        (town.streets["B"].pk, dt.date(2026, 3, 2).isoformat(), 1),
    ]


def test_the_admin_lists_published_scorecards_read_only(town, personas, history, street_b):
    officer = personas["district_officer"]
    officer.is_staff = True
    officer.save()
    client = as_user(officer)
    client.post(
        "/api/v1/scoring/published",
        {**MARCH, "subject": "street", "area": town.district.pk},
        content_type="application/json",
    )
    card = Scorecard.objects.get()
    assert client.get("/admin/scoring/scorecard/").status_code == 200
    assert client.get(f"/admin/scoring/scorecard/{card.pk}/change/").status_code == 200
    assert client.post(f"/admin/scoring/scorecard/{card.pk}/delete/").status_code == 403
    street_b.is_staff = True
    street_b.save()
    # The neighbour street's staff user does not find the district's bulletin.
    assert as_user(street_b).get(f"/admin/scoring/scorecard/{card.pk}/change/").status_code in (
        302,
        404,
    )
