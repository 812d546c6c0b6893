"""Photos at intake: staff send them to POST /api/v1/cases as a multipart form with the same
validation as JSON, and no photo file outlives an intake that rolls back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import Client
from PIL import Image

from civicgrid.cases import intake, notifications
from civicgrid.cases.choices import Channel, Kind
from civicgrid.cases.models import Attachment, Case, CaseEvent, DispatchRule
from civicgrid.cases.tests.builders import build_category, build_unit
from civicgrid.core.errors import ServiceError

API = "/api/v1"
pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def photo(name: str = "photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 6), (30, 120, 200)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def fields(town, **overrides) -> dict:
    lat, lon = town.centre(town.grids["A1-1"])
    data = {
        "channel": "patrol",
        "kind": "report",
        "title": "井盖丢失",
        "description": "路口井盖不见了,很危险。",
        "lat": lat,
        "lon": lon,
        "reporter_name": "",
        "reporter_phone": "",
    }
    data.update(overrides)
    return data


def staff(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def test_staff_post_a_case_with_photos_as_a_multipart_form(town, personas, media):
    leaf = build_category("占道经营", parent=build_category("市容环境"))
    unit = build_unit("城管", areas=[town.district])
    DispatchRule.objects.create(category=leaf, area=town.district, unit=unit, auto_dispatch=True)
    body = {**fields(town, category=leaf.pk), "photos": [photo("a.jpg"), photo("b.jpg")]}
    response = staff(personas["grid_worker"]).post(f"{API}/cases", body)
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.channel == Channel.PATROL and case.grid == town.grids["A1-1"]
    assert case.lead_unit == unit  # routed and dispatched as a JSON intake is
    stored = list(case.attachments.order_by("id"))
    assert [a.content_type for a in stored] == ["image/jpeg", "image/jpeg"]
    assert len(files_in(media)) == 2


def test_json_and_form_answer_bad_fields_alike(town, personas, media):
    client = staff(personas["hotline_operator"])
    as_json = client.post(
        f"{API}/cases", fields(town, channel="hotline", lat="north"), "application/json"
    )
    as_form = client.post(f"{API}/cases", fields(town, channel="hotline", lat="north"))
    assert as_json.status_code == as_form.status_code == 422
    assert as_json.json()["errors"][0]["field"] == as_form.json()["errors"][0]["field"] == "lat"
    no_place = client.post(
        f"{API}/cases", fields(town, channel="hotline", lat="", lon="", address="")
    )
    assert no_place.status_code == 422
    assert no_place.json()["errors"][0]["field"] == "address"
    assert Case.objects.count() == 0


def test_a_file_that_is_not_an_image_is_a_field_error_and_no_case(town, personas, media):
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    response = staff(personas["grid_worker"]).post(
        f"{API}/cases", {**fields(town), "photos": [photo(), fake]}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "attachments", "message": "x.jpg is not an image."}
    ]
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0
    assert files_in(media) == []


def test_the_form_keeps_repeated_tags_and_the_json_body_still_works(town, personas, media):
    from civicgrid.cases.models import Tag

    Tag.objects.create(code="elderly", name="老年人")
    Tag.objects.create(code="business", name="营商环境")
    client = staff(personas["hotline_operator"])
    form = client.post(
        f"{API}/cases", {**fields(town, channel="hotline"), "tags": ["elderly", "business"]}
    )
    assert form.status_code == 201, form.content
    tagged = Case.objects.get(pk=form.json()["id"])
    assert sorted(tagged.tags.values_list("code", flat=True)) == ["business", "elderly"]
    as_json = client.post(f"{API}/cases", fields(town, channel="hotline"), "application/json")
    assert as_json.status_code == 201, as_json.content
    broken = client.post(f"{API}/cases", "{not json", "application/json")
    assert broken.status_code == 400


def test_openapi_describes_both_bodies(client):
    schema = client.get(f"{API}/openapi.json").json()
    content = schema["paths"][f"{API}/cases"]["post"]["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["properties"]["photos"]["type"] == "array"
    assert "title" in content["application/json"]["schema"]["properties"]


def receive(actor, town, **overrides):
    lat, lon = town.centre(town.grids["A1-1"])
    values = dict(
        actor=actor,
        channel=Channel.PATROL,
        kind=Kind.REPORT,
        title="井盖丢失",
        description="路口井盖不见了,很危险。",
        lat=lat,
        lon=lon,
        attachments=[photo("a.jpg"), photo("b.jpg")],
    )
    values.update(overrides)
    return intake.receive_case(**values)


@pytest.mark.parametrize(
    "failure",
    [DatabaseError("disk I/O error"), ServiceError("Refused after the photos were written.")],
)
def test_no_photo_file_outlives_an_intake_that_rolls_back(
    town, personas, media, monkeypatch, failure
):
    def fail(*args, **kwargs):
        raise failure

    # The outbox is written last, after the photos, the events and the audit rows.
    monkeypatch.setattr(notifications, "notify_case_events", fail)
    with pytest.raises(type(failure)):
        receive(personas["grid_worker"], town)
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0
    assert CaseEvent.objects.count() == 0
    assert files_in(media) == []


def test_a_failed_intake_leaves_the_photos_of_earlier_cases_alone(
    town, personas, media, monkeypatch
):
    kept = receive(personas["grid_worker"], town)
    assert len(files_in(media)) == 2

    def fail(*args, **kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(notifications, "notify_case_events", fail)
    with pytest.raises(DatabaseError):
        receive(personas["grid_worker"], town)
    assert sorted(p.name for p in files_in(media)) == sorted(
        Path(a.file.name).name for a in kept.attachments.all()
    )
