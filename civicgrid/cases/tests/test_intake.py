"""intake.receive_case: one path for every channel, validation that writes nothing, numbers,
idempotency, locating and automatic dispatch."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from civicgrid.cases import intake
from civicgrid.cases.choices import Action, Channel, Kind, State
from civicgrid.cases.models import Attachment, Case, CaseEvent, DispatchRule
from civicgrid.cases.services import ConflictError
from civicgrid.cases.tests.builders import build_category, build_taxonomy, build_unit
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.registry.models import Building

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def leaf(town):
    top = build_category("城市管理")
    middle = build_category("市容环境", parent=top)
    return build_category("占道经营", parent=middle)


def png(name: str = "photo.png", size=(8, 8)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def receive(actor, town, **overrides):
    lat, lon = town.centre(town.grids["A1-1"])
    values = dict(
        actor=actor,
        channel=Channel.HOTLINE,
        kind=Kind.COMPLAINT,
        title="占道经营",
        description="菜市场门口每天早上有人摆摊,堵住了人行道。",
        lat=lat,
        lon=lon,
        reporter_name="王小明",
        reporter_phone="13812345678",
    )
    values.update(overrides)
    return intake.receive_case(**values)


def counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        Attachment.objects.count(),
        AuditEntry.objects.filter(object_type="cases.case").count(),
    )


def test_hotline_case_is_located_numbered_and_recorded(town, personas, leaf):
    operator = personas["hotline_operator"]
    case = receive(operator, town, category=leaf)

    grid = town.grids["A1-1"]
    assert case.grid == grid
    assert case.area_path == grid.path
    assert case.locate_status == "inside"
    assert case.state == State.RECEIVED
    assert case.number == f"{clock.today():%Y%m%d}00001"
    assert case.created_by == operator
    assert case.reporter_phone == "13812345678"
    event = case.events.get()
    assert (event.action, event.to_state, event.actor) == (Action.RECEIVE, State.RECEIVED, operator)
    entry = AuditEntry.objects.get(object_type="cases.case", object_id=str(case.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.area_path == grid.path


@pytest.mark.parametrize(
    "persona, channel",
    [
        ("hotline_operator", Channel.HOTLINE),
        ("grid_worker", Channel.PATROL),
        ("community_worker", Channel.MEETING),
        ("community_worker", Channel.WISH_BOX),
        ("street_dispatcher", Channel.PARTNER),
        ("resident", Channel.WEB),
        (None, Channel.MOBILE),
    ],
)
def test_every_channel_takes_the_same_path(town, personas, persona, channel):
    actor = personas[persona] if persona else None
    case = receive(actor, town, channel=channel)
    assert case.channel == channel
    assert case.grid == town.grids["A1-1"]
    assert case.events.filter(action=Action.RECEIVE).count() == 1
    if persona == "resident":
        assert case.reporter == actor  # the resident sees it as their own
        assert case.created_by == actor
    if persona is None:
        assert case.reporter is None and case.created_by is None


def test_without_an_intake_role_only_the_public_channels_are_open(town, personas):
    before = counts()
    for persona in ("resident", "outsider"):
        with pytest.raises(PermissionDeniedError):
            receive(personas[persona], town, channel=Channel.HOTLINE)
    with pytest.raises(PermissionDeniedError):
        receive(None, town, channel=Channel.PATROL)
    assert counts() == before


def test_numbers_follow_a_daily_sequence(town, personas):
    operator = personas["hotline_operator"]
    first = receive(operator, town)
    second = receive(operator, town)
    earlier = clock.now() - dt.timedelta(days=3)
    old = receive(operator, town, received_at=earlier)
    today = f"{clock.today():%Y%m%d}"
    assert (first.number, second.number) == (f"{today}00001", f"{today}00002")
    assert old.number == f"{timezone.localdate(earlier):%Y%m%d}00001"
    assert old.received_at == earlier
    assert old.events.get().at == earlier


def test_retry_with_the_same_key_returns_the_first_case(town, personas):
    operator = personas["hotline_operator"]
    first = receive(operator, town, idempotency_key="call-42")
    before = counts()
    again = receive(operator, town, idempotency_key="call-42")
    assert again.pk == first.pk
    assert counts() == before


def test_same_key_for_a_different_request_is_a_conflict(town, personas):
    operator = personas["hotline_operator"]
    first = receive(operator, town, idempotency_key="call-43")
    before = counts()
    with pytest.raises(ConflictError) as refused:
        receive(operator, town, idempotency_key="call-43", title="别的事情")
    assert first.number in refused.value.message
    assert "idempotency_key" in refused.value.errors
    assert counts() == before


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"lat": None, "lon": None, "address": ""}, "address"),
        ({"description": "很" * 4001}, "description"),
        ({"description": "   "}, "description"),
        ({"title": ""}, "title"),
        ({"title": "长" * 101}, "title"),
        ({"category": 999999}, "category"),
        ({"lat": 95.0}, "lat"),
        ({"lon": None}, "lon"),
        ({"lon": 181.0}, "lon"),
        ({"reporter_phone": "12345"}, "reporter_phone"),
        ({"kind": "gossip"}, "kind"),
        ({"channel": "fax"}, "channel"),
        ({"urgency": "whenever"}, "urgency"),
        ({"tags": ["no-such-tag"]}, "tags"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(town, personas, overrides, field):
    before = counts()
    with pytest.raises(ServiceError) as refused:
        receive(personas["hotline_operator"], town, **overrides)
    assert field in refused.value.errors
    assert refused.value.errors[field]
    assert counts() == before


def test_a_text_file_named_jpg_is_refused(town, personas):
    fake = SimpleUploadedFile("photo.jpg", b"just some text, not a picture", "image/jpeg")
    before = counts()
    with pytest.raises(ServiceError) as refused:
        receive(personas["grid_worker"], town, channel=Channel.PATROL, attachments=[png(), fake])
    assert "photo.jpg" in refused.value.errors["attachments"]
    assert counts() == before


def test_at_most_nine_photos(town, personas):
    before = counts()
    with pytest.raises(ServiceError) as refused:
        receive(personas["grid_worker"], town, attachments=[png(f"{i}.png") for i in range(10)])
    assert "attachments" in refused.value.errors
    assert counts() == before


def test_photos_are_stored_with_their_real_type(town, personas):
    worker = personas["grid_worker"]
    case = receive(worker, town, channel=Channel.PATROL, attachments=[png("a.jpg"), png("b.png")])
    stored = list(case.attachments.order_by("id"))
    assert [a.content_type for a in stored] == ["image/png", "image/png"]
    assert all(a.uploaded_by == worker and a.size > 0 for a in stored)


def test_category_must_be_an_active_leaf_of_the_active_taxonomy(town, personas, leaf):
    operator = personas["hotline_operator"]
    with pytest.raises(ServiceError) as parent:
        receive(operator, town, category=leaf.parent)
    assert "category" in parent.value.errors
    old = build_category("旧分类", taxonomy=build_taxonomy(active=False))
    with pytest.raises(ServiceError) as retired:
        receive(operator, town, category=old.pk)
    assert "category" in retired.value.errors
    assert Case.objects.count() == 0


def test_address_alone_is_located_through_the_building_registry(town, personas):
    grid = town.grids["B1-2"]
    Building.objects.create(grid=grid, address="测试区幸福路8号")
    case = receive(
        personas["hotline_operator"], town, lat=None, lon=None, address="测试区幸福路8号3单元"
    )
    assert case.grid == grid
    assert case.area_path == grid.path
    assert case.events.get().data["matched_address"] == "测试区幸福路8号"


def test_outside_every_grid_the_case_goes_to_the_actors_area(town, personas):
    far = {"lat": 31.5, "lon": 105.5}
    by_street = receive(personas["street_dispatcher"], town, **far)
    assert by_street.grid is None
    assert by_street.locate_status == "outside"
    assert by_street.area_path == town.streets["A"].path
    by_public = receive(None, town, channel=Channel.WEB, address="不知道哪里", lat=None, lon=None)
    assert by_public.area_path == town.district.path


def test_an_unambiguous_auto_rule_dispatches_at_intake(town, personas, leaf):
    unit = build_unit("城管执法中队", areas=[town.streets["A"]])
    DispatchRule.objects.create(
        category=leaf, area=town.streets["A"], unit=unit, auto_dispatch=True
    )
    case = receive(personas["hotline_operator"], town, category=leaf)
    assert case.state == State.DISPATCHED
    assert case.lead_unit == unit
    dispatch = case.events.get(action=Action.DISPATCH)
    assert dispatch.actor is None  # the catalogue decided, not the operator
    assert dispatch.unit == unit


def test_an_ambiguous_catalogue_waits_for_a_dispatcher(town, personas, leaf):
    for name in ("城管", "市场监管"):
        unit = build_unit(name, areas=[town.streets["A"]])
        DispatchRule.objects.create(
            category=leaf, area=town.streets["A"], unit=unit, auto_dispatch=True
        )
    case = receive(personas["hotline_operator"], town, category=leaf)
    assert case.state == State.RECEIVED
    assert case.lead_unit is None
    assert not case.events.filter(action=Action.DISPATCH).exists()


def test_a_rule_without_auto_dispatch_leaves_the_case_to_the_dispatcher(town, personas, leaf):
    unit = build_unit("城管", areas=[town.streets["A"]])
    DispatchRule.objects.create(category=leaf, area=town.district, unit=unit)
    case = receive(personas["hotline_operator"], town, category=leaf)
    assert case.state == State.RECEIVED
