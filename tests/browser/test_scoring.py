"""The scorecard in a real browser: a street dispatcher reads their street's ranking, follows a
rate to the cases behind it, and publishes the month's bulletin."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from civicgrid.cases.choices import Satisfaction, Solved
from civicgrid.cases.tests.builders import Desk, build_policy
from civicgrid.scoring import rollups
from civicgrid.scoring.models import Scorecard
from civicgrid.scoring.tests.stories import Story
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/scoring/?period=month&date=2026-03-01&subject=community"


@pytest.fixture
def history(town, personas):
    build_policy(respond_hours=2, resolve_hours=72)
    desk = Desk(town)
    d, h, u = personas["district_officer"], desk.handler, desk.unit
    a1 = Story(town, d, grid="A1-1").dispatch(u).accept(h, 1).resolve(h, 5).callback(6)
    a2 = Story(town, d, grid="A2-1").dispatch(u).accept(h, 5).resolve(h, 6)
    a2.callback(7, solved=Solved.PARTLY, satisfaction=Satisfaction.BASIC)
    b1 = Story(town, d, grid="B1-1").dispatch(u).accept(h, 1).resolve(h, 5).callback(6)
    rollups.refresh()
    return {"a1": a1.case, "a2": a2.case, "b1": b1.case}


def test_a_street_reads_its_ranking_drills_down_and_publishes(page, town, personas, history):
    log_in(page, "street_dispatcher")
    page.goto(URL)
    table = page.get_by_test_id("scorecard-table")
    expect(table).to_contain_text("响应率")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)  # communities A1 and A2, never street B's
    expect(table).not_to_contain_text(town.communities["B1"].name)
    expect(page.get_by_test_id("red-list")).to_contain_text(town.communities["A1"].name)

    # Follow community A2's response rate to the cases in its denominator.
    a2 = table.locator(f'tr[data-subject="{town.communities["A2"].pk}"]')
    a2.get_by_role("link", name="分母").first.click()
    expect(page.get_by_test_id("explain-summary")).to_contain_text("1")
    expect(page.locator("table.cases")).to_contain_text(history["a2"].number)
    expect(page.locator("table.cases")).not_to_contain_text(history["b1"].number)

    page.goto(URL)
    page.get_by_test_id("publish").get_by_role("button").click()
    expect(page.locator("h1")).to_contain_text("考核通报")
    expect(page.get_by_test_id("export")).to_be_visible()
    # "All my areas" published for the street where the dispatcher works.
    assert Scorecard.objects.get().scope_path == town.streets["A"].path


def test_the_scorecard_fits_a_phone(new_page, history):
    page = new_page(width=390, height=844)
    log_in(page, "district_officer")
    page.goto(URL)
    expect(page.get_by_test_id("scorecard-table")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # the table scrolls inside its wrapper, not the page
