"""The classifier in a real browser: the operator types, the suggestions appear, a click fills
the category, and the case is received with the choice recorded; the administrator activates
and rolls back models on the model page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from civicgrid.cases.models import Case
from civicgrid.cases.tests.builders import build_category
from civicgrid.classifier import data, services
from civicgrid.classifier.models import ClassifierModel, Suggestion
from civicgrid.classifier.tests.fixtures import write_csv
from tests.browser.conftest import log_in
from tests.builders import Town

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def model(town, tmp_path) -> ClassifierModel:
    bus = build_category("公交线路", parent=build_category("交通运输", code="JT"), code="JT01")
    dataset = data.read_labelled(
        write_csv(tmp_path / "train.csv"), ["留言主题", "留言详情"], "一级标签"
    )
    return services.train_model(dataset, cv_folds=0, label_map={"交通运输": bus.code})


def test_suggestions_fill_the_category_and_the_choice_is_recorded(new_page, town, personas, model):
    services.activate_model(model, actor=None)
    page = new_page()
    log_in(page, "hotline_operator")
    page.goto(reverse("cases:intake"))
    page.select_option("#id_kind", "complaint")
    page.fill("#id_title", "家门口的公交车站线路太少")
    page.fill("#id_description", "公交车线路太少，等车很久，早晚高峰堵车严重。")
    first = page.locator("[data-testid=category-suggestions] [data-suggested-category]").first
    expect(first).to_contain_text("公交线路")
    expect(first).to_contain_text(re.compile(r"\d+%"))
    first.click()
    expect(page.locator("[data-category-chosen]")).to_contain_text("公交线路")
    lat, lon = Town.centre(town.grids["A1-1"])
    page.fill("#id_lat", str(lat))
    page.fill("#id_lon", str(lon))
    page.fill("#id_reporter_phone", "13812345678")
    page.click("[data-testid=intake-form] button[type=submit]")
    number = page.locator("[data-testid=case-number]")
    expect(number).to_have_text(re.compile(r"\d{13}"))
    case = Case.objects.get(number=number.inner_text())
    assert case.category.code == "JT01"
    assert Suggestion.objects.get(case=case).accepted


def test_the_administrator_activates_and_rolls_back(new_page, personas, model):
    page = new_page()
    log_in(page, "admin")
    page.goto(reverse("classifier:models"))
    row = page.locator("[data-testid=model-v1]")
    row.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=model-v1] .badge")).to_have_class(re.compile("status-active"))
    page.click("[data-testid=rollback]")
    expect(page.locator("[data-testid=model-v1] .badge")).to_have_class(
        re.compile("status-retired")
    )


def test_a_suggested_category_with_sub_categories_lists_them_in_the_search(
    new_page, town, personas, model
):
    services.set_label_map(model, {"交通运输": "JT"}, actor=None)  # the first level
    services.activate_model(model, actor=None)
    page = new_page()
    log_in(page, "hotline_operator")
    page.goto(reverse("cases:intake"))
    page.fill("#id_title", "家门口的公交车站线路太少")
    page.fill("#id_description", "公交车线路太少，等车很久。")
    page.locator("[data-suggested-category][data-leaf='0']").first.click()
    expect(page.locator("#category-results button").first).to_contain_text("公交线路")
    page.locator("#category-results button").first.click()
    expect(page.locator("[data-category-chosen]")).to_contain_text("公交线路")
