"""The GeoReport v2 endpoints through Django's test client: every endpoint in both formats,
the liberal readings real clients need, and bad input answered in the standard error body
with no case written."""

from __future__ import annotations

import datetime as dt
import json
from xml.etree import ElementTree

import pytest

from civicgrid.cases.choices import Action, Channel
from civicgrid.cases.models import Case, CaseEvent
from tests.builders import Town

BASE = "/open311/v2"


def post(client, fmt: str = "json", query: str = "", **fields):
    return client.post(f"{BASE}/requests.{fmt}{query}", fields)


def good_fields(town, key: str, **extra) -> dict:
    lat, lon = Town.centre(town.grids["A1-1"])
    fields = {
        "api_key": key,
        "service_code": "01037",
        "lat": str(lat),
        "long": str(lon),
        "description": "路灯不亮，晚上很黑",
    }
    fields.update(extra)
    return fields


def errors_of(response) -> list[dict]:
    if response["Content-Type"].startswith("application/json"):
        return response.json()
    root = ElementTree.fromstring(response.content)
    assert root.tag == "errors"
    return [
        {"code": e.findtext("code"), "description": e.findtext("description")}
        for e in root.findall("error")
    ]


def test_discovery_in_both_formats(client, db):
    body = client.get(f"{BASE}/discovery.json").json()
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert "application/json" in endpoint["formats"]
    root = ElementTree.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert root.tag == "discovery"
    assert root.find("endpoints/endpoint/formats/format").text == "text/xml"


def test_services_are_the_leaf_categories(client, tree):
    rows = client.get(f"{BASE}/services.json").json()
    assert [r["service_code"] for r in rows] == ["01002", "01037", "06001"]
    manhole = rows[0]
    assert manhole["service_name"] == "污水井盖"
    assert manhole["group"] == "城市管理"
    assert manhole["description"] == "城市管理 > 市政设施 > 污水井盖"
    assert manhole["keywords"] == "井盖, 窨井, 污水井"
    assert manhole["metadata"] is True and rows[2]["metadata"] is False
    assert manhole["type"] == "realtime"


def test_services_default_to_xml(client, tree):
    response = client.get(f"{BASE}/services")
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == [
        "01002",
        "01037",
        "06001",
    ]
    assert root.find("service/metadata").text == "true"


def test_service_definition_plural_and_singular_paths(client, tree):
    body = client.get(f"{BASE}/services/01002.json").json()
    assert body["service_code"] == "01002"
    condition = body["attributes"][0]
    assert condition["code"] == "condition" and condition["required"] is True
    assert condition["datatype"] == "singlevaluelist"
    assert {"key": "missing", "name": "缺失"} in condition["values"]
    root = ElementTree.fromstring(client.get(f"{BASE}/service/01002.xml").content)
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/values/value/key").text == "missing"
    empty = client.get(f"{BASE}/services/06001.json").json()
    assert empty == {"service_code": "06001", "attributes": []}


def test_unknown_service_definition_is_404(client, tree):
    response = client.get(f"{BASE}/services/99999.xml")
    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == "404"


def test_post_makes_a_routed_partner_case(client, town, tree, partner):
    system, key = partner
    response = post(client, **good_fields(town, key, first_name="三", last_name="张"))
    assert response.status_code == 201, response.content
    row = response.json()[0]
    case = Case.objects.get(number=row["service_request_id"])
    assert row["token"] == case.idempotency_key
    assert case.channel == Channel.PARTNER
    assert case.category == tree["lamp"]
    assert case.grid == town.grids["A1-1"]
    assert case.reporter_name == "三 张"
    receive = case.events.get(action=Action.RECEIVE)
    assert receive.actor == system.user
    assert receive.data["extra"] == {"partner": "随手拍 App"}
    # The token resolves through intake's idempotency key.
    assert client.get(f"{BASE}/tokens/{row['token']}.json").json() == [
        {"service_request_id": case.number, "token": row["token"]}
    ]


