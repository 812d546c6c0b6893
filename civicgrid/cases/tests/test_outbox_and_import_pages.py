"""The case's outbox on the case page and in the API, and the legacy hotline import in the
browser (导入历史工单) and the API: who may, the row report, all or nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from civicgrid.cases.choices import NotificationChannel, NotificationStatus
from civicgrid.cases.models import Case, Notification
from civicgrid.cases.tests.builders import build_case
from civicgrid.cases.tests.test_import_cases import csv_bytes
from civicgrid.core.models import AuditEntry

API = "/api/v1"
PHONE = "13812345678"
pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def case_with_outbox(town, personas):
    case = build_case(town, grid="A1-1")
    worker = personas["grid_worker"]
    worker.display_name = "李四"
    worker.save(update_fields=["display_name"])
    Notification.objects.create(
        case=case,
        recipient=worker,
        channel=NotificationChannel.SMS,
        address=PHONE,
        subject="新工单待签收",
        status=NotificationStatus.FAILED,
        attempts=3,
        error="gateway said 502",
    )
    Notification.objects.create(
        case=case,
        recipient=personas["street_dispatcher"],
        channel=NotificationChannel.IN_APP,
        subject="工单即将超时",
        status=NotificationStatus.SENT,
        attempts=1,
    )
    other = build_case(town, grid="A1-1")
    Notification.objects.create(
        case=other, channel=NotificationChannel.IN_APP, subject="另一件工单的消息"
    )
    return case


# --- the outbox on the case page ------------------------------------------------------------


def test_dispatcher_sees_what_was_sent_about_the_case(personas, case_with_outbox):
    page = as_user(personas["street_dispatcher"]).get(
        reverse("cases:detail", args=[case_with_outbox.pk])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="notifications"' in html
    assert "新工单待签收" in html and "工单即将超时" in html
    assert "另一件工单的消息" not in html
    assert "李四" in html
    assert "138****5678" in html and PHONE not in html
    assert "gateway said 502" in html and "3 attempts" in html
    assert "Failed" in html and "Sent" in html


def test_grid_worker_does_not_see_the_outbox(personas, case_with_outbox):
    page = as_user(personas["grid_worker"]).get(reverse("cases:detail", args=[case_with_outbox.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="notifications"' not in html
    assert "新工单待签收" not in html


def test_outsider_gets_404_for_the_case_page(personas, case_with_outbox):
    page = as_user(personas["outsider"]).get(reverse("cases:detail", args=[case_with_outbox.pk]))
    assert page.status_code == 404


# --- the outbox in the API --------------------------------------------------------------------


def test_api_lists_the_case_notifications_for_the_dispatcher(personas, case_with_outbox):
    response = as_user(personas["street_dispatcher"]).get(
        f"{API}/cases/{case_with_outbox.pk}/notifications"
    )
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [r["subject"] for r in rows] == ["工单即将超时", "新工单待签收"]
    sms = rows[1]
    assert sms["channel"] == "sms" and sms["address"] == "138****5678"
    assert sms["recipient"] == "李四"
    assert (sms["status"], sms["attempts"], sms["error"]) == ("failed", 3, "gateway said 502")


def test_api_refuses_the_outbox_to_a_grid_worker_and_hides_it_from_an_outsider(
    personas, case_with_outbox
):
    url = f"{API}/cases/{case_with_outbox.pk}/notifications"
    assert as_user(personas["grid_worker"]).get(url).status_code == 403
    assert as_user(personas["outsider"]).get(url).status_code == 404
    assert (
        as_user(personas["street_dispatcher"]).get(f"{API}/cases/999999/notifications").status_code
        == 404
    )


# --- the import page ------------------------------------------------------------------------


def upload(data: bytes, name: str = "old.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_console_links_the_import_for_dispatchers_only(personas):
    link = reverse("cases:import")
    assert (
        link in as_user(personas["street_dispatcher"]).get(reverse("cases:queue")).content.decode()
    )
    assert link not in as_user(personas["grid_worker"]).get(reverse("cases:queue")).content.decode()


def test_dry_run_then_real_run_writes_every_row(town, personas):
    client = as_user(personas["street_dispatcher"])
    data = csv_bytes(town, [{}, {"number": "GD0002"}])
    dry = client.post(
        reverse("cases:import"),
        {"file": upload(data), "channel": "hotline", "dry_run": "on"},
    )
    assert dry.status_code == 200
    assert "Every row is valid: 2 rows, 2 new cases" in dry.content.decode()
    assert Case.objects.count() == 0
    real = client.post(reverse("cases:import"), {"file": upload(data), "channel": "hotline"})
    assert real.status_code == 200
    assert "2 cases written from 2 rows" in real.content.decode()
    assert Case.objects.filter(channel="hotline").count() == 2
    assert AuditEntry.objects.filter(action="import", object_repr="old.csv").count() == 1
    again = client.post(reverse("cases:import"), {"file": upload(data), "channel": "hotline"})
    assert "0 cases written from 2 rows (2 imported before)" in again.content.decode()
    assert Case.objects.count() == 2


def test_broken_rows_write_nothing_and_show_the_report(town, personas):
    data = csv_bytes(town, [{}, {"number": "GD0002", "time": "yesterday"}, {"number": "GD0001"}])
    page = as_user(personas["street_dispatcher"]).post(
        reverse("cases:import"), {"file": upload(data), "channel": "hotline"}
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert 'id="import-errors"' in html
    assert "受理时间" in html and "Use a date and time such as 2024-05-01 08:30." in html
    assert "Same number as row 2." in html
    assert "nothing was imported" in html
    assert Case.objects.count() == 0


def test_empty_file_is_refused_on_the_file_field(personas):
    page = as_user(personas["street_dispatcher"]).post(
        reverse("cases:import"), {"file": upload(b""), "channel": "hotline"}
    )
    assert page.status_code == 400
    assert "The file is empty." in page.content.decode()
    assert Case.objects.count() == 0


def test_import_page_is_404_without_cases_dispatch(town, personas):
    data = csv_bytes(town, [{}])
    for name in ("grid_worker", "hotline_operator", "outsider"):
        client = as_user(personas[name])
        assert client.get(reverse("cases:import")).status_code == 404
        posted = client.post(reverse("cases:import"), {"file": upload(data), "channel": "hotline"})
        assert posted.status_code == 404
    assert Case.objects.count() == 0


# --- the import in the API ------------------------------------------------------------------


def test_api_import_returns_the_report(town, personas):
    client = as_user(personas["street_dispatcher"])
    data = csv_bytes(town, [{}, {"number": "GD0002"}])
    dry = client.post(
        f"{API}/cases/import", {"file": upload(data), "channel": "hotline", "dry_run": "true"}
    )
    assert dry.status_code == 200, dry.content
    assert dry.json() | {"numbers": []} == {
        "rows": 2,
        "imported": 2,
        "already": 0,
        "dry_run": True,
        "numbers": [],
        "errors": [],
    }
    assert Case.objects.count() == 0
    real = client.post(f"{API}/cases/import", {"file": upload(data), "channel": "hotline"})
    assert real.status_code == 200, real.content
    body = real.json()
    assert (body["imported"], body["dry_run"]) == (2, False)
    assert sorted(body["numbers"]) == sorted(Case.objects.values_list("number", flat=True))


def test_api_import_of_a_bad_file_is_422_with_every_row_and_writes_nothing(town, personas):
    client = as_user(personas["street_dispatcher"])
    data = csv_bytes(town, [{}, {"number": "GD0002", "kind": "抱怨"}])
    response = client.post(f"{API}/cases/import", {"file": upload(data), "channel": "hotline"})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["errors"] == [
        {"row": 3, "field": "诉求类型", "message": body["errors"][0]["message"]}
    ]
    assert "咨询" in body["errors"][0]["message"]
    assert body["report"]["imported"] == 0
    assert Case.objects.count() == 0
    empty = client.post(f"{API}/cases/import", {"file": upload(b""), "channel": "hotline"})
    assert empty.status_code == 422
    assert empty.json()["errors"] == [{"field": "file", "message": "The file is empty."}]


def test_api_import_is_403_without_the_capability(town, personas):
    data = csv_bytes(town, [{}])
    for name in ("grid_worker", "outsider"):
        response = as_user(personas[name]).post(
            f"{API}/cases/import", {"file": upload(data), "channel": "hotline"}
        )
        assert response.status_code == 403, (name, response.content)
    assert Case.objects.count() == 0


def test_pages_speak_chinese_by_default(personas, case_with_outbox):
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(personas["street_dispatcher"])
    detail = client.get(reverse("cases:detail", args=[case_with_outbox.pk])).content.decode()
    assert "通知记录" in detail and "已尝试 3 次" in detail
    page = client.get(reverse("cases:import")).content.decode()
    assert "导入历史工单" in page and "上传并检查" in page
