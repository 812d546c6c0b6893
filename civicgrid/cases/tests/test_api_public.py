"""The public endpoints (no login): the board, tracking, submission with photos, rating."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from civicgrid.cases.choices import State
from civicgrid.cases.models import Attachment, Callback, Case
from civicgrid.cases.tests.builders import build_case, build_category, build_unit
from civicgrid.core import clock

API = "/api/v1"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def track(number, phone):
    return Client().post(
        f"{API}/public/track", {"number": number, "phone": phone}, content_type="application/json"
    )


@pytest.fixture
def resolved(town):
    unit = build_unit("城管")
    return build_case(
        town,
        state=State.RESOLVED,
        lead_unit=unit,
        number="2026010100001",
        reporter_name="王小明",
        reporter_phone="13812345678",
        address="幸福路8号3单元501",
        resolved_at=clock.now(),
        reply="已清理。",
        category=build_category("占道经营", parent=build_category("市容环境")),
    )


def test_track_needs_the_right_number_and_phone(resolved):
    ok = track("2026010100001", "138 1234 5678")
    assert ok.status_code == 200
    body = ok.json()
    assert body["state"] == "resolved" and body["can_rate"] is True
    assert body["reply"] == "已清理。"
    assert "13812345678" not in ok.content.decode()
    wrong_phone = track("2026010100001", "13900000000")
    wrong_number = track("2026010199999", "13812345678")
    assert wrong_phone.status_code == wrong_number.status_code == 404
    assert wrong_phone.json() == wrong_number.json()
    assert track("2026010100001", "").status_code == 404


def test_a_case_without_a_phone_cannot_be_tracked(town):
    case = build_case(town, reporter_phone="")
    assert track(case.number, "").status_code == 404
    assert track(case.number, "00000000000").status_code == 404


def test_board_shows_finished_cases_without_personal_data(town, resolved):
    build_case(town, title="还没办完", reporter_phone="13700000000")  # open: not shown
    response = Client().get(f"{API}/public/board")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["items"][0]
    assert row["category"] == "占道经营"
    assert row["street"] == "A街道" and row["community"] == "A1社区"
    assert row["reply"] == "已清理。"
    assert row["duration_hours"] is not None
    text = response.content.decode()
    for secret in ("13812345678", "5678", "王小明", "王", "幸福路", resolved.number):
        assert secret not in text
    assert not {"number", "title", "reporter", "phone", "address", "id"} & set(row)
    other = Client().get(f"{API}/public/board", {"area": town.streets["B"].pk}).json()
    assert other["count"] == 0


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="JPEG")
    return SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")


def form(town, **extra):
    lat, lon = town.centre(town.grids["B1-1"])
    data = {
        "kind": "report",
        "title": "井盖丢失",
        "description": "路口井盖不见了,很危险。",
        "lat": lat,
        "lon": lon,
        "reporter_phone": "13812345678",
    }
    data.update(extra)
    return data


def test_a_resident_reports_without_logging_in(town):
    response = Client().post(f"{API}/public/cases", {**form(town), "photos": [png(), png()]})
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    case = Case.objects.get(number=number)
    assert case.channel == "web" and case.grid == town.grids["B1-1"]
    assert case.reporter is None and case.created_by is None
    assert Attachment.objects.filter(case=case).count() == 2
    assert track(number, "13812345678").json()["title"] == "井盖丢失"


def test_public_submission_refuses_fake_photos_and_writes_nothing(town):
    fake = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    response = Client().post(f"{API}/public/cases", {**form(town), "photos": [fake]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attachments"
    no_phone = Client().post(f"{API}/public/cases", form(town, reporter_phone=""))
    assert no_phone.status_code == 422
    hotline = Client().post(f"{API}/public/cases", form(town, channel="hotline"))
    assert hotline.status_code == 422
    assert Case.objects.count() == 0


def test_the_reporter_rates_their_resolved_case(resolved):
    body = {"number": resolved.number, "phone": "13812345678"}
    answer = {"solved": "solved", "satisfaction": "satisfied"}
    url = f"{API}/public/track/callback"
    wrong = Client().post(url, {**body, **answer, "phone": "13900000000"}, "application/json")
    assert wrong.status_code == 404
    rated = Client().post(url, {**body, **answer}, content_type="application/json")
    assert rated.status_code == 200, rated.content
    assert rated.json()["state"] == "callback_done"
    callback = Callback.objects.get(case=resolved)
    assert callback.method == "web" and callback.by is None
    again = Client().post(url, {**body, **answer}, content_type="application/json")
    assert again.status_code == 409
