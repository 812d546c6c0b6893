"""The dashboard page, its JSON, the hotspots panel and the API: scope, period picker, errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from civicgrid.cases.choices import State
from civicgrid.cases.tests.builders import build_case
from civicgrid.scoring import rollups


@pytest.fixture
def cases(town):
    for grid, day in (("A1-1", 3), ("A1-1", 4), ("A2-1", 5), ("B1-1", 6)):
        build_case(
            town,
            grid=grid,
            state=State.CLOSED,
            received_at=timezone.make_aware(dt.datetime(2026, 10, day, 9)),
        )
    rollups.rebuild()


OCTOBER = {"period": "month", "date": "2026-10-15"}


def test_page_renders_chart_containers_with_local_libraries(client, personas, cases):
    client.force_login(personas["street_dispatcher"])
    page = client.get(reverse("dashboards:dashboard"), OCTOBER)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-chart="trend"' in html and "data-dash-map" in html
    assert "vendor/echarts/echarts.min.js" in html and "//cdn" not in html
    assert reverse("dashboards:data") in html
    assert page.context["period"].start == dt.date(2026, 10, 1)


def test_default_period_is_the_current_month(client, personas):
    client.force_login(personas["street_dispatcher"])
    page = client.get(reverse("dashboards:dashboard"))
    assert page.status_code == 200
    per = page.context["period"]
    assert per.kind == "month" and per.start.day == 1


def test_data_json_in_scope(client, personas, cases, town):
    client.force_login(personas["street_dispatcher"])
    data = client.get(reverse("dashboards:data"), OCTOBER).json()
    assert data["totals"]["received"] == 3
    client.force_login(personas["district_officer"])
    data = client.get(reverse("dashboards:data"), OCTOBER).json()
    assert data["totals"]["received"] == 4
    narrowed = client.get(
        reverse("dashboards:data"), {**OCTOBER, "area": town.streets["B"].pk}
    ).json()
    assert narrowed["totals"]["received"] == 1


def test_any_range(client, personas, cases):
    client.force_login(personas["district_officer"])
    data = client.get(
        reverse("dashboards:data"), {"period": "range", "date": "2026-10-04", "end": "2026-10-05"}
    ).json()
    assert data["totals"]["received"] == 2
    assert [b["start"] for b in data["trend"]] == ["2026-10-04", "2026-10-05"]


def test_bad_period_is_a_field_error(client, personas):
    client.force_login(personas["street_dispatcher"])
    response = client.get(
        reverse("dashboards:data"), {"period": "range", "date": "2026-10-04", "end": "2026-10-01"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "end"
    page = client.get(reverse("dashboards:dashboard"), {"period": "range", "date": "2026-10-04"})
    assert page.status_code == 200 and page.context["form"].errors["end"]
    assert page.context["data_url"] == ""


def test_a_neighbours_street_is_404(client, personas, cases, town):
    client.force_login(personas["street_dispatcher"])
    neighbour = {**OCTOBER, "area": town.streets["B"].pk}
    for name in ("dashboards:dashboard", "dashboards:data", "dashboards:insight"):
        assert client.get(reverse(name), neighbour).status_code == 404, name
    api = client.get("/api/v1/dashboards/summary", neighbour)
    assert api.status_code == 404


@pytest.mark.parametrize("persona", ["outsider", "resident"])
def test_no_case_role_no_dashboard(client, personas, persona):
    client.force_login(personas[persona])
    for name in ("dashboards:dashboard", "dashboards:data", "dashboards:insight"):
        assert client.get(reverse(name), OCTOBER).status_code == 404, name
    assert client.get("/api/v1/dashboards/summary", OCTOBER).status_code == 404


def test_anonymous_goes_to_login(client):
    response = client.get(reverse("dashboards:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get("/api/v1/dashboards/summary").status_code in (401, 403)


def test_api_summary(client, personas, cases):
    client.force_login(personas["street_dispatcher"])
    response = client.get("/api/v1/dashboards/summary", OCTOBER)
    assert response.status_code == 200
    body = response.json()
    assert body["totals"]["received"] == 3
    assert body["period"]["start"] == "2026-10-01"
    assert {"trend", "channels", "kinds", "categories", "rates", "compliance", "map"} <= set(body)
    bad = client.get("/api/v1/dashboards/summary", {"period": "range", "date": "2026-10-04"})
    assert bad.status_code == 422
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/dashboards/summary" in schema["paths"]


def test_insight_panel(client, personas, cases):
    client.force_login(personas["street_dispatcher"])
    response = client.get(reverse("dashboards:insight"), OCTOBER)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="rises"' in html and 'data-testid="topics"' in html


def test_insight_panel_lists_the_topics_in_scope(client, personas, cases, town):
    from civicgrid.cases.tests.builders import build_unit
    from civicgrid.insights import services

    unit = build_unit("城管局", areas=[town.district])
    mine = services.create_topic(
        actor=personas["district_officer"],
        title="A街道路灯",
        owner_unit=unit,
        area=town.streets["A"],
        period=dt.date(2026, 10, 1),
        keywords="路灯",
    )
    services.create_topic(
        actor=personas["district_officer"],
        title="B街道噪音",
        owner_unit=unit,
        area=town.streets["B"],
        period=dt.date(2026, 10, 1),
        keywords="噪音",
    )
    client.force_login(personas["street_dispatcher"])
    html = client.get(reverse("dashboards:insight"), OCTOBER).content.decode()
    assert "A街道路灯" in html and "B街道噪音" not in html
    assert reverse("insights:topic_cases", args=[mine.pk]) in html


def test_navigation_links_the_dashboard(client, personas):
    client.force_login(personas["grid_worker"])
    home = client.get(reverse("core:home"))
    assert reverse("dashboards:dashboard") in home.content.decode()
