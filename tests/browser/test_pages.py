"""The real pages in a real browser: log in, the map, search, masking, the audited reveal."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from civicgrid.core.models import AuditEntry
from tests.browser.conftest import log_in
from tests.builders import Town, build_household, build_resident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID_NUMBER = "510106198005171236"


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


def test_log_in_open_the_map_and_click_a_point_to_find_its_grid(page, town, personas):
    log_in(page, "district_officer")
    expect(page.locator("h1")).to_contain_text("district_officer")
    page.click("nav >> text=区划与地图")
    expect(page).to_have_url(re.compile(r"/areas/$"))
    # the grids arrive as vectors (no tile server): eight polygons for the town
    page.wait_for_selector("#grid-map[data-ready='1']")
    expect(page.locator("#grid-map path.leaflet-interactive")).to_have_count(8)

    grid = town.grids["B2-1"]
    lat, lon = Town.centre(grid)
    click_map_at(page, "#grid-map", lat, lon)
    panel = page.locator("#grid-map-panel")
    expect(panel.locator("[data-status]")).to_have_attribute("data-status", "inside")
    expect(panel.locator(f"[data-grid-id='{grid.pk}']")).to_be_visible()
    for name in ["第1网格", "B2社区", "B街道", "测试区"]:
        expect(panel).to_contain_text(name)
    # the grid found is a link to its page
    panel.get_by_role("link", name="第1网格").click()
    expect(page).to_have_url(re.compile(rf"/areas/{grid.pk}/$"))
    expect(page.locator("h1")).to_contain_text("第1网格")


def test_a_point_in_a_gap_names_the_nearest_grid(page, town, personas):
    log_in(page, "district_officer")
    page.goto("/areas/")
    lat, lon = Town.centre(town.grids["A1-1"])
    click_map_at(page, "#grid-map", lat, 104.0 - 0.0002)  # ~20 m west of the town
    expect(page.locator("#grid-map-panel [data-status]")).to_have_attribute(
        "data-status", "nearest"
    )
    expect(page.locator("#grid-map-panel")).to_contain_text("A1社区")


def test_the_tree_opens_lazily(page, town, personas):
    log_in(page, "street_dispatcher")
    page.goto("/areas/")
    tree = page.locator(".tree")
    expect(tree).to_contain_text("A街道")
    expect(tree).not_to_contain_text("A1社区")
    tree.locator(f"[aria-controls='tree-children-{town.streets['A'].pk}']").click()
    expect(tree).to_contain_text("A1社区")
    expect(tree).to_contain_text("A2社区")
    tree.locator(f"[aria-controls='tree-children-{town.communities['A2'].pk}']").click()
    expect(tree.locator(f"#tree-children-{town.communities['A2'].pk}")).to_contain_text("第2网格")


def test_search_a_household_see_masked_ids_and_reveal_with_a_reason(page, new_page, town, personas):
    home = build_household(town.grids["A1-1"], address="金牛路8号1栋2单元301")
    resident = build_resident(home, name="王小明", id_number=ID_NUMBER, phone="13812345678")
    build_household(town.grids["A1-2"], address="金牛路9号")

    log_in(page, "grid_worker")
    page.click("nav >> text=住户")
    page.fill("#id_q", "8号")
    page.click("form.filter-bar button[type=submit]")
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="金牛路8号1栋2单元301").click()

    # the household's members: ID number and phone masked
    members = page.locator("table.data")
    expect(members).to_contain_text("5101**********1236")
    expect(members).to_contain_text("138****5678")
    expect(page.locator("body")).not_to_contain_text(ID_NUMBER)
    members.get_by_role("link", name="王**").click()
    expect(page).to_have_url(re.compile(rf"/registry/residents/{resident.pk}/$"))
    id_cell = page.locator("[data-field='id_number']")
    expect(id_cell).to_have_text("5101**********1236")

    # revealing without a reason is refused next to the field
    page.get_by_role("button", name="显示完整信息").click()
    expect(page.locator("#resident-personal .errorlist")).to_be_visible()
    expect(id_cell).to_have_text("5101**********1236")
    assert not AuditEntry.objects.filter(action="reveal").exists()

    page.fill("#resident-personal input[name=reason]", "入户核查身份信息")
    page.get_by_role("button", name="显示完整信息").click()
    expect(page.locator("[data-field='id_number']")).to_have_text(ID_NUMBER)
    expect(page.locator("[data-field='phone']")).to_have_text("13812345678")
    expect(page).to_have_url(re.compile(rf"/registry/residents/{resident.pk}/$"))  # in place

    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor == personas["grid_worker"]
    assert entry.object_id == str(resident.pk)
    assert entry.reason == "入户核查身份信息"

    # the auditor finds the reveal in the audit log
    auditor_page = new_page()
    log_in(auditor_page, "auditor")
    auditor_page.goto(reverse("core:audit_log") + "?action=reveal")
    log = auditor_page.locator("table.data tbody")
    expect(log).to_contain_text("入户核查身份信息")
    expect(log).to_contain_text("grid_worker")


def test_street_dispatcher_has_no_reveal_button(page, town, personas):
    home = build_household(town.grids["A1-1"])
    resident = build_resident(home, id_number=ID_NUMBER)
    log_in(page, "street_dispatcher")
    page.goto(reverse("registry:resident_detail", args=[resident.pk]))
    expect(page.locator("[data-field='id_number']")).to_have_text("5101**********1236")
    expect(page.get_by_role("button", name="显示完整信息")).to_have_count(0)


def test_language_switch_to_english_and_back(page, town, personas):
    log_in(page, "grid_worker")
    expect(page.locator("nav")).to_contain_text("住户")
    page.select_option("#language-select", "en")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav")).to_contain_text("Households")
    page.select_option("#language-select", "zh-hans")
    page.wait_for_load_state()
    expect(page.locator("nav")).to_contain_text("住户")


def test_phone_layout_collapses_the_menu_and_scrolls_tables(new_page, town, personas):
    for n in range(3):
        build_household(town.grids["A1-1"], address=f"金牛路很长很长很长很长的地址{n}号")
    page = new_page(width=375, height=740)
    log_in(page, "grid_worker")
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.click("[data-nav-toggle]")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="住户").click()
    wrap = page.locator(".table-wrap").first
    expect(wrap).to_be_visible()
    assert wrap.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    # the page itself never scrolls sideways; the table does
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_resident_finds_their_grid_by_address(page, town, personas):
    from civicgrid.registry import services

    grid = town.grids["A2-2"]
    lat, lon = Town.centre(grid)
    services.create_building(actor=None, grid=grid, address="锦江路3号2栋", lat=lat, lon=lon)
    log_in(page, "resident")
    page.fill("#locate-address", "锦江路3号2栋1单元501")
    page.get_by_role("button", name="查找网格").click()
    panel = page.locator("#home-map-panel")
    expect(panel).to_contain_text("A2社区")
    expect(panel).to_contain_text("第2网格")


def test_import_shows_progress_then_the_error_report(page, town, personas, tmp_path):
    grid = town.grids["A1-1"]
    good = tmp_path / "households.csv"
    good.write_text(f"地址,网格编码\n金牛路9号,{grid.code}\n金牛路10号,{grid.code}\n", "utf-8")
    bad = tmp_path / "residents.csv"
    bad.write_text("姓名,身份证号,地址\n张三,123,金牛路9号\n", "utf-8")

    log_in(page, "community_worker")
    page.goto(reverse("registry:import_new"))
    page.select_option("#id_kind", "households")
    page.select_option("#id_area", str(town.communities["A1"].pk))
    page.set_input_files("#id_file", str(good))
    page.uncheck("#id_dry_run")
    page.get_by_role("button", name="上传并开始").click()
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(progress.locator(".progress > span")).to_have_attribute("style", "width: 100%")

    page.goto(reverse("registry:import_new"))
    page.select_option("#id_kind", "residents")
    page.select_option("#id_area", str(town.communities["A1"].pk))
    page.set_input_files("#id_file", str(bad))
    page.get_by_role("button", name="上传并开始").click()
    expect(page.locator("#import-progress")).to_have_attribute(
        "data-status", "failed", timeout=15_000
    )
    errors = page.locator("#import-errors tbody tr")
    expect(errors.first).to_contain_text("身份证号")
    expect(errors.first.locator("td").first).to_have_text("2")
