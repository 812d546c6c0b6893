"""Configuration pages: only `cases.configure` sees them; writes go through the catalogue."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from civicgrid.accounts.choices import UnitKind
from civicgrid.cases import catalogue
from civicgrid.cases.models import CalendarDay, Category, DispatchRule, SlaPolicy, SlaRule, Taxonomy
from civicgrid.cases.tests.builders import build_unit
from civicgrid.core.models import AuditEntry

pytestmark = pytest.mark.django_db

PAGES = ["index", "categories", "category_import", "units", "dispatch", "policies", "calendar"]


@pytest.fixture
def tree(personas):
    officer = personas["district_officer"]
    taxonomy = catalogue.create_taxonomy("demo", "演示分类", actor=officer)
    catalogue.import_category_tree(
        taxonomy,
        [
            {"code": "02", "name": "市容环境"},
            {"code": "0202", "name": "街面秩序", "parent": "02"},
            {"code": "09006", "name": "占道经营", "parent": "0202", "keywords": "摆摊"},
        ],
        actor=officer,
    )
    catalogue.activate_taxonomy(taxonomy, actor=officer)
    return taxonomy


def login(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "name", ["outsider", "street_dispatcher", "hotline_operator", "grid_worker", "resident"]
)
def test_pages_do_not_exist_without_the_capability(client, personas, town, name):
    login(client, personas[name])
    unit = build_unit("城管局", areas=[town.district])
    for page in PAGES:
        assert client.get(reverse(f"cases_config:{page}")).status_code == 404, page
    assert client.get(reverse("cases_config:unit_detail", args=[unit.pk])).status_code == 404
    assert client.post(reverse("cases_config:calendar"), {"day": "2026-08-03"}).status_code == 404


def test_district_officer_opens_every_page(client, personas, tree, town):
    login(client, personas["district_officer"])
    unit = build_unit("城管局", areas=[town.district])
    for page in PAGES:
        assert client.get(reverse(f"cases_config:{page}")).status_code == 200, page
    page = client.get(reverse("cases_config:unit_detail", args=[unit.pk]))
    assert page.status_code == 200 and "测试区" in page.content.decode()


def test_category_tree_and_pinyin_search(client, personas, tree):
    login(client, personas["district_officer"])
    html = client.get(reverse("cases_config:categories")).content.decode()
    assert "占道经营" in html and "街面秩序" in html
    found = client.get(reverse("cases_config:categories"), {"q": "zdjy"}).content.decode()
    assert "市容环境 › 街面秩序 › 占道经营" in found


def test_import_with_a_broken_row_shows_the_report_and_writes_nothing(client, personas):
    login(client, personas["district_officer"])
    csv = "编码,名称,上级编码\n01,城乡建设,\n0101,市政,01\n010101,路灯,0101\n01010101,太深,010101\n"
    response = client.post(
        reverse("cases_config:category_import"),
        {"file": SimpleUploadedFile("tree.csv", csv.encode()), "version": "v2", "name": "新"},
    )
    assert response.status_code == 400
    report = response.context["report"]
    assert [(e.row, e.field) for e in report.errors] == [(5, "parent")]
    assert not Taxonomy.objects.filter(version="v2").exists()
    assert not Category.objects.exists()


def test_import_and_activate(client, personas, tree):
    login(client, personas["district_officer"])
    csv = "一级分类,二级分类,三级分类\n城乡建设,安全生产,安全隐患\n民政,优抚,优待抚恤\n".encode(
        "gbk"
    )
    response = client.post(
        reverse("cases_config:category_import"),
        {"file": SimpleUploadedFile("gov.csv", csv), "version": "gov", "name": "留言板"},
    )
    new = Taxonomy.objects.get(version="gov")
    assert response.status_code == 302 and new.categories.count() == 6
    client.post(reverse("cases_config:taxonomy_activate", args=[new.pk]))
    assert catalogue.active_taxonomy() == new


def test_dispatch_catalogue_add_and_remove(client, personas, tree, town):
    login(client, personas["district_officer"])
    leaf = Category.objects.get(code="09006")
    office = build_unit("A街道办", areas=[town.streets["A"]], kind=UnitKind.STREET)
    url = reverse("cases_config:dispatch")
    refused = client.post(
        url, {"category": leaf.pk, "area": town.streets["B"].pk, "unit": office.pk}
    )
    assert refused.status_code == 400 and list(refused.context["form"].errors) == ["unit"]
    response = client.post(
        url,
        {
            "category": leaf.pk,
            "area": town.streets["A"].pk,
            "unit": office.pk,
            "auto_dispatch": "on",
        },
    )
    assert response.status_code == 302
    rule = DispatchRule.objects.get()
    assert rule.auto_dispatch
    assert "A街道办" in client.get(url).content.decode()
    client.post(reverse("cases_config:dispatch_remove", args=[rule.pk]))
    assert not DispatchRule.objects.exists()
    assert AuditEntry.objects.filter(object_type="cases.dispatchrule", action="delete").exists()


def test_rules_outside_the_scope_are_404(client, personas, tree, town):
    office = build_unit("B街道办", areas=[town.streets["B"]], kind=UnitKind.STREET)
    rule = catalogue.set_dispatch_rule(
        actor=None, category=Category.objects.get(code="09006"), area=town.streets["B"], unit=office
    )
    login(client, personas["community_worker"])  # no cases.configure
    assert client.post(reverse("cases_config:dispatch_remove", args=[rule.pk])).status_code == 404
    assert DispatchRule.objects.exists()


def test_policies_listed_and_activated(client, personas):
    login(client, personas["district_officer"])
    policy = SlaPolicy.objects.create(code="jinniu", name="金牛区时限")
    SlaRule.objects.create(policy=policy, respond_value=2, resolve_value=72)
    html = client.get(reverse("cases_config:policies")).content.decode()
    assert "金牛区时限" in html
    client.post(reverse("cases_config:policy_activate", args=[policy.pk]))
    policy.refresh_from_db()
    assert policy.is_active


def test_calendar_override_add_and_remove(client, personas):
    login(client, personas["district_officer"])
    url = reverse("cases_config:calendar")
    response = client.post(url, {"day": "2026-08-03", "is_workday": "0", "note": "暴雨停工"})
    assert response.status_code == 302
    entry = CalendarDay.objects.get()
    assert not entry.is_workday and entry.note == "暴雨停工"
    assert client.post(url, {"day": "", "is_workday": "0"}).status_code == 400
    client.post(reverse("cases_config:calendar_remove", args=[entry.pk]))
    assert not CalendarDay.objects.exists()


def test_admin_is_open_to_configurers_only(client, personas, tree):
    officer = personas["district_officer"]
    officer.is_staff = True
    officer.save()
    login(client, officer)
    assert client.get(reverse("admin:cases_category_changelist")).status_code == 200
    response = client.post(reverse("admin:cases_tag_add"), {"code": "elderly", "name": "涉老诉求"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(object_type="cases.tag", action="create").exists()
    auditor = personas["auditor"]
    auditor.is_staff = True
    auditor.save()
    login(client, auditor)
    assert client.get(reverse("admin:cases_category_changelist")).status_code == 403
