"""routing.route: closest category first, then closest area; ties are ambiguous."""

from __future__ import annotations

import pytest

from civicgrid.cases import routing
from civicgrid.cases.models import DispatchRule
from civicgrid.cases.tests.builders import build_category, build_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(town):
    top = build_category("城市管理")
    middle = build_category("市容环境", parent=top)
    return {"top": top, "middle": middle, "leaf": build_category("占道经营", parent=middle)}


def rule(category, area, unit, auto=False):
    return DispatchRule.objects.create(category=category, area=area, unit=unit, auto_dispatch=auto)


def test_the_leaf_rule_beats_an_ancestor_category_even_in_a_wider_area(town, tree):
    street_unit, district_unit = build_unit("街道城管"), build_unit("区城管局")
    rule(tree["top"], town.streets["A"], street_unit)
    chosen = rule(tree["leaf"], town.district, district_unit, auto=True)
    found = routing.route(tree["leaf"], town.grids["A1-1"])
    assert found.units == [district_unit]
    assert found.rule == chosen
    assert found.auto and not found.ambiguous


def test_the_closest_area_wins_within_a_category(town, tree):
    district_unit, street_unit = build_unit("区城管局"), build_unit("A街道城管")
    rule(tree["leaf"], town.district, district_unit)
    rule(tree["leaf"], town.streets["A"], street_unit)
    assert routing.route(tree["leaf"], town.grids["A1-1"]).units == [street_unit]
    # In street B only the district rule applies.
    assert routing.route(tree["leaf"], town.grids["B1-1"]).units == [district_unit]


def test_an_ancestor_category_rule_applies_when_the_leaf_has_none(town, tree):
    unit = build_unit("区城管局")
    rule(tree["middle"], town.district, unit, auto=True)
    found = routing.route(tree["leaf"], town.grids["B2-2"])
    assert found.unit == unit and found.auto


def test_two_units_at_the_same_rank_are_ambiguous_and_never_automatic(town, tree):
    first, second = build_unit("城管"), build_unit("市场监管")
    rule(tree["leaf"], town.streets["A"], first, auto=True)
    rule(tree["leaf"], town.streets["A"], second, auto=True)
    rule(tree["leaf"], town.district, build_unit("区里"), auto=True)
    found = routing.route(tree["leaf"], town.grids["A1-1"])
    assert found.ambiguous and not found.auto
    assert {u.pk for u in found.units} == {first.pk, second.pk}
    assert found.unit is None and found.rule is None


def test_inactive_units_and_missing_inputs_route_nowhere(town, tree):
    unit = build_unit("撤销的单位")
    unit.is_active = False
    unit.save()
    rule(tree["leaf"], town.district, unit, auto=True)
    assert routing.route(tree["leaf"], town.grids["A1-1"]) == routing.NO_ROUTE
    assert routing.route(None, town.grids["A1-1"]) == routing.NO_ROUTE
    assert routing.route(tree["leaf"], None) == routing.NO_ROUTE


def test_a_case_filed_under_a_street_is_routed_by_the_street(town, tree):
    unit = build_unit("A街道城管")
    rule(tree["leaf"], town.streets["A"], unit)
    rule(tree["leaf"], town.grids["A1-1"], build_unit("网格"))
    assert routing.route(tree["leaf"], town.streets["A"]).units == [unit]
