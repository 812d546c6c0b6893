"""The configuration services: category trees and their pinyin search, units, the dispatch
catalogue, tags, policy activation and calendar overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.accounts.choices import UnitKind
from civicgrid.cases import catalogue
from civicgrid.cases.models import CalendarDay, Category, DispatchRule, SlaPolicy, SlaRule, Tag
from civicgrid.cases.tests.builders import build_case, build_unit
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry

TREE = [
    {"code": "05", "name": "城市管理", "parent": "", "keywords": ""},
    {"code": "0501", "name": "市容环境", "parent": "05"},
    {"code": "050101", "name": "占道经营", "parent": "0501", "keywords": "摆摊 流动摊贩"},
    {"code": "050102", "name": "私搭乱建", "parent": "0501", "complexity": "复杂"},
    {"code": "0502", "name": "市政设施", "parent": "05"},
    {"code": "050201", "name": "路灯", "parent": "0502", "keywords": "路灯不亮"},
]


@pytest.fixture
def officer(personas):
    return personas["district_officer"]


@pytest.fixture
def taxonomy(officer):
    taxonomy = catalogue.create_taxonomy("2026", "测试分类", actor=officer)
    report = catalogue.import_category_tree(taxonomy, TREE, actor=officer)
    assert report.ok, report.errors
    catalogue.activate_taxonomy(taxonomy, actor=officer)
    return taxonomy


def names(categories) -> list[str]:
    return [c.name for c in categories]


def test_search_finds_by_initials_full_pinyin_name_and_keyword(taxonomy):
    assert names(catalogue.search_categories("zdjy")) == ["占道经营"]
    assert names(catalogue.search_categories("zhandao")) == ["占道经营"]
    assert names(catalogue.search_categories("ZhanDao Jing")) == ["占道经营"]
    assert names(catalogue.search_categories("摆摊")) == ["占道经营"]
    assert names(catalogue.search_categories("baitan")) == ["占道经营"]
    assert names(catalogue.search_categories("私搭")) == ["私搭乱建"]
    assert catalogue.search_categories("") == []
    assert catalogue.search_categories("xyz123") == []


def test_search_lists_leaves_first(taxonomy):
    found = catalogue.search_categories("s")  # sidaluanjian (3), shirong.., shizheng.., chengshi..
    assert names(found) == ["私搭乱建", "市容环境", "市政设施", "城市管理"]


def test_search_only_in_the_active_taxonomy_and_respects_limit(taxonomy, officer):
    other = catalogue.create_taxonomy("2027", "新分类", actor=officer)
    catalogue.import_category_tree(
        other, [{"code": "01", "name": "占道问题", "parent": ""}], actor=officer
    )
    assert names(catalogue.search_categories("zhandao")) == ["占道经营"]
    assert names(catalogue.search_categories("zhandao", taxonomy=other)) == ["占道问题"]
    assert len(catalogue.search_categories("0", limit=2)) == 2


def test_import_writes_levels_search_text_and_one_audit_row(taxonomy):
    leaf = Category.objects.get(taxonomy=taxonomy, code="050101")
    assert leaf.level == 3 and leaf.parent.code == "0501" and leaf.parent.parent.code == "05"
    assert "zdjy" in leaf.search_text and "zhandaojingying" in leaf.search_text
    assert Category.objects.get(code="050102").complexity == "complex"
    entry = AuditEntry.objects.get(action="import", object_id=str(taxonomy.pk))
    assert entry.fields == {"rows": 6, "created": 6}


def test_import_with_broken_rows_writes_nothing_and_reports_each_row(officer):
    taxonomy = catalogue.create_taxonomy("bad", "坏的", actor=officer)
    rows = [
        {"code": "01", "name": "城乡建设", "parent": ""},
        {"code": "0101", "name": "市政", "parent": "01"},
        {"code": "010101", "name": "路灯", "parent": "0101"},
        {"code": "01010101", "name": "太深", "parent": "010101"},  # level 4
        {"code": "0101", "name": "重复编码", "parent": "01"},  # duplicate code
        {"code": "0102", "name": "", "parent": "01"},  # no name
        {"code": "0103", "name": "孤儿", "parent": "99"},  # unknown parent
        {"code": "0104", "name": "市政", "parent": "01"},  # same name under one parent
        {"code": "0105", "name": "复杂度", "parent": "01", "complexity": "很难"},
        {"code": "A", "name": "甲", "parent": "B"},  # a circle
        {"code": "B", "name": "乙", "parent": "A"},
    ]
    report = catalogue.import_category_tree(taxonomy, rows, actor=officer, first_row=2)
    assert not report.ok
    problems = {(e.row, e.field) for e in report.errors}
    assert problems == {
        (5, "parent"),
        (6, "code"),
        (7, "name"),
        (8, "parent"),
        (9, "name"),
        (10, "complexity"),
        (11, "parent"),
        (12, "parent"),
    }
    assert not Category.objects.filter(taxonomy=taxonomy).exists()
    assert not AuditEntry.objects.filter(action="import").exists()


def test_import_refuses_codes_already_in_the_taxonomy(taxonomy, officer):
    report = catalogue.import_category_tree(
        taxonomy,
        [{"code": "050101", "name": "占道", "parent": "0501"}, {"code": "0503", "name": "新"}],
        actor=officer,
    )
    assert [(e.row, e.field) for e in report.errors] == [(1, "code")]
    assert not Category.objects.filter(code="0503").exists()


def test_import_adds_below_existing_categories(taxonomy, officer):
    report = catalogue.import_category_tree(
        taxonomy, [{"编码": "050202", "名称": "井盖", "上级编码": "0502"}], actor=officer
    )
    assert report.ok
    assert Category.objects.get(code="050202").level == 3


def test_rows_from_levels_numbers_a_published_tree():
    rows = catalogue.rows_from_levels(
        [
            {"一级分类": "城乡建设", "二级分类": "安全生产", "三级分类": "事故处理"},
            {"一级分类": "城乡建设", "二级分类": "安全生产", "三级分类": "安全隐患"},
            {"一级分类": "民政", "二级分类": "优抚", "三级分类": "优待抚恤"},
        ]
    )
    assert [(r["code"], r["parent"], r["name"]) for r in rows] == [
        ("01", "", "城乡建设"),
        ("0101", "01", "安全生产"),
        ("010101", "0101", "事故处理"),
        ("010102", "0101", "安全隐患"),
        ("02", "", "民政"),
        ("0201", "02", "优抚"),
        ("020101", "0201", "优待抚恤"),
    ]


def test_activation_keeps_old_cases_categories(taxonomy, officer, town):
    leaf = Category.objects.get(taxonomy=taxonomy, code="050101")
    case = build_case(town, category=leaf)
    new = catalogue.create_taxonomy("2027", "新分类", actor=officer)
    with pytest.raises(ServiceError) as refused:
        catalogue.activate_taxonomy(new, actor=officer)  # empty: nothing to file cases under
    assert refused.value.field == "taxonomy"
    catalogue.import_category_tree(
        new,
        [
            {"code": "1", "name": "城市管理"},
            {"code": "11", "name": "街面秩序", "parent": "1"},
            {"code": "111", "name": "占道经营", "parent": "11"},
        ],
        actor=officer,
    )
    catalogue.activate_taxonomy(new, actor=officer)
    assert catalogue.active_taxonomy() == new
    taxonomy.refresh_from_db()
    assert not taxonomy.is_active
    case.refresh_from_db()
    assert case.category == leaf and case.category.taxonomy == taxonomy
    assert names(catalogue.search_categories("zdjy")) == ["占道经营"]
    assert catalogue.search_categories("zdjy")[0].taxonomy == new


def test_configuration_needs_the_capability(personas, taxonomy):
    for name in ("street_dispatcher", "hotline_operator", "outsider", "resident"):
        with pytest.raises(PermissionDeniedError):
            catalogue.create_taxonomy("x", "x", actor=personas[name])
        with pytest.raises(PermissionDeniedError):
            catalogue.create_tag(actor=personas[name], code="x", name="x")


def test_create_and_update_category(taxonomy, officer):
    parent = Category.objects.get(code="0502")
    cover = catalogue.create_category(
        taxonomy, actor=officer, code="050203", name="井盖缺失", parent=parent, keywords="下水道"
    )
    assert cover.level == 3 and "jgqs" in cover.search_text and "xsd" in cover.search_text
    with pytest.raises(ServiceError) as too_deep:
        catalogue.create_category(taxonomy, actor=officer, code="X1", name="更深", parent=cover)
    assert too_deep.value.field == "parent"
    with pytest.raises(ServiceError) as twice:
        catalogue.create_category(taxonomy, actor=officer, code="X2", name="路灯", parent=parent)
    assert twice.value.field == "name"
    catalogue.update_category(cover, actor=officer, name="井盖破损", keywords="")
    cover.refresh_from_db()
    assert "jgps" in cover.search_text and "xsd" not in cover.search_text
    assert names(catalogue.search_categories("jgps")) == ["井盖破损"]


def test_unit_hierarchy_is_at_most_three_deep(officer, town):
    bureau = catalogue.create_unit(
        actor=officer,
        code="CGJ",
        name="城市管理局",
        kind=UnitKind.DEPARTMENT,
        areas=[town.district],
    )
    team = catalogue.create_unit(
        actor=officer, code="CGJ-ZF", name="执法大队", kind=UnitKind.DEPARTMENT, parent=bureau
    )
    squad = catalogue.create_unit(
        actor=officer, code="CGJ-ZF-1", name="一中队", kind=UnitKind.DEPARTMENT, parent=team
    )
    assert catalogue.unit_depth(squad) == 3
    assert catalogue.units_below(bureau) == [team, squad]
    with pytest.raises(ServiceError) as refused:
        catalogue.create_unit(
            actor=officer, code="CGJ-ZF-1-A", name="小组", kind=UnitKind.DEPARTMENT, parent=squad
        )
    assert refused.value.field == "parent"
    with pytest.raises(ServiceError) as duplicate:
        catalogue.create_unit(actor=officer, code="CGJ", name="另一个", kind=UnitKind.OTHER)
    assert duplicate.value.field == "code"
    assert list(bureau.areas.all()) == [town.district]


def test_a_street_dispatcher_cannot_cover_areas_outside_the_scope(personas, town):
    with pytest.raises(PermissionDeniedError):
        catalogue.create_unit(
            actor=personas["street_dispatcher"], code="X", name="X", kind=UnitKind.OTHER
        )
    officer_b = personas["district_officer"]
    unit = catalogue.create_unit(
        actor=officer_b,
        code="JD-A",
        name="A街道办",
        kind=UnitKind.STREET,
        areas=[town.streets["A"]],
    )
    assert unit.kind == UnitKind.STREET


def test_dispatch_rules(taxonomy, officer, town):
    leaf = Category.objects.get(code="050101")
    street_a = town.streets["A"]
    office_a = build_unit("A街道办", areas=[street_a], kind=UnitKind.STREET)
    bureau = build_unit("城管局", areas=[town.district])
    rule = catalogue.set_dispatch_rule(
        actor=officer, category=leaf, area=street_a, unit=office_a, auto_dispatch=True
    )
    assert rule.auto_dispatch
    again = catalogue.set_dispatch_rule(actor=officer, category=leaf, area=street_a, unit=office_a)
    assert again.pk == rule.pk and not again.auto_dispatch
    catalogue.set_dispatch_rule(actor=officer, category=leaf, area=town.district, unit=bureau)
    assert DispatchRule.objects.count() == 2
    with pytest.raises(ServiceError) as not_covered:
        catalogue.set_dispatch_rule(
            actor=officer, category=leaf, area=town.streets["B"], unit=office_a
        )
    assert not_covered.value.field == "unit"
    actions = list(
        AuditEntry.objects.filter(object_type="cases.dispatchrule").values_list("action", flat=True)
    )
    assert sorted(actions) == ["create", "create", "update"]
    catalogue.remove_dispatch_rule(rule, actor=officer)
    assert list(DispatchRule.objects.values_list("unit__name", flat=True)) == ["城管局"]


def test_rules_outside_the_scope_are_neither_listed_nor_writable(taxonomy, personas, town):
    leaf = Category.objects.get(code="050101")
    office_b = build_unit("B街道办", areas=[town.streets["B"]], kind=UnitKind.STREET)
    rule = catalogue.set_dispatch_rule(
        actor=personas["admin"], category=leaf, area=town.streets["B"], unit=office_b
    )
    street_officer = personas["community_worker"]
    assert list(catalogue.rules_visible_to(personas["district_officer"])) == [rule]
    assert list(catalogue.rules_visible_to(street_officer)) == []
    assert list(catalogue.rules_visible_to(personas["outsider"])) == []


def test_tags(officer):
    tag = catalogue.create_tag(actor=officer, code="elderly", name="涉老")
    assert Tag.objects.get(code="elderly") == tag
    with pytest.raises(ServiceError) as twice:
        catalogue.create_tag(actor=officer, code="elderly", name="老人")
    assert twice.value.field == "code"


def test_activate_policy_keeps_one_active(officer):
    old = SlaPolicy.objects.create(code="old", name="旧", is_active=True)
    new = SlaPolicy.objects.create(code="new", name="新")
    with pytest.raises(ServiceError):
        catalogue.activate_policy(new, actor=officer)  # no rules
    SlaRule.objects.create(policy=new, respond_value=2, resolve_value=72)
    catalogue.activate_policy(new, actor=officer)
    old.refresh_from_db()
    new.refresh_from_db()
    assert new.is_active and not old.is_active


def test_calendar_overrides(officer):
    day = dt.date(2026, 8, 3)
    entry = catalogue.set_calendar_day(actor=officer, day=day, is_workday=False, note="暴雨停工")
    catalogue.set_calendar_day(actor=officer, day=day, is_workday=True, note="补班")
    entry.refresh_from_db()
    assert entry.is_workday and entry.note == "补班"
    catalogue.remove_calendar_day(entry, actor=officer)
    assert not CalendarDay.objects.exists()
    assert AuditEntry.objects.filter(object_type="cases.calendarday").count() == 3
