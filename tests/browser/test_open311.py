"""Open311 end to end in a real browser: an administrator registers a partner system in
/admin and copies its key from the page; the partner posts a request with it; a district
officer finds the case in the console and reads the attribute answers on the case page."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from civicgrid.accounts.models import PartnerSystem
from civicgrid.cases.models import Case
from civicgrid.cases.tests.builders import build_category
from tests.browser.conftest import log_in
from tests.builders import Town

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_a_partner_then_its_request_reaches_the_console(
    town, personas, new_page, live_server
):
    # The database fixtures first: with the live server started before them, its static
    # files never arrived here.
    top = build_category("城市管理", code="02")
    middle = build_category("市政设施", parent=top, code="0201")
    build_category("污水井盖", parent=middle, code="01002")

    page = new_page()
    log_in(page, "admin")
    page.goto("/admin/accounts/partnersystem/add/")
    page.fill("#id_name", "随手拍 App")
    page.locator(".field-jurisdiction .select2-selection").click()
    page.locator(".select2-search__field").fill("测试区")
    page.locator(".select2-results__option", has_text="测试区").first.click()
    page.fill("#id_rate_limit_per_minute", "30")
    page.locator("input[name=_save]").click()
    message = page.locator(".messagelist .warning")
    expect(message).to_contain_text("o311_")
    key = re.search(r"o311_[\w-]+", message.inner_text()).group()
    assert PartnerSystem.objects.get().jurisdiction == town.district
    expect(page.locator("#result_list")).to_contain_text("随手拍 App")

    lat, lon = Town.centre(town.grids["A1-1"])
    body = urllib.parse.urlencode(
        {
            "api_key": key,
            "service_code": "01002",
            "lat": lat,
            "long": lon,
            "description": "人行道上的污水井盖不见了",
            "attribute[condition]": "missing",
        }
    ).encode()
    with urllib.request.urlopen(f"{live_server.url}/open311/v2/requests.json", body) as answer:
        number = json.loads(answer.read())[0]["service_request_id"]
    case = Case.objects.get(number=number)

    officer = new_page(width=390, height=844)  # on a phone
    log_in(officer, "district_officer")
    officer.goto("/cases/?state=all")
    officer.get_by_text(number).first.click()
    officer.wait_for_url(f"**/cases/{case.pk}/")
    text = officer.locator(".case-text")
    expect(text).to_contain_text("人行道上的污水井盖不见了")
    expect(text).to_contain_text("井盖现在的状况：缺失")
    expect(officer.locator("main")).to_contain_text("对接系统")
