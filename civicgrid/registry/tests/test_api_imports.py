"""Spreadsheet imports through the API: small files in the request, large ones in the
background with a job to poll; scoped, refused without registry.edit."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from civicgrid.accounts.api import issue_token
from civicgrid.core.models import AuditEntry
from civicgrid.registry.idnumbers import make_id_number
from civicgrid.registry.models import ImportJob, Resident
from tests.builders import build_household

API = "/api/v1"


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def csv_file(rows: list[list[str]], name: str = "residents.csv") -> SimpleUploadedFile:
    text = "\n".join(",".join(r) for r in [["姓名", "身份证号", "地址", "联系电话"], *rows])
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def good_rows(address: str, n: int = 3) -> list[list[str]]:
    import datetime as dt

    return [
        [f"居民{i}", make_id_number("510108", dt.date(1985, 1, 1 + i), i, "male"), address, ""]
        for i in range(n)
    ]


@pytest.fixture
def household(town):
    return build_household(town.grids["A1-1"], address="锦江路8号1单元101")


def post(client, area, file, **fields):
    return client.post(
        f"{API}/imports", {"kind": "residents", "area": area.pk, "file": file, **fields}
    )


def test_dry_run_checks_and_writes_nothing(household, town, personas):
    response = post(
        as_user(personas["grid_worker"]),
        town.grids["A1-1"],
        csv_file(good_rows(household.address)),
        dry_run="true",
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "checked" and job["dry_run"] is True
    assert job["total_rows"] == 3 and job["percent"] == 100 and job["errors"] == []
    assert not Resident.objects.exists()


def test_import_writes_every_row_and_is_audited(household, town, personas):
    response = post(
        as_user(personas["grid_worker"]),
        town.grids["A1-1"],
        csv_file(good_rows(household.address)),
        dry_run="false",
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "succeeded" and job["written_rows"] == 3
    assert Resident.objects.filter(household=household).count() == 3
    assert AuditEntry.objects.filter(action="import", object_id=str(job["id"])).exists()
    polled = as_user(personas["grid_worker"]).get(f"{API}/imports/{job['id']}").json()
    assert polled == job


def test_bad_rows_fail_the_whole_file_with_a_row_report(household, town, personas):
    rows = good_rows(household.address, 2) + [
        ["", "123", household.address, "12"],
        [
            "无名",
            make_id_number("510108", __import__("datetime").date(1990, 1, 1), 9, "male"),
            "无此地址",
            "",
        ],
    ]
    response = post(
        as_user(personas["grid_worker"]), town.grids["A1-1"], csv_file(rows), dry_run="false"
    )
    assert response.status_code == 201
    job = response.json()
    assert job["status"] == "failed" and job["written_rows"] == 0
    cells = {(e["row"], e["column"]) for e in job["errors"]}
    assert {(4, "姓名"), (4, "身份证号"), (4, "联系电话"), (5, "地址")} <= cells
    assert not Resident.objects.exists()


def test_bad_file_and_missing_fields_are_field_errors(household, town, personas):
    client = as_user(personas["grid_worker"])
    grid = town.grids["A1-1"]
    wrong = SimpleUploadedFile("notes.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = post(client, grid, wrong)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["file"]
    headers = SimpleUploadedFile("r.csv", "名字,电话\n张三,1\n".encode(), content_type="text/csv")
    assert post(client, grid, headers).json()["errors"][0]["field"] == "file"
    empty = SimpleUploadedFile("r.csv", b"", content_type="text/csv")
    assert post(client, grid, empty).json()["errors"][0]["field"] == "file"
    response = client.post(f"{API}/imports", {"area": grid.pk})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"kind", "file"}
    response = post(client, grid, csv_file([]), kind="pets")
    assert {e["field"] for e in response.json()["errors"]} == {"kind"}
    assert not ImportJob.objects.exists()


def test_import_refusals(household, town, personas):
    rows = good_rows(household.address)
    # The district officer sees the grid but may not edit the registry.
    refused = post(as_user(personas["district_officer"]), town.grids["A1-1"], csv_file(rows))
    assert refused.status_code == 403
    # The neighbour grid reads as missing, on its field.
    hidden = post(as_user(personas["grid_worker"]), town.grids["A1-2"], csv_file(rows))
    assert hidden.status_code == 422
    assert hidden.json()["errors"] == [{"field": "area", "message": "Not found."}]
    assert (
        post(as_user(personas["outsider"]), town.grids["A1-1"], csv_file(rows)).status_code == 422
    )
    assert post(Client(), town.grids["A1-1"], csv_file(rows)).status_code == 401
    assert not ImportJob.objects.exists()


def test_import_with_a_token(household, town, personas):
    _, key = issue_token(personas["community_worker"], "census", actor=None)
    response = Client(enforce_csrf_checks=True).post(
        f"{API}/imports",
        {
            "kind": "residents",
            "area": town.communities["A1"].pk,
            "file": csv_file(good_rows(household.address)),
            "dry_run": "false",
        },
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "succeeded"


def test_import_job_is_scoped(household, town, personas):
    job = post(
        as_user(personas["community_worker"]),
        town.communities["A1"],
        csv_file(good_rows(household.address)),
    ).json()
    url = f"{API}/imports/{job['id']}"
    assert as_user(personas["community_worker"]).get(url).status_code == 200
    for persona in ("outsider", "grid_worker", "district_officer", "auditor"):
        # The grid worker's scope is one grid, not the community the job was made for; the
        # others lack registry.edit.
        assert as_user(personas[persona]).get(url).status_code == 404, persona
    assert as_user(personas["community_worker"]).get(f"{API}/imports/999999").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_large_file_runs_in_the_background_and_is_polled(town, personas, settings):
    settings.IMPORT_SYNC_MAX_BYTES = 10  # every file is "large"
    household = build_household(town.grids["A1-1"], address="锦江路8号1单元101")
    client = as_user(personas["grid_worker"])
    response = post(
        client, town.grids["A1-1"], csv_file(good_rows(household.address, 5)), dry_run="false"
    )
    assert response.status_code == 202, response.content
    job = response.json()
    # The worker thread may already have started, or on a busy machine even finished, by the
    # time the response is serialised; the 202 is what says it went to the background.
    assert job["status"] in ("pending", "running", "succeeded")
    deadline = time.monotonic() + 20
    while True:
        polled = client.get(f"{API}/imports/{job['id']}").json()
        if polled["status"] not in ("pending", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert polled["status"] == "succeeded", polled
    assert polled["percent"] == 100 and polled["written_rows"] == 5
    assert Resident.objects.filter(household=household).count() == 5
