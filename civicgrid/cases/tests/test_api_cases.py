"""The cases API: intake with idempotency, the scoped queue and detail, workflow actions with
409 for conflicts, duplicates, category search, whistles."""

from __future__ import annotations

import pytest
from django.test import Client

from civicgrid.accounts.choices import Role
from civicgrid.cases.choices import State
from civicgrid.cases.models import Case, DispatchRule
from civicgrid.cases.tests.builders import build_case, build_category, build_unit, unit_handler
from tests.builders import build_user

API = "/api/v1"
pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def leaf(town):
    return build_category("占道经营", parent=build_category("市容环境"))


def payload(town, **overrides) -> dict:
    lat, lon = town.centre(town.grids["A1-1"])
    body = {
        "channel": "hotline",
        "kind": "complaint",
        "title": "占道经营",
        "description": "菜市场门口每天早上有人摆摊。",
        "lat": lat,
        "lon": lon,
        "reporter_name": "王小明",
        "reporter_phone": "13812345678",
    }
    body.update(overrides)
    return body


def post(client, url, body=None, **headers):
    # Messages are asserted in English; pages default to Chinese (LocaleMiddleware).
    headers.setdefault("Accept-Language", "en")
    return client.post(url, body or {}, content_type="application/json", headers=headers)


def test_intake_answers_201_then_200_for_a_retry(town, personas, leaf):
    unit = build_unit("城管", areas=[town.streets["A"]])
    DispatchRule.objects.create(category=leaf, area=town.district, unit=unit)
    client = as_user(personas["hotline_operator"])
    body = payload(town, category=leaf.pk)
    first = post(client, f"{API}/cases", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.content
    created = first.json()
    assert created["grid"]["id"] == town.grids["A1-1"].pk
    assert created["state"] == "received"
    assert created["candidates"] == {
        "units": [{"id": unit.pk, "code": unit.code, "name": "城管"}],
        "ambiguous": False,
        "auto": False,
    }
    assert created["reporter"]["phone"] == "138****5678"
    again = post(client, f"{API}/cases", body, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.json()["id"] == created["id"]
    conflict = post(client, f"{API}/cases", {**body, "title": "别的"}, **{"Idempotency-Key": "k-1"})
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["field"] == "idempotency_key"
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"lat": None, "lon": None}, "address"),
        ({"description": "长" * 4001}, "description"),
        ({"category": 987654}, "category"),
        ({"lat": 123.0}, "lat"),
    ],
)
def test_bad_intake_is_a_field_error_and_writes_nothing(town, personas, overrides, field):
    response = post(
        as_user(personas["hotline_operator"]), f"{API}/cases", payload(town, **overrides)
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Case.objects.count() == 0


def test_a_resident_may_report_on_the_web_but_not_as_the_hotline(town, personas):
    resident = as_user(personas["resident"])
    assert post(resident, f"{API}/cases", payload(town)).status_code == 403
    response = post(resident, f"{API}/cases", payload(town, channel="web"))
    assert response.status_code == 201
    assert response.json()["reporter"]["phone"] == "13812345678"  # their own


def test_units_see_only_their_own_cases(town, personas):
    mine, theirs = build_unit("城管"), build_unit("水务")
    handler = unit_handler(mine, "handler")
    own = build_case(town, state=State.DISPATCHED, lead_unit=mine, reporter_phone="13900001111")
    other = build_case(town, state=State.DISPATCHED, lead_unit=theirs)
    client = as_user(handler)
    listed = client.get(f"{API}/cases").json()
    assert [c["id"] for c in listed["items"]] == [own.pk]
    assert client.get(f"{API}/cases/{other.pk}").status_code == 404
    detail = client.get(f"{API}/cases/{own.pk}").json()
    assert detail["reporter"]["phone"] == "13900001111"  # the unit must call back
    assert client.get(f"{API}/cases/inbox").json()["count"] == 1


def test_anonymous_reporters_are_hidden_from_units(town, personas):
    unit = build_unit("城管")
    case = build_case(
        town,
        state=State.DISPATCHED,
        lead_unit=unit,
        anonymous=True,
        reporter_name="李四",
        reporter_phone="13900002222",
    )
    reporter = as_user(unit_handler(unit)).get(f"{API}/cases/{case.pk}").json()["reporter"]
    assert (reporter["name"], reporter["phone"], reporter["anonymous"]) == ("", "", True)
    staff = as_user(personas["street_dispatcher"]).get(f"{API}/cases/{case.pk}").json()
    assert staff["reporter"]["phone"] == "139****2222"


def test_residents_see_their_own_cases_and_outsiders_nothing(town, personas):
    resident = personas["resident"]
    own = build_case(town, reporter=resident)
    other = build_case(town)
    client = as_user(resident)
    assert [c["id"] for c in client.get(f"{API}/cases").json()["items"]] == [own.pk]
    assert client.get(f"{API}/cases/{other.pk}").status_code == 404
    outsider = as_user(personas["outsider"])
    assert outsider.get(f"{API}/cases").json()["count"] == 0
    assert outsider.get(f"{API}/cases/{own.pk}").status_code == 404
    assert post(outsider, f"{API}/cases/{own.pk}/comment", {"text": "hi"}).status_code == 404
    assert Client().get(f"{API}/cases").status_code == 401


def test_queue_filters(town, personas, leaf):
    build_case(town, grid="A1-1", category=leaf, title="占道")
    build_case(town, grid="B1-1", title="噪声")
    client = as_user(personas["district_officer"])
    assert client.get(f"{API}/cases").json()["count"] == 2
    by_area = client.get(f"{API}/cases", {"area": town.streets["B"].pk}).json()
    assert [c["title"] for c in by_area["items"]] == ["噪声"]
    by_category = client.get(f"{API}/cases", {"category": leaf.parent_id}).json()
    assert [c["title"] for c in by_category["items"]] == ["占道"]
    assert client.get(f"{API}/cases", {"q": "噪声"}).json()["count"] == 1
    assert client.get(f"{API}/cases", {"state": "closed"}).json()["count"] == 0
    hidden = as_user(personas["community_worker"]).get(
        f"{API}/cases", {"area": town.streets["B"].pk}
    )
    assert hidden.status_code == 404


def test_dispatch_accept_and_conflicts(town, personas):
    unit = build_unit("城管", areas=[town.streets["A"]])
    handler = as_user(unit_handler(unit))
    dispatcher = as_user(personas["street_dispatcher"])
    case = build_case(town)
    done = post(dispatcher, f"{API}/cases/{case.pk}/dispatch", {"unit": unit.pk})
    assert done.status_code == 200, done.content
    detail = done.json()
    assert detail["state"] == "dispatched"
    assert detail["lead_unit"]["id"] == unit.pk
    assert [h["role"] for h in detail["handlers"]] == ["lead"]
    assert [e["action"] for e in detail["timeline"]] == ["dispatch"]
    stale = post(handler, f"{API}/cases/{case.pk}/accept", {"expected_version": 0})
    assert stale.status_code == 409
    accepted = post(handler, f"{API}/cases/{case.pk}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    twice = post(handler, f"{API}/cases/{case.pk}/accept")
    assert twice.status_code == 409
    # The message names the action, in the request's language (zh-hans unless asked otherwise).
    assert any(word in twice.json()["detail"] for word in ("签收", "Accept"))
    refused = post(handler, f"{API}/cases/{case.pk}/dispatch", {"unit": unit.pk})
    assert refused.status_code in (403, 409)
    unknown = post(dispatcher, f"{API}/cases/{case.pk}/reassign", {"unit": 99999, "note": "x"})
    assert unknown.status_code == 422


def test_resolve_callback_and_close_through_the_api(town, personas):
    unit = build_unit("城管")
    handler = as_user(unit_handler(unit))
    case = build_case(town, state=State.ACCEPTED, lead_unit=unit)
    resolved = post(handler, f"{API}/cases/{case.pk}/resolve", {"reply": "已清理摊位。"})
    assert resolved.status_code == 200, resolved.content
    operator = as_user(personas["hotline_operator"])
    answer = {"method": "phone", "contacted": True, "solved": "solved", "satisfaction": "satisfied"}
    assert post(operator, f"{API}/cases/{case.pk}/callback", answer).status_code == 200
    closed = post(as_user(personas["street_dispatcher"]), f"{API}/cases/{case.pk}/close")
    assert closed.json()["state"] == "closed"
    assert closed.json()["callbacks"][0]["satisfaction"] == "satisfied"


def test_duplicates_endpoint_shows_only_visible_candidates(town, personas):
    case = build_case(town, title="路灯不亮", description="路灯坏了")
    twin = build_case(town, title="路灯不亮", description="路灯坏了三天")
    unit = build_unit("路灯所")
    hidden_twin = build_case(town, title="路灯不亮", state=State.DISPATCHED, lead_unit=unit)
    body = as_user(personas["street_dispatcher"]).get(f"{API}/cases/{case.pk}/duplicates").json()
    assert {c["case"]["id"] for c in body} == {twin.pk, hidden_twin.pk}
    assert body[0]["reasons"]
    handler_case = build_case(town, title="路灯不亮", state=State.DISPATCHED, lead_unit=unit)
    seen = as_user(unit_handler(unit)).get(f"{API}/cases/{handler_case.pk}/duplicates").json()
    assert {c["case"]["id"] for c in seen} == {hidden_twin.pk}


def test_category_search(town, personas, leaf):
    body = as_user(personas["hotline_operator"]).get(f"{API}/categories", {"q": "占道"}).json()
    assert body[0]["id"] == leaf.pk
    assert body[0]["path"].endswith("占道经营")


def test_whistle_and_report_in(town, personas):
    unit = build_unit("城管")
    client = as_user(personas["street_dispatcher"])
    body = {"area": town.communities["A1"].pk, "units": [unit.pk], "reason": "违建协调"}
    blown = post(client, f"{API}/whistles", body)
    assert blown.status_code == 201, blown.content
    summons = blown.json()["summonses"][0]
    outsider = as_user(build_user("nobody", role=Role.DEPARTMENT_HANDLER, unit=build_unit("别处")))
    assert post(outsider, f"{API}/summonses/{summons['id']}/report-in").status_code == 404
    reported = post(as_user(unit_handler(unit)), f"{API}/summonses/{summons['id']}/report-in")
    assert reported.status_code == 200, reported.content
    assert reported.json()["summonses"][0]["reported_at"] is not None


def test_openapi_lists_the_case_endpoints(db):
    schema = Client().get(f"{API}/openapi.json").json()
    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}/dispatch", "/api/v1/public/track"):
        assert path in schema["paths"]
