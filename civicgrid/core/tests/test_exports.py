"""The audit log as Excel (page and API): the auditor's subtree, the page's filters, names of
residents masked (on older rows too), the export itself audited; refused without audit.view."""

import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from civicgrid.core import audit
from civicgrid.core.models import AuditEntry
from tests.builders import build_household, build_resident, build_user

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[tuple]:
    assert response.status_code == 200, response.content
    return list(load_workbook(io.BytesIO(response.content)).active.values)


@pytest.fixture
def entries(town, personas):
    grid_worker = personas["grid_worker"]
    person = build_resident(build_household(town.grids["A1-1"]), name="王小明")
    audit.record(grid_worker, AuditEntry.Action.REVEAL, person, reason="入户核查")
    # a row written before names were masked in the log
    AuditEntry.objects.create(
        at=person.created_at,
        actor=grid_worker,
        action=AuditEntry.Action.UPDATE,
        object_type="registry.resident",
        object_id=str(person.pk),
        object_repr="王小明",
        area_path=town.grids["A1-1"].path,
    )
    audit.record(None, AuditEntry.Action.CREATE, town.grids["B1-1"], reason="B街道新建")
    return person


def test_new_rows_name_a_resident_masked(entries):
    reveal = AuditEntry.objects.get(action=AuditEntry.Action.REVEAL)
    assert reveal.object_repr == "王**"


def test_audit_export_from_the_page_is_filtered_masked_and_audited(client, town, personas, entries):
    client.force_login(personas["auditor"])
    page = client.get(reverse("core:audit_log"))
    assert reverse("core:audit_export") in page.text
    assert "王小明" not in page.text  # the older row is shown masked too
    response = client.get(reverse("core:audit_export"), {"object_type": "registry.resident"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = rows_of(response)
    assert rows[0][:4] == ("时间", "操作人", "用户名", "操作")
    assert {r[6] for r in rows[1:]} == {"王**"}
    assert {r[3] for r in rows[1:]} == {"查看完整个人信息", "修改"}
    assert all(isinstance(r[0], dt.datetime) for r in rows[1:])
    export = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert export.actor == personas["auditor"]
    assert export.object_type == "core.auditentry"
    assert export.fields == {"rows": 2, "filters": {"object_type": "registry.resident"}}
    assert export.area_path == town.grids["A1-1"].path


def test_street_auditor_exports_only_their_street(client, town, entries):
    street_auditor = build_user(role="auditor", area=town.streets["A"])
    client.force_login(street_auditor)
    rows = rows_of(client.get(reverse("core:audit_export")))
    assert "入户核查" in {r[8] for r in rows[1:]}
    assert "B街道新建" not in {r[8] for r in rows[1:]}
    assert all(r[7].startswith(town.streets["A"].path) for r in rows[1:])


def test_bad_filters_are_field_errors_and_export_nothing(client, personas, entries):
    client.force_login(personas["auditor"])
    response = client.get(
        reverse("core:audit_export"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["date_to"]
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


@pytest.mark.parametrize("persona", ["grid_worker", "district_officer", "outsider"])
def test_audit_export_needs_audit_view(client, personas, entries, persona):
    client.force_login(personas[persona])
    assert client.get(reverse("core:audit_export")).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_audit_workbook_in_the_api(town, personas, entries):
    api = Client()
    api.force_login(personas["auditor"])
    rows = rows_of(api.get("/api/v1/audit.xlsx", {"action": "reveal", "from": "2000-01-01"}))
    assert [(r[3], r[6], r[8]) for r in rows[1:]] == [("查看完整个人信息", "王**", "入户核查")]
    export = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert export.fields["filters"] == {"action": "reveal", "from": "2000-01-01"}
    bad = api.get("/api/v1/audit.xlsx", {"from": "someday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
    refused = Client()
    refused.force_login(personas["community_worker"])
    assert refused.get("/api/v1/audit.xlsx").status_code == 403
    assert Client().get("/api/v1/audit.xlsx").status_code == 401
