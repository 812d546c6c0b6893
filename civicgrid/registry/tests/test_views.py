"""Registry pages: search and detail scoped and masked, the audited reveal, coverage,
imports with progress, Excel exports."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from civicgrid.core.models import AuditEntry
from civicgrid.registry import importers
from civicgrid.registry.models import Household, ImportJob
from tests.builders import build_household, build_resident

pytestmark = pytest.mark.django_db

ID_NUMBER = "510106198005171234"


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def people(town):
    """One household with two residents in grid A1-1, one household in B1-1."""
    home = build_household(
        town.grids["A1-1"],
        address="金牛路8号1栋2单元301",
        contact_name="王小明",
        contact_phone="13912345678",
    )
    head = build_resident(
        home,
        name="王小明",
        id_number="510106198005171236",
        phone="13812345678",
        relation="head",
        tags=",disabled,",
    )
    build_resident(home, name="李芳", phone="13700001111")
    away = build_household(town.grids["B1-1"], address="青羊路1号", contact_name="赵六")
    build_resident(away, name="赵六", phone="13600002222")
    return {"home": home, "head": head, "away": away}


def test_household_search_is_scoped(client, town, personas, people):
    url = reverse("registry:household_list")
    page = login(client, personas["grid_worker"]).get(url)
    assert page.status_code == 200
    assert "金牛路8号1栋2单元301" in page.text
    assert "青羊路1号" not in page.text
    page = login(client, personas["district_officer"]).get(url)
    assert "青羊路1号" in page.text


def test_household_search_by_text_and_area(client, town, personas, people):
    login(client, personas["district_officer"])
    url = reverse("registry:household_list")
    page = client.get(url, {"q": "青羊"})
    assert [row["address"] for row in page.context["rows"]] == ["青羊路1号"]
    page = client.get(url, {"area": town.streets["A"].pk})
    assert [row["address"] for row in page.context["rows"]] == ["金牛路8号1栋2单元301"]


def test_household_search_rejects_an_area_outside_the_scope(client, town, personas, people):
    page = login(client, personas["grid_worker"]).get(
        reverse("registry:household_list"), {"area": town.grids["B1-1"].pk}
    )
    assert page.status_code == 200
    assert "area" in page.context["form"].errors
    assert page.context["rows"] == []
    assert 'class="errorlist' in page.text


def test_household_list_masks_the_contact(client, personas, people):
    page = login(client, personas["community_worker"]).get(reverse("registry:household_list"))
    assert "139****5678" in page.text
    assert "13912345678" not in page.text
    assert "王小明" not in page.text
    assert "王**" in page.text


def test_household_detail_masks_contact_and_members(client, personas, people):
    page = login(client, personas["grid_worker"]).get(
        reverse("registry:household_detail", args=[people["home"].pk])
    )
    assert page.status_code == 200
    assert "139****5678" in page.text
    assert "5101**********1236" in page.text
    assert "138****5678" in page.text
    for secret in ("13912345678", "510106198005171236", "13812345678", "王小明"):
        assert secret not in page.text
    # the chain is the breadcrumb
    assert "A1社区" in page.text


def test_resident_search_and_detail_are_masked_with_a_derived_age(client, personas, people):
    login(client, personas["grid_worker"])
    page = client.get(reverse("registry:resident_list"), {"q": "1236"})
    assert [row["id"] for row in page.context["rows"]] == [people["head"].pk]
    assert "5101**********1236" in page.text
    assert "510106198005171236" not in page.text
    page = client.get(reverse("registry:resident_detail", args=[people["head"].pk]))
    assert "5101**********1236" in page.text
    assert "138****5678" in page.text
    assert "510106198005171236" not in page.text and "13812345678" not in page.text
    assert page.context["masked"]["age"] == people["head"].age
    # a grid worker may reveal, so the reveal form is there
    assert reverse("registry:resident_reveal", args=[people["head"].pk]) in page.text


def test_resident_search_by_tag_and_population_type(client, personas, people):
    login(client, personas["community_worker"])
    url = reverse("registry:resident_list")
    page = client.get(url, {"tag": "disabled"})
    assert [row["id"] for row in page.context["rows"]] == [people["head"].pk]
    page = client.get(url, {"population_type": "floating"})
    assert page.context["rows"] == []
    page = client.get(url, {"tag": "no-such-tag"})
    assert "tag" in page.context["form"].errors


def test_reveal_with_a_reason_shows_the_values_in_place_and_audits(client, personas, people):
    head = people["head"]
    login(client, personas["grid_worker"])
    response = client.post(
        reverse("registry:resident_reveal", args=[head.pk]),
        {"reason": "入户核查身份"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="resident-personal"' in response.text
    assert "<html" not in response.text  # a fragment swapped in place
    assert "510106198005171236" in response.text
    assert "13812345678" in response.text
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REVEAL)
    assert entry.actor == personas["grid_worker"]
    assert entry.object_id == str(head.pk)
    assert entry.reason == "入户核查身份"
    assert entry.area_path == head.area.path


def test_reveal_without_a_reason_is_a_field_error_and_reveals_nothing(client, personas, people):
    login(client, personas["grid_worker"])
    response = client.post(
        reverse("registry:resident_reveal", args=[people["head"].pk]),
        {"reason": " "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'class="errorlist' in response.text
    assert "510106198005171236" not in response.text
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL).exists()


def test_reveal_needs_registry_reveal(client, personas, people):
    login(client, personas["street_dispatcher"])  # may view, may not reveal
    page = client.get(reverse("registry:resident_detail", args=[people["head"].pk]))
    assert page.status_code == 200
    assert reverse("registry:resident_reveal", args=[people["head"].pk]) not in page.text
    response = client.post(
        reverse("registry:resident_reveal", args=[people["head"].pk]), {"reason": "想看看号码"}
    )
    assert response.status_code == 403
    assert "510106198005171236" not in response.text
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL).exists()


def test_reveal_of_a_household_contact(client, personas, people):
    login(client, personas["community_worker"])
    response = client.post(
        reverse("registry:household_reveal", args=[people["home"].pk]),
        {"reason": "联系户主"},
        HTTP_HX_REQUEST="true",
    )
    assert "13912345678" in response.text and "王小明" in response.text
    assert AuditEntry.objects.filter(action="reveal", object_type="registry.household").count() == 1


def test_reveal_without_htmx_renders_the_whole_page(client, personas, people):
    login(client, personas["grid_worker"])
    response = client.post(
        reverse("registry:resident_reveal", args=[people["head"].pk]), {"reason": "入户核查身份"}
    )
    assert "<html" in response.text and "510106198005171236" in response.text


@pytest.mark.parametrize("persona", ["outsider", "grid_worker", "resident", "auditor"])
def test_registry_objects_outside_the_scope_are_404(client, personas, people, persona):
    login(client, personas[persona])
    away = people["away"]
    resident = away.residents.get()
    for url in [
        reverse("registry:household_detail", args=[away.pk]),
        reverse("registry:resident_detail", args=[resident.pk]),
    ]:
        assert client.get(url).status_code == 404
    for url in [
        reverse("registry:household_reveal", args=[away.pk]),
        reverse("registry:resident_reveal", args=[resident.pk]),
    ]:
        assert client.post(url, {"reason": "看一下这个人"}).status_code == 404
    assert not AuditEntry.objects.filter(action="reveal").exists()


@pytest.mark.parametrize("persona", ["outsider", "resident", "auditor", "hotline_operator"])
def test_registry_pages_do_not_exist_without_registry_view(client, personas, persona):
    login(client, personas[persona])
    for name in ["household_list", "resident_list", "coverage", "import_new"]:
        assert client.get(reverse(f"registry:{name}")).status_code == 404, name


def test_coverage_page_with_chart_and_gaps(client, town, personas, people):
    build_resident(area=town.grids["A1-2"], name="孙无户")
    page = login(client, personas["community_worker"]).get(reverse("registry:coverage"))
    assert page.status_code == 200
    report = page.context["report"]
    assert report.area == town.communities["A1"]
    assert report.households == 1
    assert report.residents_without_household == 1
    assert "<svg" in page.text and 'class="bar"' in page.text
    assert len(page.context["bars"]) == len(report.distribution.buckets)
    assert "孙**" in page.text and "孙无户" not in page.text
    assert reverse("registry:coverage_export", args=[town.communities["A1"].pk]) in page.text


def test_coverage_of_another_area_is_refused(client, town, personas):
    page = login(client, personas["community_worker"]).get(
        reverse("registry:coverage"), {"area": town.communities["B1"].pk}
    )
    assert "area" in page.context["form"].errors
    assert page.context["report"] is None
    response = client.get(reverse("registry:coverage_export", args=[town.communities["B1"].pk]))
    assert response.status_code == 404


def test_coverage_export_is_a_workbook(client, town, personas, people):
    response = login(client, personas["street_dispatcher"]).get(
        reverse("registry:coverage_export", args=[town.streets["A"].pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert "网格明细" in book.sheetnames


def _sheet_text(content: bytes) -> str:
    book = load_workbook(io.BytesIO(content))
    return " ".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )


def test_resident_export_is_masked_and_scoped(client, personas, people):
    response = login(client, personas["grid_worker"]).get(reverse("registry:resident_export"))
    assert response.status_code == 200
    text = _sheet_text(response.content)
    assert "5101**********1236" in text
    assert "510106198005171236" not in text
    assert "赵**" not in text and "赵六" not in text  # street B is not theirs


def test_unmasked_resident_export_needs_a_reason_and_is_audited(client, personas, people):
    login(client, personas["grid_worker"])
    url = reverse("registry:resident_export")
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert 'class="errorlist' in response.text
    response = client.post(url + "?q=1236", {"reason": "上报民政局"})
    assert response.status_code == 200
    assert "510106198005171236" in _sheet_text(response.content)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_unmasked_export_is_forbidden_without_reveal(client, personas, people):
    response = login(client, personas["street_dispatcher"]).post(
        reverse("registry:resident_export"), {"reason": "上报民政局"}
    )
    assert response.status_code == 403


def test_household_export_is_masked(client, personas, people):
    response = login(client, personas["community_worker"]).get(reverse("registry:household_export"))
    assert response.status_code == 200
    text = _sheet_text(response.content)
    assert "金牛路8号1栋2单元301" in text
    assert "13912345678" not in text


def test_unmasked_household_export_is_audited(client, personas, people):
    login(client, personas["community_worker"])
    response = client.post(reverse("registry:household_export"), {"reason": "联系户主核实"})
    assert response.status_code == 200
    assert "13912345678" in _sheet_text(response.content)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.reason == "联系户主核实"


@pytest.fixture
def run_imports_inline(monkeypatch):
    # The page starts a thread on commit; a test runs the same job in place.
    monkeypatch.setattr(importers, "run_import_in_background", importers.run_import)


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("户.csv", text.encode("utf-8"), content_type="text/csv")


def test_import_dry_run_then_progress_page(client, town, personas, run_imports_inline):
    login(client, personas["community_worker"])
    grid = town.grids["A1-1"]
    response = client.post(
        reverse("registry:import_new"),
        {
            "kind": "households",
            "area": town.communities["A1"].pk,
            "dry_run": "on",
            "file": _csv(f"地址,网格编码\n金牛路9号,{grid.code}\n金牛路10号,{grid.code}\n"),
        },
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:import_detail", args=[job.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["job"].status == "checked"
    assert 'role="progressbar"' in page.text
    assert "every 1s" not in page.text  # finished: no more polling
    assert not Household.objects.filter(address="金牛路9号").exists()


def test_import_job_polls_while_running(client, town, personas):
    job = ImportJob.objects.create(
        kind="households",
        area=town.communities["A1"],
        file_name="a.csv",
        created_by=personas["community_worker"],
        status="running",
        total_rows=200,
        processed_rows=50,
    )
    login(client, personas["community_worker"])
    fragment = client.get(reverse("registry:import_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in fragment.text
    assert 'aria-valuenow="25"' in fragment.text
    assert "<html" not in fragment.text


def test_import_errors_are_a_row_column_reason_table(client, town, personas, run_imports_inline):
    login(client, personas["community_worker"])
    client.post(
        reverse("registry:import_new"),
        {
            "kind": "residents",
            "area": town.communities["A1"].pk,
            "file": _csv("姓名,身份证号,地址\n张三,123,金牛路9号\n"),
        },
    )
    job = ImportJob.objects.get()
    page = client.get(reverse("registry:import_detail", args=[job.pk]))
    assert page.context["job"].status == "failed"
    assert 'id="import-errors"' in page.text
    assert "身份证号" in page.text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "households", "file": "x"}, "area"),
        ({"kind": "people"}, "kind"),
        ({"kind": "households"}, "file"),
    ],
)
def test_import_form_field_errors(client, town, personas, data, field):
    login(client, personas["community_worker"])
    data = {**data, "area": data.get("area", town.communities["A1"].pk)}
    if data.get("file") == "x":
        data["area"] = town.communities["B1"].pk  # outside the scope
        data["file"] = _csv("地址\n金牛路9号\n")
    page = client.post(reverse("registry:import_new"), data)
    assert page.status_code == 200
    assert field in page.context["form"].errors
    assert not ImportJob.objects.exists()


def test_import_refuses_a_file_of_the_wrong_type(client, town, personas):
    login(client, personas["community_worker"])
    page = client.post(
        reverse("registry:import_new"),
        {
            "kind": "households",
            "area": town.communities["A1"].pk,
            "file": SimpleUploadedFile("notes.txt", b"hello"),
        },
    )
    assert "file" in page.context["form"].errors


def test_import_service_refusal_lands_on_the_field(client, town, personas):
    login(client, personas["community_worker"])
    page = client.post(
        reverse("registry:import_new"),
        {"kind": "households", "area": town.communities["A1"].pk, "file": _csv("门牌\n1\n")},
    )
    assert page.status_code == 200
    assert page.context["form"].errors
    assert not ImportJob.objects.exists()


def test_import_jobs_of_other_areas_are_404(client, town, personas):
    job = ImportJob.objects.create(
        kind="households",
        area=town.communities["B1"],
        file_name="b.csv",
        created_by=personas["admin"],
    )
    login(client, personas["community_worker"])
    assert client.get(reverse("registry:import_detail", args=[job.pk])).status_code == 404


def test_sensitive_tags_are_offered_only_to_roles_that_may_reveal(client, personas):
    login(client, personas["street_dispatcher"])
    page = client.get(reverse("registry:resident_list"))
    codes = [code for code, _label in page.context["form"].fields["tag"].choices]
    assert "disabled" in codes and "elderly_60" in codes
    assert "drug_use" not in codes and "community_correction" not in codes
    page = client.get(reverse("registry:resident_list"), {"tag": "drug_use"})
    assert "tag" in page.context["form"].errors
    login(client, personas["community_worker"])
    page = client.get(reverse("registry:resident_list"))
    codes = [code for code, _label in page.context["form"].fields["tag"].choices]
    assert "drug_use" in codes