def test_attributes_are_checked_and_kept(client, town, tree, partner):
    _system, key = partner
    fields = good_fields(town, key, service_code="01002")
    missing = post(client, **fields)
    assert missing.status_code == 400
    assert "attribute[condition]" in errors_of(missing)[0]["description"]
    wrong = post(client, **fields, **{"attribute[condition]": "stolen"})
    assert wrong.status_code == 400
    unknown = post(client, **fields, **{"attribute[condition]": "missing", "attribute[x]": "1"})
    assert unknown.status_code == 400
    assert not Case.objects.exists()
    ok = post(
        client,
        **fields,
        **{"attribute[condition]": "broken", "attribute[traffic][]": "road"},
        media_url="https://example.org/p.jpg",
    )
    assert ok.status_code == 201, ok.content
    extra = CaseEvent.objects.get(action=Action.RECEIVE).data["extra"]
    assert extra["attributes"] == {"condition": "broken", "traffic": "road"}
    assert extra["media_url"] == "https://example.org/p.jpg"
    # The units read the answers on the case page; clients get the description they sent.
    case = Case.objects.get()
    assert case.description.endswith(
        "\n\n[Open311]\n井盖现在的状况：破损\n是否在车行道上：车行道\n图片：https://example.org/p.jpg"
    )
    row = client.get(f"{BASE}/requests/{case.number}.json").json()[0]
    assert row["description"] == "路灯不亮，晚上很黑"
    too_long = post(
        client,
        **{**fields, "description": "很" * 3990},
        **{"attribute[condition]": "broken"},
    )
    assert too_long.status_code == 400
    assert errors_of(too_long)[0]["description"].startswith("description:")
    assert Case.objects.count() == 1


def test_a_request_reads_back_without_personal_data(client, town, tree, partner):
    _system, key = partner
    created = post(
        client,
        **good_fields(town, key, first_name="三", last_name="张", phone="13812345678"),
        email="zhang@example.org",
        media_url="https://example.org/lamp.jpg",
    ).json()[0]
    number = created["service_request_id"]
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests/{number}.{fmt}")
        assert response.status_code == 200
        text = response.content.decode()
        for secret in ("13812345678", "zhang@example.org", "张"):
            assert secret not in text
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert row["service_request_id"] == number
    assert row["status"] == "open"
    assert row["status_notes"] == "已受理"  # in Chinese whatever the client's language
    assert row["service_code"] == "01037" and row["service_name"] == "路灯"
    assert row["media_url"] == "https://example.org/lamp.jpg"
    assert row["requested_datetime"].endswith("+08:00")
    assert row["description"] == "路灯不亮，晚上很黑"
    listed = client.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [number]
    root = ElementTree.fromstring(client.get(f"{BASE}/requests.xml").content)
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == number


def test_request_list_filters(client, town, tree, partner):
    _system, key = partner
    first = post(client, **good_fields(town, key)).json()[0]["service_request_id"]
    post(client, **good_fields(town, key, service_code="06001"))
    by_code = client.get(f"{BASE}/requests.json?service_code=06001").json()
    assert [r["service_code"] for r in by_code] == ["06001"]
    by_id = client.get(f"{BASE}/requests.json?service_request_id={first},nope").json()
    assert [r["service_request_id"] for r in by_id] == [first]
    assert client.get(f"{BASE}/requests.json?status=closed").json() == []
    assert len(client.get(f"{BASE}/requests.json?status=open,closed").json()) == 2
    old = client.get(f"{BASE}/requests.json?start_date=2020-01-01&end_date=2020-02-01").json()
    assert old == []
    too_long = client.get(f"{BASE}/requests.json?start_date=2020-01-01&end_date=2020-06-01")
    assert too_long.status_code == 400
    assert client.get(f"{BASE}/requests.json?status=pending").status_code == 400
    assert client.get(f"{BASE}/requests.json?start_date=yesterday").status_code == 400


def test_cases_from_other_channels_are_not_served(client, town, tree, partner):
    from civicgrid.cases.tests.builders import build_case

    other = build_case(town, channel=Channel.HOTLINE)
    assert client.get(f"{BASE}/requests/{other.number}.json").status_code == 404
    assert client.get(f"{BASE}/requests.json").json() == []


def test_empty_jurisdiction_counts_as_absent_and_api_key_may_be_in_the_query(
    client, town, tree, partner
):
    _system, key = partner
    fields = good_fields(town, key)
    del fields["api_key"]
    fields["jurisdiction_id"] = ""
    response = post(client, "xml", f"?jurisdiction_id=&api_key={key}", **fields)
    assert response.status_code == 201, response.content
    root = ElementTree.fromstring(response.content)
    assert root.find("request/service_request_id").text


