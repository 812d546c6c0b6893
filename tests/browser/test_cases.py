"""The request loop in a real browser: an operator takes a call and a dispatcher sends it, the
unit accepts and resolves it, the resident tracks it by number and phone and rates it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from civicgrid.cases import catalogue
from civicgrid.cases.choices import State
from civicgrid.cases.models import Callback, Case
from civicgrid.cases.tests.builders import Desk, build_policy, build_taxonomy
from tests.browser.conftest import log_in
from tests.builders import Town

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"


def click_map_at(page, map_selector: str, lat: float, lon: float) -> None:
    """Click the Leaflet map at a geographic point (the map converts it to pixels)."""
    page.wait_for_selector(f"{map_selector}[data-ready='1']")
    x, y = page.evaluate(
        """([selector, lat, lon]) => {
            const map = document.querySelector(selector).civicgridMap;
            const p = map.latLngToContainerPoint([lat, lon]);
            return [p.x, p.y];
        }""",
        [map_selector, lat, lon],
    )
    page.locator(map_selector).click(position={"x": x, "y": y})


@pytest.fixture
def loop(town, personas):
    build_policy(respond_hours=2, resolve_hours=72)
    taxonomy = build_taxonomy()
    top = catalogue.create_category(taxonomy, actor=None, code="09", name="城市管理")
    middle = catalogue.create_category(
        taxonomy, actor=None, code="0900", name="市容环境", parent=top
    )
    catalogue.create_category(
        taxonomy, actor=None, code="09006", name="占道经营", parent=middle, keywords="摆摊"
    )
    return Desk(town)


def test_call_dispatch_accept_resolve_track_and_rate(new_page, town, personas, loop):
    desk = loop
    grid = town.grids["A1-1"]
    lat, lon = Town.centre(grid)

    # 1. The hotline operator takes the call, keyboard first: the category by its initials.
    page = new_page()
    log_in(page, "hotline_operator")
    page.goto(reverse("cases:intake"))
    page.select_option("#id_kind", "complaint")
    page.fill("#category-search", "zdjy")
    expect(page.locator("#category-results button").first).to_contain_text("占道经营")
    page.press("#category-search", "Enter")
    expect(page.locator("[data-category-chosen]")).to_contain_text("城市管理 › 市容环境 › 占道经营")
    expect(page.locator("#id_title")).to_be_focused()
    page.keyboard.type("小区门口占道摆摊")
    page.fill("#id_description", "每天傍晚有小贩在小区门口占道摆摊，影响通行。")
    click_map_at(page, "#pin-map", lat, lon)
    expect(page.locator("#pin-where [data-testid=where-chain]")).to_contain_text("第1网格")
    expect(page.locator("#pin-where [data-testid=where-chain]")).to_contain_text("A1社区")
    expect(page.locator("#pin-where [data-testid=where-chain]")).to_contain_text("A街道")
    assert page.input_value("#id_lat").startswith("30.60")
    page.fill("#id_reporter_name", "李四")
    page.fill("#id_reporter_phone", PHONE)
    page.click("[data-testid=intake-form] button[type=submit]")
    number = page.locator("[data-testid=case-number]")
    expect(number).to_have_text(re.compile(r"\d{13}"))
    case = Case.objects.get(number=number.inner_text())
    assert case.grid == grid and case.category.name == "占道经营"

    # 2. The street dispatcher ticks it in the console and sends it to the unit.
    page = new_page()
    log_in(page, "street_dispatcher")
    page.goto(reverse("cases:queue"))
    row = page.locator(f"tr[data-case='{case.number}']")
    expect(row.locator(".countdown")).to_have_class(re.compile("on_time"))
    row.locator("input[name=cases]").check()
    page.select_option("[data-testid=bulk-dispatch] select[name=unit]", str(desk.unit.pk))
    page.click("[data-testid=bulk-dispatch] button[type=submit]")
    expect(page.locator(f"tr[data-case='{case.number}'] .badge.state-dispatched")).to_be_visible()

    # 3. The unit accepts it from its inbox and resolves it with a reply on the case page.
    page = new_page()
    log_in(page, desk.handler.username)
    page.goto(reverse("cases:inbox"))
    page.locator(f"tr[data-case='{case.number}'] button[type=submit]").click()
    expect(page.locator(f"tr[data-case='{case.number}'] .badge.state-accepted")).to_be_visible()
    page.locator(f"tr[data-case='{case.number}'] a", has_text=case.number).click()
    expect(page.locator("[data-testid=reporter]")).to_contain_text(PHONE)  # the unit calls back
    resolve = page.locator("[data-testid=action-resolve]")
    resolve.locator("textarea").fill("已联系城管劝离摊贩，并设置了提示牌。")
    resolve.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=case-state]")).to_have_class(re.compile("state-resolved"))
    expect(page.locator("[data-testid=timeline]")).to_contain_text("已联系城管劝离摊贩")

    # 4. The resident, without an account, tracks it and rates the result.
    page = new_page(width=390, height=844)
    page.goto(reverse("public:track"))
    page.fill("#id_number", case.number)
    page.fill("#id_phone", PHONE)
    page.click("[data-testid=track-form] button[type=submit]")
    tracked = page.locator("[data-testid=tracked]")
    expect(tracked).to_contain_text("已联系城管劝离摊贩")
    expect(tracked).not_to_contain_text(desk.handler.username)
    rate = page.locator("[data-testid=rate]")
    rate.locator("input[name=solved][value=solved]").check()
    rate.locator("input[name=satisfaction][value=satisfied]").check()
    rate.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=tracked-state]")).to_be_visible()
    expect(page.locator("[data-testid=rate]")).to_have_count(0)
    callback = Callback.objects.get(case=case)
    assert callback.satisfaction == "satisfied"
    case.refresh_from_db()
    assert case.state == State.CALLBACK_DONE
