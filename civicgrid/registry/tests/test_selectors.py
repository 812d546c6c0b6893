"""Scoped search and the masked views of residents and households."""

import datetime as dt

import pytest
from django.utils import timezone

from civicgrid.core import clock
from civicgrid.core.scoping import scope_of
from civicgrid.registry import selectors
from civicgrid.registry.idnumbers import make_id_number
from tests.builders import build_household, build_resident

pytestmark = pytest.mark.django_db

ID_A = make_id_number("510106", dt.date(1980, 5, 17), 21, "male")
ID_B = make_id_number("510106", dt.date(1991, 2, 3), 22, "female")


@pytest.fixture
def people(town):
    home_a = build_household(
        town.grids["A1-1"],
        address="幸福路1号1单元101",
        contact_name="张三丰",
        contact_phone="13812345678",
    )
    home_b = build_household(town.grids["B1-1"], address="和平路9号", contact_phone="13955556666")
    return {
        "a": build_resident(
            home_a,
            name="张三丰",
            id_number=ID_A,
            phone="13812345678",
            tags=",disabled,released_prisoner,",
        ),
        "b": build_resident(
            home_b,
            name="李小红",
            birth_date=dt.date(1991, 2, 3),
            gender="female",
            id_number=ID_B,
            phone="13955556666",
            tags=",low_income,",
        ),
        "home_a": home_a,
        "home_b": home_b,
    }


def names(qs):
    return sorted(r.name for r in qs)


@pytest.mark.parametrize(
    "q",
    ["三丰", "幸福路", ID_A, ID_A[-4:], "13812345678", "138 1234 5678", "5678"],
)
def test_resident_search_matches_name_address_and_identifiers(town, personas, people, q):
    assert names(selectors.search_residents(personas["admin"], q)) == ["张三丰"]


def test_partial_identifiers_other_than_the_last_four_do_not_match(personas, people):
    admin = personas["admin"]
    assert not selectors.search_residents(admin, ID_A[:6]).exists()
    assert not selectors.search_residents(admin, "1381234").exists()
    assert not selectors.search_residents(admin, ID_A[-5:]).exists()


def test_grid_worker_never_sees_another_grid(town, personas, people):
    worker = personas["grid_worker"]  # grid A1-1
    assert names(selectors.search_residents(worker)) == ["张三丰"]
    assert not selectors.search_residents(worker, "李小红").exists()
    assert not selectors.search_residents(worker, ID_B).exists()
    assert not selectors.search_residents(worker, area=town.grids["B1-1"]).exists()
    assert list(selectors.search_households(worker)) == [people["home_a"]]
    assert not selectors.search_households(worker, "和平路").exists()
    assert not selectors.search_households(worker, area=town.grids["B1-1"]).exists()


def test_outsider_sees_nothing(personas, people):
    outsider = personas["outsider"]
    assert not selectors.search_residents(outsider).exists()
    assert not selectors.search_residents(outsider, ID_A).exists()
    assert not selectors.search_households(outsider).exists()


def test_household_search_by_contact(personas, people):
    admin = personas["admin"]
    assert list(selectors.search_households(admin, "6666")) == [people["home_b"]]
    assert list(selectors.search_households(admin, "13955556666")) == [people["home_b"]]
    assert list(selectors.search_households(admin, "张三")) == [people["home_a"]]


def test_tag_filter_and_sensitive_tags(town, personas, people):
    assert names(selectors.search_residents(personas["admin"], tag="disabled")) == ["张三丰"]
    assert names(selectors.search_residents(personas["admin"], tag="low_income")) == ["李小红"]
    # The street dispatcher may list residents but not learn who is in a sensitive group.
    dispatcher = personas["street_dispatcher"]
    assert names(selectors.search_residents(dispatcher, tag="disabled")) == ["张三丰"]
    assert not selectors.search_residents(dispatcher, tag="released_prisoner").exists()
    worker = personas["grid_worker"]
    assert names(selectors.search_residents(worker, tag="released_prisoner")) == ["张三丰"]


def test_elderly_group_follows_the_clock(town, personas):
    home = build_household(town.grids["A1-1"])
    build_resident(home, name="老王", birth_date=dt.date(1966, 11, 22))
    admin = personas["admin"]
    eve = timezone.make_aware(dt.datetime(2026, 11, 21, 12, 0))
    with clock.frozen(eve):
        assert not selectors.search_residents(admin, tag="elderly_60").exists()
    with clock.frozen(eve + dt.timedelta(days=1)):
        assert names(selectors.search_residents(admin, tag="elderly_60")) == ["老王"]


def test_elderly_cutoff_on_29_february():
    assert selectors.elderly_cutoff(dt.date(2024, 2, 29)) == dt.date(1964, 2, 29)
    assert selectors.elderly_cutoff(dt.date(2160, 2, 29)) == dt.date(2100, 2, 28)


def test_population_type_filter(personas, people):
    people["b"].population_type = "floating"
    people["b"].save()
    found = selectors.search_residents(personas["admin"], population_type="floating")
    assert names(found) == ["李小红"]


def test_masked_resident(personas, people):
    today = dt.date(2026, 11, 22)
    worker_view = selectors.masked_resident(people["a"], scope_of(personas["grid_worker"]), today)
    assert worker_view["id_number"] == "5101**********" + ID_A[-4:]
    assert worker_view["phone"] == "138****5678"
    assert worker_view["name"] == "张**"
    assert worker_view["age"] == 46
    assert worker_view["address"] == "幸福路1号1单元101"
    assert worker_view["tags"] == ["disabled", "released_prisoner"]
    assert "birth_date" not in worker_view
    dispatcher_view = selectors.masked_resident(
        people["a"], scope_of(personas["street_dispatcher"]), today
    )
    assert dispatcher_view["tags"] == ["disabled"]


def test_masked_resident_shows_derived_elderly_tag_first(town, personas):
    old = build_resident(
        build_household(town.grids["A1-1"]), birth_date=dt.date(1950, 1, 1), tags=",living_alone,"
    )
    view = selectors.masked_resident(old, scope_of(personas["admin"]), dt.date(2026, 1, 1))
    assert view["tags"] == ["elderly_60", "living_alone"]


def test_masked_household(personas, people):
    view = selectors.masked_household(people["home_a"], scope_of(personas["grid_worker"]))
    assert view["contact_name"] == "张**"
    assert view["contact_phone"] == "138****5678"
    assert view["address"] == "幸福路1号1单元101"