def test_jurisdiction_id_narrows_and_is_checked(client, town, tree, partner):
    _system, key = partner
    post(client, **good_fields(town, key))
    street_b = town.streets["B"].code
    assert client.get(f"{BASE}/requests.json?jurisdiction_id={street_b}").json() == []
    assert len(client.get(f"{BASE}/requests.json?jurisdiction_id=510199").json()) == 1
    assert client.get(f"{BASE}/requests.json?jurisdiction_id=nowhere").status_code == 404


# --- bad input: the standard error, no case ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"service_code": "99999"}, 400, "service_code"),
        ({"service_code": ""}, 400, "service_code"),
        ({"lat": "", "long": ""}, 400, "lat"),
        ({"lat": "thirty", "long": "104"}, 400, "lat"),
        ({"lat": "30.6", "long": "1e999"}, 400, "long"),
        ({"lat": "nan", "long": "104"}, 400, "lat"),
        ({"lat": "30.6"}, 400, "long"),
        ({"description": "很" * 5000}, 400, "description"),
        ({"api_key": "o311_not-a-key"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"phone": "12"}, 400, "phone"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        (
            {
                "description": '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
            },
            400,
            "description",
        ),
        (
            {"address_string": '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>&x;'},
            400,
            "address_string",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_input_gets_the_standard_error_and_no_case(
    client, town, tree, partner, change, status, field, fmt
):
    _system, key = partner
    fields = good_fields(town, key)
    if "lat" in change and "long" not in change:
        del fields["long"]
    fields.update(change)
    response = post(client, fmt, **fields)
    assert response.status_code == status, response.content
    errors = errors_of(response)
    assert errors[0]["code"] == str(status) if fmt == "xml" else errors[0]["code"] == status
    assert any(e["description"].startswith(f"{field}:") for e in errors), errors
    assert not Case.objects.exists()


def test_an_xml_body_is_refused_unparsed(client, town, tree, partner):
    _system, key = partner
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol9 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<service_request><service_code>01037</service_code></service_request>"
    )
    response = client.post(
        f"{BASE}/requests.xml?api_key={key}", bomb, content_type="application/xml"
    )
    assert response.status_code == 400
    assert "application/x-www-form-urlencoded" in errors_of(response)[0]["description"]
    assert not Case.objects.exists()


def test_a_point_in_another_jurisdictions_grid_is_refused(client, town, tree):
    from civicgrid.open311 import partners

    _system, key = partners.register_partner(name="A 街道小程序", jurisdiction=town.streets["A"])
    lat, lon = Town.centre(town.grids["B1-1"])
    response = post(client, **good_fields(town, key, lat=str(lat), long=str(lon)))
    assert response.status_code == 400
    assert errors_of(response)[0]["description"].startswith("lat:")
    assert not Case.objects.exists()


def test_a_switched_off_partner_is_refused(client, town, tree, partner):
    from civicgrid.open311 import partners

    system, key = partner
    partners.update_partner(system, rate_limit_per_minute=10, is_active=False)
    response = post(client, **good_fields(town, key))
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_the_rate_limit_answers_429(client, town, tree, settings):
    from django.core.cache import cache

    from civicgrid.open311 import partners

    cache.clear()
    _system, key = partners.register_partner(
        name="小程序", jurisdiction=town.district, rate_limit_per_minute=2
    )
    answers = [post(client, **good_fields(town, key)).status_code for _ in range(3)]
    assert answers == [201, 201, 429]
    response = client.get(f"{BASE}/requests.json?api_key={key}")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert json.loads(response.content)[0]["code"] == 429
    assert Case.objects.count() == 2


def test_unknown_paths_and_methods(client, db):
    response = client.get(f"{BASE}/nothing.json")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
    assert client.delete(f"{BASE}/services.json").status_code == 405
    unknown_token = client.get(f"{BASE}/tokens/o311-{'0' * 32}.json")
    assert unknown_token.status_code == 404


def test_markup_in_a_case_is_escaped_in_xml(client, town, tree, partner):
    _system, key = partner
    text = "</description><status>closed</status> & <b>"
    number = post(client, **good_fields(town, key, description=text)).json()[0][
        "service_request_id"
    ]
    root = ElementTree.fromstring(client.get(f"{BASE}/requests/{number}.xml").content)
    assert root.find("request/description").text == text
    assert root.find("request/status").text == "open"


def test_status_follows_the_case_loop(client, town, tree, partner, personas):
    from civicgrid.cases import services as case_services
    from civicgrid.cases.tests.builders import build_preset, build_unit, unit_handler

    build_preset("jinniu")  # time limits, so the case has a resolve-by time
    _system, key = partner
    number = post(client, **good_fields(town, key)).json()[0]["service_request_id"]
    case = Case.objects.get(number=number)
    unit = build_unit("金牛区城市管理局", areas=[town.district])
    handler = unit_handler(unit)
    case_services.dispatch_case(case, unit, actor=personas["street_dispatcher"])
    case_services.accept_case(case, actor=handler)
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert (row["status"], row["status_notes"]) == ("open", "办理中")
    assert row["agency_responsible"] == "金牛区城市管理局"
    case.refresh_from_db()
    expected = dt.datetime.fromisoformat(row["expected_datetime"])
    assert expected == case.resolve_due_at.replace(microsecond=0)
    case_services.resolve_case(case, actor=handler, reply="已修复路灯")
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert (row["status"], row["status_notes"]) == ("closed", "已办结：已修复路灯")
    updated = dt.datetime.fromisoformat(row["updated_datetime"])
    assert updated >= dt.datetime.fromisoformat(row["requested_datetime"])
    assert client.get(f"{BASE}/requests.json?status=open").json() == []
    closed = client.get(f"{BASE}/requests.xml?status=closed")
    root = ElementTree.fromstring(closed.content)
    assert root.find("request/status").text == "closed"


def test_only_active_leaves_are_services(client, town, tree, partner):
    _system, key = partner
    tree["stall"].is_active = False
    tree["stall"].save()
    looks = tree["stall"].parent
    # A category whose children are all switched off is a leaf now, as intake sees it.
    assert [r["service_code"] for r in client.get(f"{BASE}/services.json").json()] == [
        "01002",
        "01037",
        looks.code,
    ]
    for code in ("06001", tree["top"].code):
        assert client.get(f"{BASE}/services/{code}.json").status_code == 404
        response = post(client, **good_fields(town, key, service_code=code))
        assert response.status_code == 400
    facilities = tree["lamp"].parent
    facilities.is_active = False
    facilities.save()
    assert [r["service_code"] for r in client.get(f"{BASE}/services.json").json()] == [looks.code]
    assert client.get(f"{BASE}/services/01037.json").status_code == 404
    assert post(client, **good_fields(town, key)).status_code == 400
    assert not Case.objects.exists()


def test_a_partner_whose_service_user_lost_its_role_is_refused(client, town, tree, partner):
    system, key = partner
    system.user.role_assignments.all().delete()
    response = post(client, **good_fields(town, key))
    assert response.status_code == 403, response.content
    assert not Case.objects.exists()


def test_an_empty_body_field_does_not_hide_the_query_string(client, town, tree, partner):
    _system, key = partner
    fields = good_fields(town, key, api_key="", jurisdiction_id="")
    response = post(client, "json", f"?api_key={key}&jurisdiction_id=510199", **fields)
    assert response.status_code == 201, response.content


def test_an_address_outside_the_jurisdiction_is_refused(client, town, tree):
    from civicgrid.areas import locator
    from civicgrid.open311 import partners
    from civicgrid.registry.models import Building

    Building.objects.create(grid=town.grids["A1-1"], address="锦江路8号3栋")
    Building.objects.create(grid=town.grids["B1-1"], address="青羊路1号")
    locator.invalidate()
    _system, key = partners.register_partner(
        name="A街道小程序", jurisdiction=town.streets["A"], rate_limit_per_minute=100
    )
    fields = good_fields(town, key, address_string="青羊路1号门口")
    del fields["lat"], fields["long"]
    response = post(client, **fields)
    assert response.status_code == 400
    assert "address_string" in response.json()[0]["description"]
    assert not Case.objects.exists()

    fields["address_string"] = "锦江路8号3栋楼下"
    assert post(client, **fields).status_code == 201
    assert Case.objects.get().grid == town.grids["A1-1"]
