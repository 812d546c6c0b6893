"""The coverage report and the Excel exports through the API."""

import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from civicgrid.core.models import AuditEntry
from tests.builders import build_household, build_resident

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def rows_of(response, sheet: str | None = None) -> list[list]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    ws = book[sheet] if sheet else book.worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture
def registry(town):
    mine = build_household(town.grids["A1-1"], contact_name="王小明", contact_phone="13812345678")
    build_household(town.grids["A1-1"])
    neighbour = build_household(town.grids["A1-2"])
    unplaced = build_household(town.communities["A1"], address="未入格1号")
    elder = build_resident(mine, name="王大爷", birth_date=dt.date(1950, 3, 1))
    build_resident(neighbour, name="李四")
    homeless = build_resident(area=town.grids["A1-1"], name="赵无家")
    return {"mine": mine, "unplaced": unplaced, "elder": elder, "homeless": homeless}


# --- coverage -----------------------------------------------------------------------------


def test_coverage_report_of_a_community(registry, town, personas):
    body = as_user(personas["community_worker"]).get(
        f"{API}/coverage", {"area": town.communities["A1"].pk}
    )
    assert body.status_code == 200, body.content
    report = body.json()
    assert report["area"]["code"] == town.communities["A1"].code
    grids = {g["code"]: g for g in report["grids"]}
    assert set(grids) == {town.grids["A1-1"].code, town.grids["A1-2"].code}
    assert grids[town.grids["A1-1"].code]["households"] == 2
    assert grids[town.grids["A1-1"].code]["residents"] == 2
    assert report["households"] == 4 and report["residents"] == 3
    assert report["households_without_grid"] == 1
    assert [h["address"] for h in report["households_without_grid_rows"]] == ["未入格1号"]
    assert report["residents_without_household"] == 1
    (homeless,) = report["residents_without_household_rows"]
    assert homeless["name"] == "赵**" and "*" in homeless["id_number"]
    # Nobody is posted to a grid yet: every grid lacks staff, so coverage is incomplete.
    assert set(report["grids_without_staff"]) == set(grids)
    assert report["complete"] is False
    assert report["distribution"]["grids"] == 2


def test_coverage_is_cut_to_the_callers_part(registry, town, personas):
    report = (
        as_user(personas["grid_worker"]).get(f"{API}/coverage", {"area": town.district.pk}).json()
    )
    assert [g["code"] for g in report["grids"]] == [town.grids["A1-1"].code]
    assert report["households"] == 2


def test_coverage_refusals(registry, town, personas):
    area = {"area": town.communities["A1"].pk}
    assert as_user(personas["outsider"]).get(f"{API}/coverage", area).status_code == 404
    other_street = as_user(personas["street_dispatcher"]).get(
        f"{API}/coverage", {"area": town.communities["B1"].pk}
    )
    assert other_street.status_code == 404
    assert as_user(personas["admin"]).get(f"{API}/coverage", {"area": 999999}).status_code == 404
    # The auditor sees the areas but not the registry: a 403, not a 404.
    assert as_user(personas["auditor"]).get(f"{API}/coverage", area).status_code == 403
    missing = as_user(personas["community_worker"]).get(f"{API}/coverage")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "area"
    assert Client().get(f"{API}/coverage", area).status_code == 401


def test_coverage_workbook(registry, town, personas):
    response = as_user(personas["community_worker"]).get(
        f"{API}/coverage.xlsx", {"area": town.communities["A1"].pk}
    )
    summary = rows_of(response, "概览")
    assert summary[0] == ["项目", "数值"]
    assert ["户数", 4] in summary
    assert f"coverage-{town.communities['A1'].code}.xlsx" in response["Content-Disposition"]
    assert (
        as_user(personas["outsider"])
        .get(f"{API}/coverage.xlsx", {"area": town.communities["A1"].pk})
        .status_code
        == 404
    )


# --- exports ------------------------------------------------------------------------------


def test_resident_export_is_masked_scoped_and_audited(registry, personas):
    response = as_user(personas["grid_worker"]).get(f"{API}/residents.xlsx")
    rows = rows_of(response)
    header, body = rows[0], rows[1:]
    assert "身份证号" in header
    ids = [r[header.index("身份证号")] for r in body]
    assert len(body) == 2  # the neighbour grid's resident is not there
    assert all(i.startswith("5101") and "*" in i for i in ids)
    assert registry["elder"].id_number not in response.content.decode("latin-1")
    entry = AuditEntry.objects.get(action="export", actor=personas["grid_worker"])
    assert entry.fields == {"rows": 2, "revealed": False}
    assert response["Cache-Control"] == "no-store"


def test_resident_export_filters(registry, town, personas):
    client = as_user(personas["community_worker"])
    rows = rows_of(client.get(f"{API}/residents.xlsx", {"tag": "elderly_60"}))
    assert len(rows) == 2
    rows = rows_of(client.get(f"{API}/residents.xlsx", {"area": town.grids["A1-2"].pk}))
    assert len(rows) == 2 and rows[1][0] == "李*"


def test_unmasked_export_needs_reveal_and_a_reason(registry, personas):
    officer = as_user(personas["district_officer"])
    refused = officer.get(f"{API}/residents.xlsx", {"reveal": "true", "reason": "统计"})
    assert refused.status_code == 403
    worker = as_user(personas["grid_worker"])
    no_reason = worker.get(f"{API}/residents.xlsx", {"reveal": "true"})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert not AuditEntry.objects.filter(action__in=["export", "reveal"]).exists()
    rows = rows_of(worker.get(f"{API}/residents.xlsx", {"reveal": "true", "reason": "慰问"}))
    header = rows[0]
    assert registry["elder"].id_number in [r[header.index("身份证号")] for r in rows[1:]]
    reveal = AuditEntry.objects.get(action="reveal", actor=personas["grid_worker"])
    assert reveal.reason == "慰问"


def test_household_export(registry, personas):
    rows = rows_of(as_user(personas["grid_worker"]).get(f"{API}/households.xlsx"))
    header = rows[0]
    phones = {r[header.index("联系电话")] for r in rows[1:]}
    assert "138****5678" in phones and "13812345678" not in phones
    assert len(rows) == 3


@pytest.mark.parametrize("path", ["/residents.xlsx", "/households.xlsx"])
def test_export_refused_without_export_capability(registry, personas, path):
    for persona in ("outsider", "auditor", "hotline_operator"):
        assert as_user(personas[persona]).get(f"{API}{path}").status_code == 403, persona
    assert Client().get(f"{API}{path}").status_code == 401
    assert not AuditEntry.objects.filter(action="export").exists()
