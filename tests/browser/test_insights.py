"""Insight in a real browser, in Chinese: a street dispatcher mines the street's cases, makes
the best candidate a monthly topic, sees its before/after chart drawn, spawns a proactive task
and finds it listed; the hotspot page fits a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from civicgrid.cases.tests.builders import Desk, build_case
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mine_adopt_track_and_spawn(page, town, personas):
    desk = Desk(town)
    now = timezone.now()
    for i in range(5):
        build_case(
            town,
            title="丽发新城搅拌站噪音扰民",
            description="小区旁边搅拌站夜间施工噪音很大",
            received_at=now - dt.timedelta(days=i + 1),
        )
    log_in(page, "street_dispatcher")
    page.goto("/insights/mining/")
    expect(page.locator("h1")).to_have_text("热点问题挖掘")
    page.select_option("#id_area", str(town.streets["A"].pk))
    page.fill("#id_since", (now - dt.timedelta(days=30)).strftime("%Y-%m-%d"))
    page.fill("#id_until", now.strftime("%Y-%m-%d"))
    # the first run in a process loads jieba's dictionary and scikit-learn: give it time
    page.click("[data-testid=mining-form] button[type=submit]", no_wait_after=True)
    expect(page.locator("[data-testid=candidates] tbody tr")).to_have_count(1, timeout=90_000)
    expect(page.locator("[data-testid=candidates]")).to_contain_text("搅拌站")
    page.click("text=设为每月一题")
    page.select_option("#id_owner_unit", str(desk.unit.pk))
    page.click("[data-testid=topic-form] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("已选题")
    # ECharts draws the before/after chart into a canvas
    expect(page.locator("#topic-chart canvas")).to_have_count(1)
    page.select_option("[data-testid=topic-status] select", "active")
    page.click("[data-testid=topic-status] button")
    expect(page.locator("h1")).to_contain_text("办理中")
    page.click("text=派发未诉先办任务")
    page.select_option("#id_area", str(town.grids["A1-2"].pk))
    page.fill("#id_description", "逐个小区排查夜间施工的搅拌站")
    page.click("[data-testid=task-form] button[type=submit]")
    expect(page.locator("[data-testid=tasks] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=tasks]")).to_contain_text("已派单")


def test_hotspots_fit_a_phone(new_page, town, personas):
    page = new_page(width=390, height=844)
    log_in(page, "street_dispatcher")
    page.goto("/insights/")
    expect(page.locator("h1")).to_have_text("热点分析")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1


def test_clusters_are_drawn_on_the_map(page, town, personas):
    from civicgrid.cases.tests.builders import build_category

    noise = build_category("噪音扰民")
    today = timezone.localdate()
    wednesday = today - dt.timedelta(days=today.weekday() + 5)  # in the last full week
    at = timezone.make_aware(dt.datetime.combine(wednesday, dt.time(10)))
    for i in range(5):
        build_case(town, category=noise, received_at=at + dt.timedelta(hours=i))
    log_in(page, "street_dispatcher")
    page.goto("/insights/")
    expect(page.locator("[data-testid=clusters] tbody tr")).to_have_count(1)
    expect(page.locator("#cluster-map path.leaflet-interactive")).to_have_count(1)
