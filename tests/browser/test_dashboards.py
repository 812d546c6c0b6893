"""The dashboard in a real browser: a street dispatcher sees the charts drawn (ECharts canvases,
the Leaflet grid map), follows a figure to its cases, and the page fits a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from civicgrid.cases.choices import Channel, DeadlineStatus, State
from civicgrid.cases.tests.builders import build_case
from civicgrid.scoring import rollups
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("trend", "deadlines", "rates", "compliance", "channels", "kinds", "categories")
URL = reverse("dashboards:dashboard") + "?period=month&date=2026-10-01"


@pytest.fixture
def history(town, personas):
    cases = []
    for grid, day, channel in (
        ("A1-1", 3, Channel.HOTLINE),
        ("A1-1", 9, Channel.WEB),
        ("A2-1", 9, Channel.HOTLINE),
        ("B1-1", 9, Channel.WEB),  # the neighbour street: never on street A's dashboard
    ):
        cases.append(
            build_case(
                town,
                grid=grid,
                channel=channel,
                state=State.ACCEPTED,
                deadline_status=DeadlineStatus.OVERDUE if day == 9 else DeadlineStatus.ON_TIME,
                received_at=timezone.make_aware(dt.datetime(2026, 10, day, 10)),
            )
        )
    rollups.rebuild()
    return cases


def _wait_drawn(page) -> None:
    page.wait_for_selector("[data-dashboard][data-ready='1']")
    for name in CHARTS:
        expect(page.locator(f"[data-chart='{name}'] canvas")).to_have_count(1)
    page.wait_for_selector("[data-dash-map][data-ready='1']")


def test_street_dispatcher_sees_the_charts_and_follows_a_figure(new_page, history):
    page = new_page()
    log_in(page, "street_dispatcher")
    page.goto(URL)
    _wait_drawn(page)
    # The grid map draws the street's grids as SVG paths, coloured by volume.
    assert page.locator("[data-dash-map] svg path").count() >= 2
    stats = page.locator("[data-dash-stats]")
    expect(stats.locator(".stat").first.locator(".value")).to_have_text("3")
    # The hotspots panel arrives after the charts (htmx); the first one in a process waits
    # for scikit-learn to load (the clusters).
    expect(page.locator("#dash-insight [data-testid='topics']")).to_be_visible(timeout=60_000)

    # The web-channel figure opens the console with exactly its case.
    page.locator("details:has([data-table='channels']) summary").click()
    web = page.locator("[data-testid='table-channels'] tr", has_text="网").locator("a")
    expect(web).to_have_text("1")
    web.click()
    page.wait_for_url("**/cases/?**")
    assert "channel=web" in page.url and "received_from=2026-10-01" in page.url
    expect(page.get_by_text(history[1].number)).to_be_visible()
    expect(page.get_by_text(history[0].number)).to_have_count(0)
    expect(page.get_by_text(history[3].number)).to_have_count(0)


def test_dashboard_fits_a_phone(new_page, history):
    page = new_page(width=390, height=844)
    log_in(page, "street_dispatcher")
    page.goto(URL)
    _wait_drawn(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    box = page.locator("[data-chart='trend']").bounding_box()
    assert box is not None and box["width"] <= 390
