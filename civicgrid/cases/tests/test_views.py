"""Case pages through the Django test client: each persona sees what it should, a unit never
sees another unit's case, forms show errors next to the field, stale forms say so, and the
public pages show no personal data."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from civicgrid.cases import catalogue, services
from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    ExtensionStatus,
    Satisfaction,
    Solved,
    State,
    SummonsStatus,
)
from civicgrid.cases.models import Callback, Case, DispatchRule, Extension, Notification
from civicgrid.cases.tests.builders import (
    Desk,
    build_case,
    build_policy,
    build_taxonomy,
    build_unit,
    unit_handler,
)
from civicgrid.registry.models import Building
from tests.builders import Town

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def desk(town) -> Desk:
    build_policy(respond_hours=2, resolve_hours=72)
    return Desk(town)


@pytest.fixture
def leaf(town):
    taxonomy = build_taxonomy()
    top = catalogue.create_category(taxonomy, actor=None, code="09", name="城市管理")
    middle = catalogue.create_category(
        taxonomy, actor=None, code="0900", name="市容环境", parent=top
    )
    return catalogue.create_category(
        taxonomy, actor=None, code="09006", name="占道经营", parent=middle, keywords="摆摊 小贩"
    )


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def login(client, user):
    client.force_login(user)
    return client


def dispatched(town, desk, **kwargs) -> Case:
    case = build_case(town, reporter_name="王小明", reporter_phone=PHONE, **kwargs)
    return services.dispatch_case(case, desk.unit, actor=None)


# --- the console -------------------------------------------------------------------------------


def test_pages_need_a_login(client, town):
    for name in ("cases:queue", "cases:intake", "cases:inbox", "cases:whistles", "cases:patrol"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_console_is_scoped_to_the_street(client, town, personas):
    build_case(town, grid="A1-1", title="A街道的路灯")
    build_case(town, grid="B1-1", title="B街道的井盖")
    page = login(client, personas["street_dispatcher"]).get(reverse("cases:queue"))
    assert page.status_code == 200
    assert "A街道的路灯" in page.text and "B街道的井盖" not in page.text
    page = login(client, personas["district_officer"]).get(reverse("cases:queue"))
    assert "A街道的路灯" in page.text and "B街道的井盖" in page.text


def test_console_filters(client, town, personas, desk):
    build_case(town, title="还没派的", channel=Channel.WEB)
    dispatched(town, desk, title="已经派的")
    login(client, personas["district_officer"])
    url = reverse("cases:queue")
    page = client.get(url, {"state": State.DISPATCHED})
    assert [c.title for c in page.context["page_obj"].object_list] == ["已经派的"]
    page = client.get(url, {"channel": Channel.WEB})
    assert [c.title for c in page.context["page_obj"].object_list] == ["还没派的"]
    page = client.get(url, {"unit": desk.unit.pk})
    assert [c.title for c in page.context["page_obj"].object_list] == ["已经派的"]
    page = client.get(url, {"state": "nonsense"})
    assert "state" in page.context["form"].errors


def test_console_shows_open_cases_unless_all_states_are_asked_for(client, town, personas, desk):
    build_case(town, title="还没派的")
    case = dispatched(town, desk, title="已经办结的")
    services.accept_case(case, actor=desk.handler)
    services.resolve_case(case, actor=desk.handler, reply="已处理")
    login(client, personas["district_officer"])
    url = reverse("cases:queue")

    def titles(page):
        return {c.title for c in page.context["page_obj"].object_list}

    assert titles(client.get(url)) == {"还没派的"}
    assert titles(client.get(url, {"q": ""})) == {"还没派的"}
    assert titles(client.get(url, {"state": "all"})) == {"还没派的", "已经办结的"}
    assert titles(client.get(url, {"state": State.RESOLVED})) == {"已经办结的"}
    page = client.get(url)
    assert '<option value="all">' in page.text


def test_roles_without_cases_view_get_404_on_the_console(client, town, personas):
    for name in ("resident", "outsider"):
        assert login(client, personas[name]).get(reverse("cases:queue")).status_code == 404


def test_bulk_dispatch_sends_the_ticked_cases(client, town, personas, desk):
    first = build_case(town, title="一")
    second = build_case(town, title="二")
    untouched = build_case(town, title="三")
    response = login(client, personas["street_dispatcher"]).post(
        reverse("cases:bulk_dispatch"),
        {"cases": [first.pk, second.pk], "unit": desk.unit.pk, "note": "请尽快"},
        follow=True,
    )
    assert response.status_code == 200
    states = dict(Case.objects.values_list("title", "state"))
    assert states == {"一": State.DISPATCHED, "二": State.DISPATCHED, "三": State.RECEIVED}
    assert untouched.lead_unit is None
    assert "2" in response.text


def test_bulk_dispatch_needs_the_dispatch_capability(client, town, personas, desk):
    case = build_case(town)
    response = login(client, personas["hotline_operator"]).post(
        reverse("cases:bulk_dispatch"), {"cases": [case.pk], "unit": desk.unit.pk}
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == State.RECEIVED


def test_duplicates_fragment_lists_visible_candidates(client, town, personas):
    case = build_case(town, title="路灯不亮", description="小区门口路灯坏了")
    twin = build_case(town, title="路灯不亮了", description="小区门口的路灯坏了三天")
    page = login(client, personas["street_dispatcher"]).get(
        reverse("cases:duplicates", args=[case.pk])
    )
    assert twin.number in page.text
    assert "merge-into" in page.text  # dispatchers may merge
    page = login(client, personas["hotline_operator"]).get(
        reverse("cases:duplicates", args=[case.pk])
    )
    assert twin.number in page.text and "merge-into" not in page.text


# --- intake -------------------------------------------------------------------------------------


def test_intake_form_shows_errors_next_to_the_fields(client, town, personas):
    response = login(client, personas["hotline_operator"]).post(
        reverse("cases:intake"), {"kind": "complaint", "channel": "hotline", "urgency": "normal"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "title" in form.errors and "description" in form.errors
    assert 'class="errorlist' in response.text
    assert Case.objects.count() == 0


def test_intake_service_refusal_lands_on_the_field(client, town, personas):
    # No point and no address: the form is fine, intake refuses and names the address.
    response = login(client, personas["hotline_operator"]).post(
        reverse("cases:intake"),
        {
            "kind": "complaint",
            "channel": "hotline",
            "urgency": "normal",
            "title": "噪音",
            "description": "晚上施工太吵",
            "reporter_phone": "12",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "address" in errors and "reporter_phone" in errors
    assert Case.objects.count() == 0


def test_hotline_call_shows_duplicates_and_the_routing_suggestion(
    client, town, personas, desk, leaf
):
    DispatchRule.objects.create(category=leaf, area=town.district, unit=desk.unit)
    earlier = build_case(town, title="门口有人占道摆摊", description="小区门口有小贩占道摆摊")
    lat, lon = Town.centre(town.grids["A1-1"])
    login(client, personas["hotline_operator"])
    page = client.get(reverse("cases:intake"))
    assert page.status_code == 200 and 'name="token"' in page.text
    response = client.post(
        reverse("cases:intake"),
        {
            "token": "a" * 32,
            "kind": "complaint",
            "channel": "hotline",
            "category": leaf.pk,
            "title": "占道摆摊",
            "description": "小区门口有小贩占道摆摊，影响通行",
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "reporter_name": "李四",
            "reporter_phone": PHONE,
            "urgency": "normal",
            "photos": [png()],
        },
    )
    case = Case.objects.exclude(pk=earlier.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:received", args=[case.pk])
    assert case.channel == Channel.HOTLINE and case.grid == town.grids["A1-1"]
    assert case.attachments.count() == 1
    page = client.get(response["Location"])
    assert case.number in page.text
    assert earlier.number in page.text  # the duplicate candidate
    assert desk.unit.name in page.text  # the unit the catalogue names
    assert page.context["dispatch_form"] is None  # an operator may not dispatch
    assert "merge-into" not in page.text
    # The same form sent twice makes one case (the token is the idempotency key).
    client.post(reverse("cases:intake"), response.wsgi_request.POST | {"photos": []})
    assert Case.objects.count() == 2


def test_dispatcher_sees_the_dispatch_form_after_intake(client, town, personas, desk, leaf):
    DispatchRule.objects.create(category=leaf, area=town.district, unit=desk.unit)
    case = build_case(town, category=leaf)
    page = login(client, personas["street_dispatcher"]).get(
        reverse("cases:received", args=[case.pk])
    )
    form = page.context["dispatch_form"]
    assert form is not None and form.initial["unit"] == desk.unit


def test_category_search_by_pinyin_initials(client, town, personas, leaf):
    page = login(client, personas["hotline_operator"]).get(
        reverse("cases:categories"), {"q": "zdjy"}
    )
    assert "占道经营" in page.text and f'data-category-pick="{leaf.pk}"' in page.text
    assert "城市管理 › 市容环境 › 占道经营" in page.text


def test_address_autocomplete_lists_buildings_in_scope(client, town, personas):
    Building.objects.create(
        grid=town.grids["A1-1"], address="金牛路8号1栋", lat=30.605, lon=104.005
    )
    Building.objects.create(grid=town.grids["B1-1"], address="金牛路9号2栋")
    page = login(client, personas["street_dispatcher"]).get(
        reverse("cases:addresses"), {"address": "金牛路"}
    )
    assert "金牛路8号1栋" in page.text and "金牛路9号2栋" not in page.text
    assert 'data-lat="30.605000"' in page.text


def test_where_panel_names_grid_community_street(client, town, personas):
    lat, lon = Town.centre(town.grids["A1-1"])
    page = login(client, personas["hotline_operator"]).get(
        reverse("cases:locate"), {"lat": lat, "lon": lon}
    )
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "第1网格 → A1社区 → A街道" in text


def test_patrol_report_from_a_grid_worker(client, town, personas):
    lat, lon = Town.centre(town.grids["A1-1"])
    login(client, personas["grid_worker"])
    assert client.get(reverse("cases:patrol")).status_code == 200
    response = client.post(
        reverse("cases:patrol"),
        {"description": "井盖缺失\n在路口", "lat": lat, "lon": lon, "urgency": "urgent"},
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert case.channel == Channel.PATROL and case.title == "井盖缺失"
    assert case.grid == town.grids["A1-1"] and case.urgency == "urgent"


def test_patrol_form_wants_both_coordinates(client, town, personas):
    response = login(client, personas["grid_worker"]).post(
        reverse("cases:patrol"), {"description": "井盖缺失", "lat": "30.6", "urgency": "normal"}
    )
    assert response.status_code == 400 and "lon" in response.context["form"].errors


# --- the case page -------------------------------------------------------------------------------


def test_outsiders_get_404_on_every_case_page(client, town, personas, desk):
    case = dispatched(town, desk, grid="A1-1")
    hidden = [
        reverse("cases:detail", args=[case.pk]),
        reverse("cases:print", args=[case.pk]),
        reverse("cases:duplicates", args=[case.pk]),
        reverse("cases:received", args=[case.pk]),
    ]
    for who in ("outsider", "resident"):
        login(client, personas[who])
        for url in hidden:
            assert client.get(url).status_code == 404, (who, url)
        response = client.post(reverse("cases:act", args=[case.pk, "accept"]), {})
        assert response.status_code == 404
    other_street = build_case(town, grid="B1-1")
    login(client, personas["street_dispatcher"])
    assert client.get(reverse("cases:detail", args=[other_street.pk])).status_code == 404


def test_a_unit_never_sees_another_units_case(client, town, desk):
    case = dispatched(town, desk, title="城管的案子")
    login(client, desk.other_handler)
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404
    assert "城管的案子" not in client.get(reverse("cases:inbox")).text
    response = client.post(
        reverse("cases:act", args=[case.pk, "accept"]), {"accept-version": case.version}
    )
    assert response.status_code == 404
    login(client, desk.handler)
    assert "城管的案子" in client.get(reverse("cases:inbox")).text


def test_action_forms_follow_state_capability_and_unit(client, town, personas, desk):
    fresh = build_case(town)
    login(client, personas["street_dispatcher"])
    offered = [
        a["action"] for a in client.get(reverse("cases:detail", args=[fresh.pk])).context["actions"]
    ]
    assert "dispatch" in offered and "accept" not in offered and "resolve" not in offered
    login(client, personas["hotline_operator"])
    offered = [
        a["action"] for a in client.get(reverse("cases:detail", args=[fresh.pk])).context["actions"]
    ]
    assert "dispatch" not in offered and "comment" in offered
    case = dispatched(town, desk)
    login(client, desk.handler)
    offered = [
        a["action"] for a in client.get(reverse("cases:detail", args=[case.pk])).context["actions"]
    ]
    assert "accept" in offered and "return" in offered and "dispatch" not in offered


def test_the_reporter_is_masked_except_for_the_handling_unit(client, town, personas, desk):
    case = dispatched(town, desk)
    page = login(client, personas["street_dispatcher"]).get(reverse("cases:detail", args=[case.pk]))
    assert "138****5678" in page.text and PHONE not in page.text
    page = login(client, desk.handler).get(reverse("cases:detail", args=[case.pk]))
    assert PHONE in page.text
    secret = dispatched(town, desk, anonymous=True)
    page = login(client, desk.handler).get(reverse("cases:detail", args=[secret.pk]))
    assert (
        PHONE not in page.text
        and "138****5678" not in page.text
        and "王" not in page.context["reporter"]["name"]
    )


def test_unit_accepts_resolves_and_the_operator_calls_back(client, town, personas, desk):
    case = dispatched(town, desk)
    login(client, desk.handler)
    inbox = client.get(reverse("cases:inbox"))
    assert case.number in inbox.text and "accept-version" in inbox.text
    response = client.post(
        reverse("cases:act", args=[case.pk, "accept"]),
        {"accept-version": case.version, "next": reverse("cases:inbox")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("cases:inbox")
    case.refresh_from_db()
    assert case.state == State.ACCEPTED
    response = client.post(reverse("cases:act", args=[case.pk, "resolve"]), {"resolve-reply": ""})
    assert response.status_code == 400
    assert (
        "reply"
        in response.context["actions"][
            [a["action"] for a in response.context["actions"]].index("resolve")
        ]["form"].errors
    )
    client.post(reverse("cases:act", args=[case.pk, "resolve"]), {"resolve-reply": "已清理"})
    case.refresh_from_db()
    assert case.state == State.RESOLVED and case.reply == "已清理"

    login(client, personas["hotline_operator"])
    assert case.number in client.get(reverse("cases:callbacks")).text
    client.post(
        reverse("cases:act", args=[case.pk, "callback"]),
        {
            "callback-method": CallbackMethod.PHONE,
            "callback-contacted": "yes",
            "callback-solved": Solved.SOLVED,
            "callback-satisfaction": Satisfaction.SATISFIED,
        },
    )
    case.refresh_from_db()
    assert case.state == State.CALLBACK_DONE
    page = client.get(reverse("cases:detail", args=[case.pk]))
    timeline = [e.action for e in page.context["events"]]
    assert timeline[-3:] == ["accept", "resolve", "callback"]
    assert page.context["callbacks"][0].contacted is True


def test_a_stale_form_says_someone_else_changed_the_case(client, town, desk):
    case = dispatched(town, desk)
    stale = case.version
    services.accept_case(case, actor=desk.handler)
    response = login(client, desk.handler).post(
        reverse("cases:act", args=[case.pk, "accept"]), {"accept-version": stale}
    )
    assert response.status_code == 400
    assert "Reload the page" in response.text or "刷新" in response.text


def test_return_needs_a_reason_and_the_dispatcher_rules(client, town, personas, desk):
    case = dispatched(town, desk)
    login(client, desk.handler)
    response = client.post(
        reverse("cases:act", args=[case.pk, "return"]),
        {"return-reason_code": "wrong_area", "return-reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "return-reason" in response.text and 'class="errorlist' in response.text
    response = client.post(
        reverse("cases:act", args=[case.pk, "return"]),
        {"return-reason_code": "wrong_area", "return-reason": "不在我们辖区"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Redirect"] == reverse("cases:detail", args=[case.pk])
    case.refresh_from_db()
    assert case.state == State.RETURNED
    login(client, personas["street_dispatcher"])
    client.post(
        reverse("cases:act", args=[case.pk, "rule"]),
        {"rule-unit": desk.unit.pk, "rule-note": "属地兜底"},
    )
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.returns_locked


def test_extension_request_and_decision(client, town, personas, desk):
    case = dispatched(town, desk)
    services.accept_case(case, actor=desk.handler)
    case.refresh_from_db()
    login(client, desk.handler)
    response = client.post(
        reverse("cases:act", args=[case.pk, "request_extension"]),
        {"request_extension-reason": "", "request_extension-requested_due_at": "tomorrow"},
    )
    assert response.status_code == 400
    errors = next(a for a in response.context["actions"] if a["action"] == "request_extension")[
        "form"
    ].errors
    assert "reason" in errors and "requested_due_at" in errors
    wanted = (case.resolve_due_at + dt.timedelta(days=3)).astimezone()
    client.post(
        reverse("cases:act", args=[case.pk, "request_extension"]),
        {
            "request_extension-reason": "需要协调物业",
            "request_extension-requested_due_at": wanted.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    extension = Extension.objects.get(case=case)
    assert extension.status == ExtensionStatus.PENDING
    page = login(client, personas["street_dispatcher"]).get(reverse("cases:detail", args=[case.pk]))
    assert page.context["pending_extension"] == extension
    client.post(
        reverse("cases:decide_extension", args=[extension.pk]), {"approve": "1", "note": "同意"}
    )
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED
    # The other unit cannot even find the extension's case.
    response = login(client, desk.other_handler).post(
        reverse("cases:decide_extension", args=[extension.pk]), {"approve": "0"}
    )
    assert response.status_code == 404


def test_supervision_page_and_supervise_action(client, town, personas, desk):
    case = dispatched(town, desk)
    login(client, personas["street_dispatcher"])
    assert client.get(reverse("cases:supervision")).status_code == 200
    client.post(
        reverse("cases:act", args=[case.pk, "supervise"]), {"supervise-reason": "群众反映强烈"}
    )
    case.refresh_from_db()
    assert case.supervised
    assert case.number in client.get(reverse("cases:supervision")).text
    assert login(client, desk.handler).get(reverse("cases:supervision")).status_code == 404


def test_merge_from_the_duplicate_list(client, town, personas):
    keep = build_case(town, title="路灯不亮")
    twin = build_case(town, title="路灯不亮了")
    login(client, personas["street_dispatcher"])
    client.post(
        reverse("cases:act", args=[twin.pk, "merge"]),
        {"merge-into": keep.number, "merge-version": twin.version},
    )
    twin.refresh_from_db()
    assert twin.state == State.MERGED and twin.parent == keep
    response = client.post(reverse("cases:act", args=[keep.pk, "merge"]), {"merge-into": "NOPE"})
    assert response.status_code == 400
    assert (
        "into"
        in next(a for a in response.context["actions"] if a["action"] == "merge")["form"].errors
    )


def test_work_order_prints(client, town, personas, desk):
    case = dispatched(town, desk)
    page = login(client, personas["street_dispatcher"]).get(reverse("cases:print", args=[case.pk]))
    assert page.status_code == 200 and case.number in page.text and "data-print" in page.text


def test_photos_are_served_only_inside_the_scope(client, town, personas, desk):
    from civicgrid.cases import intake

    lat, lon = Town.centre(town.grids["A1-1"])
    case = intake.receive_case(
        actor=personas["hotline_operator"],
        channel=Channel.HOTLINE,
        kind="complaint",
        title="照片",
        description="有照片",
        lat=lat,
        lon=lon,
        attachments=[png()],
    )
    photo = case.attachments.get()
    url = reverse("cases:attachment", args=[case.pk, photo.pk])
    response = login(client, personas["street_dispatcher"]).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert login(client, personas["outsider"]).get(url).status_code == 404


# --- whistles --------------------------------------------------------------------------------------


def test_whistle_summons_and_report_in(client, town, personas, desk):
    case = dispatched(town, desk)
    login(client, personas["street_dispatcher"])
    page = client.get(reverse("cases:whistle_new"), {"case": case.pk})
    assert page.status_code == 200
    response = client.post(
        reverse("cases:whistle_new"),
        {
            "case": case.pk,
            "area": town.streets["A"].pk,
            "reason": "",
            "units": [],
            "limit_minutes": 30,
        },
    )
    assert response.status_code == 400
    assert {"reason", "units"} <= set(response.context["form"].errors)
    response = client.post(
        reverse("cases:whistle_new"),
        {
            "case": case.pk,
            "area": town.streets["A"].pk,
            "site": "金牛路口",
            "reason": "占道问题需要多部门",
            "units": [desk.unit.pk],
            "limit_minutes": 30,
        },
    )
    assert response.status_code == 302
    whistle_url = response["Location"]
    summons = case.whistles.get().summonses.get()
    # The summoned unit reports in; another unit serving the area sees the whistle, has no
    # button and is refused; a unit elsewhere does not see the whistle at all.
    page = login(client, desk.other_handler).get(whistle_url)
    assert page.status_code == 200
    assert reverse("cases:report_in", args=[summons.pk]) not in page.text
    response = client.post(reverse("cases:report_in", args=[summons.pk]))
    assert response.status_code == 403
    far = unit_handler(build_unit("远方单位", areas=[town.grids["B2-2"]]))
    assert login(client, far).get(whistle_url).status_code == 404
    page = login(client, desk.handler).get(whistle_url)
    assert page.status_code == 200 and reverse("cases:report_in", args=[summons.pk]) in page.text
    client.post(reverse("cases:report_in", args=[summons.pk]))
    summons.refresh_from_db()
    assert summons.status == SummonsStatus.REPORTED
    assert "金牛路口" in client.get(reverse("cases:whistles")).text


def test_whistle_needs_the_capability(client, town, personas):
    assert (
        login(client, personas["grid_worker"]).get(reverse("cases:whistle_new")).status_code == 404
    )


# --- notifications -----------------------------------------------------------------------------------


def test_notifications_badge_list_and_mark_read(
    client, town, desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = dispatched(town, desk)
    login(client, desk.handler)
    unread = Notification.objects.filter(recipient=desk.handler, read_at=None, channel="in_app")
    count = unread.count()
    assert count >= 1
    assert client.get(reverse("cases:notifications_badge")).text == str(count)
    page = client.get(reverse("cases:notifications"))
    assert case.number in page.text
    item = unread.first()
    response = client.post(reverse("cases:notification_read", args=[item.pk]), {"open": "1"})
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    item.refresh_from_db()
    assert item.read_at is not None
    # Someone else's message is not there to mark.
    assert (
        login(client, desk.other_handler)
        .post(reverse("cases:notification_read", args=[item.pk]))
        .status_code
        == 404
    )


# --- the public pages ---------------------------------------------------------------------------------


def test_resident_submits_tracks_and_rates_without_login(client, town, desk, leaf):
    lat, lon = Town.centre(town.grids["A1-1"])
    assert client.get(reverse("public:report")).status_code == 200
    response = client.post(
        reverse("public:report"), {"kind": "help", "title": "", "reporter_phone": "123"}
    )
    assert response.status_code == 400
    assert {"title", "description", "reporter_phone"} <= set(response.context["form"].errors)
    response = client.post(
        reverse("public:report"),
        {
            "kind": "help",
            "category": leaf.pk,
            "title": "楼下有人摆摊",
            "description": "每天晚上占道",
            "lat": lat,
            "lon": lon,
            "reporter_name": "赵六",
            "reporter_phone": PHONE,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == Channel.WEB and case.reporter is None
    page = client.get(response["Location"])
    assert case.number in page.text

    wrong = client.get(reverse("public:track"), {"number": case.number, "phone": "13900000000"})
    assert wrong.context["case"] is None and wrong.context["form"].non_field_errors()
    services.dispatch_case(case, desk.unit, actor=None)
    services.accept_case(case, actor=desk.handler)
    services.resolve_case(case, actor=desk.handler, reply="已劝离")
    page = client.get(reverse("public:track"), {"number": case.number, "phone": PHONE})
    assert page.context["case"] == case and page.context["may_rate"]
    assert "已劝离" in page.text
    assert desk.handler.username not in page.text  # no staff names on the public timeline
    response = client.post(
        reverse("public:rate"),
        {
            "number": case.number,
            "phone": PHONE,
            "solved": Solved.SOLVED,
            "satisfaction": Satisfaction.SATISFIED,
            "contacted": "on",
        },
    )
    assert response.status_code == 302
    callback = Callback.objects.get(case=case)
    assert callback.method == CallbackMethod.WEB and callback.by is None
    # Rating needs the phone too.
    response = client.post(
        reverse("public:rate"),
        {
            "number": case.number,
            "phone": "13900000000",
            "solved": "solved",
            "satisfaction": "satisfied",
        },
    )
    assert response.status_code == 404
    assert Callback.objects.count() == 1


def test_public_board_shows_no_personal_data(client, town, desk, leaf):
    case = dispatched(
        town, desk, title="王小明家门口漏水", category=leaf, address="金牛路8号1栋2单元301"
    )
    services.accept_case(case, actor=desk.handler)
    services.resolve_case(case, actor=desk.handler, reply="已更换水管")
    page = client.get(reverse("public:board"))
    assert page.status_code == 200
    assert "已更换水管" in page.text and "占道经营" in page.text and "A街道" in page.text
    for secret in ("王小明", PHONE, "138****5678", "金牛路8号", case.number):
        assert secret not in page.text
    page = client.get(reverse("public:board"), {"area": town.streets["B"].pk})
    assert "已更换水管" not in page.text


def test_due_filter_picks_near_due_and_overdue(client, town, personas):
    build_case(town, title="还早", deadline_status="on_time")
    build_case(town, title="快到期", deadline_status="near_due")
    build_case(town, title="已超期", deadline_status="overdue")
    login(client, personas["street_dispatcher"])
    page = client.get(reverse("cases:queue"), {"due": "overdue"})
    assert [c.title for c in page.context["page_obj"].object_list] == ["已超期"]
    assert "deadline-overdue" in page.text
    page = client.get(reverse("cases:queue"), {"due": "near_due"})
    assert [c.title for c in page.context["page_obj"].object_list] == ["快到期"]


def test_co_handler_replies_from_its_inbox(client, town, personas, desk):
    case = build_case(town, reporter_phone=PHONE)
    services.dispatch_case(case, desk.unit, actor=None, co_units=[desk.other_unit])
    services.accept_case(case, actor=desk.handler)
    login(client, desk.other_handler)
    assert case.number in client.get(reverse("cases:inbox")).text
    page = client.get(reverse("cases:detail", args=[case.pk]))
    offered = [a["action"] for a in page.context["actions"]]
    assert "co_handler_reply" in offered and "resolve" not in offered
    client.post(
        reverse("cases:act", args=[case.pk, "co_handler_reply"]),
        {"co_handler_reply-reply": "已配合清理管道"},
    )
    handler = case.handlers.get(unit=desk.other_unit)
    assert handler.reply == "已配合清理管道"
    assert "已配合清理管道" in client.get(reverse("cases:detail", args=[case.pk])).text
