"""The write forms in a real browser: htmx swaps the staff block and the area change forms in
place, follows HX-Redirect on success, and searches households while the user types."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from civicgrid.accounts.choices import Role
from civicgrid.registry.models import GridAssignment
from tests.browser.conftest import log_in
from tests.builders import build_household, build_resident, build_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_community_worker_posts_and_removes_a_grid_worker_in_place(page, town, personas):
    grid = town.grids["A1-1"]
    worker = build_user("gw_new", role=Role.GRID_WORKER, area=town.communities["A1"])
    log_in(page, "community_worker")
    page.goto(f"/areas/{grid.pk}/")
    staff = page.locator("#grid-staff")
    expect(staff).to_contain_text("尚未配备网格员")
    staff.locator("select[name=worker]").select_option(str(worker.pk))
    staff.locator("select[name=post]").select_option("b")
    url_before = page.url
    staff.get_by_role("button", name="派驻到此网格").click()
    expect(staff.locator("tr:has-text('gw_new')")).to_contain_text("B岗")
    assert page.url == url_before  # swapped in place, no reload
    assignment = GridAssignment.objects.get()
    page.once("dialog", lambda dialog: dialog.accept())
    staff.locator(f"tr[data-assignment='{assignment.pk}'] button").click()
    expect(staff).to_contain_text("尚未配备网格员")
    assert not GridAssignment.objects.exists()


def test_district_officer_renames_an_area_with_the_error_in_place(page, town, personas):
    grid = town.grids["A1-2"]
    log_in(page, "district_officer")
    page.goto(f"/areas/{grid.pk}/")
    panel = page.locator("#area-change-edit")
    panel.locator("summary").click()
    panel.locator("input[name=name]").fill("第1网格")
    panel.get_by_role("button", name="保存").click()
    expect(page.locator("#area-change-edit .errorlist")).to_be_visible()
    expect(page.locator("#area-change-edit details")).to_have_attribute("open", "")
    page.locator("#area-change-edit input[name=name]").fill("北网格")
    page.locator("#area-change-edit").get_by_role("button", name="保存").click()
    expect(page.locator("h1")).to_contain_text("北网格")
    expect(page.locator(".messages")).to_be_visible()


def test_grid_worker_moves_a_resident_by_typing_the_address(page, town, personas):
    grid = town.grids["A1-1"]
    home = build_household(grid, address="金牛路8号1栋101")
    build_household(grid, address="金牛路8号1栋202")
    person = build_resident(home, name="王小明")
    log_in(page, "grid_worker")
    page.goto(f"/registry/residents/{person.pk}/move/")
    page.fill("#household-search", "1栋202")
    choice = page.locator("#household-candidates label", has_text="金牛路8号1栋202")
    expect(choice).to_be_visible()
    choice.locator("input").check()
    page.get_by_role("button", name="移动", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/registry/residents/{person.pk}/$"))
    expect(page.locator("main")).to_contain_text("金牛路8号1栋202")
