"""Real clients against a running server (pytest-django's live_server).

- `georeport` (PyPI 0.3.1, Python 3): lists services, gets a definition, lists and gets
  requests, in JSON and in XML. It never POSTs, so the requests are posted with urllib.
- `open311` (PyPI 1.1) is Python 2 only, so its requests are replayed byte for byte as its
  source builds them (open311/open311.py with the Python-API-Template `call_api`):
  `base + '/' + path + '?' + urlencode(kwargs)` with `jurisdiction_id` always present (empty
  when not configured), `services.xml` whatever the format, the singular `service/{code}`,
  and the POST's api_key and jurisdiction_id in the query string with the fields form-encoded
  in the body (urllib2's default content type).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import pytest
from georeport import GeoReport

from civicgrid.cases.models import Case
from tests.builders import Town


def _post(url: str, fields: dict) -> bytes:
    body = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(url, body, timeout=30) as response:  # noqa: S310 (test server)
        assert response.status == 201
        return response.read()


@pytest.fixture
def served(live_server, town, tree, partner) -> dict:
    """The live server's Open311 root and two requests posted to it."""
    _system, key = partner
    root = f"{live_server.url}/open311/v2"
    numbers = []
    for code, grid in (("01037", "A1-1"), ("06001", "B1-2")):
        lat, lon = Town.centre(town.grids[grid])
        body = _post(
            f"{root}/requests.json",
            {
                "api_key": key,
                "service_code": code,
                "lat": lat,
                "long": lon,
                "description": f"测试 {code}",
                "phone": "13812345678",
            },
        )
        numbers.append(json.loads(body)[0]["service_request_id"])
    return {"root": root, "key": key, "numbers": numbers}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_lists_and_reads(served, fmt):
    client = GeoReport(served["root"], output_format=fmt)

    services = client.get_service_list()
    assert [s["service_code"] for s in services] == ["01002", "01037", "06001"]
    assert services[1]["service_name"] == "路灯"
    assert services[0]["group"] == "城市管理"
    assert str(services[0]["metadata"]).lower() == "true"

    definition = client.get_service_definition("01002")
    assert definition["service_code"] == "01002"
    attributes = definition["attributes"]
    first = attributes[0] if fmt == "json" else attributes["attribute"][0]
    assert first["code"] == "condition"

    listed = client.get_service_requests()
    assert sorted(r["service_request_id"] for r in listed) == sorted(served["numbers"])
    only = client.get_service_requests(service_code="06001")
    if fmt == "xml":  # xmltodict gives one element as a dict, several as a list
        only = [only]
    assert [r["service_code"] for r in only] == ["06001"]

    one = client.get_service_request(served["numbers"][0])
    assert one["service_request_id"] == served["numbers"][0]
    assert one["status"] == "open"
    assert one["service_code"] == "01037"
    assert "13812345678" not in json.dumps(one)


def test_georeport_client_raises_on_a_missing_request(served):
    import requests

    client = GeoReport(served["root"])
    with pytest.raises(requests.HTTPError):
        client.get_service_request("1")


def _get(url: str) -> ElementTree.Element:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (test server)
        assert response.status == 200
        return ElementTree.fromstring(response.read())


def test_open311_1_1_client_requests_replayed(live_server, town, tree, partner):
    _system, key = partner
    endpoint = f"{live_server.url}/open311/v2"

    # service_list(): call_api('services.xml', jurisdiction_id='')
    services = _get(endpoint + "/services.xml?" + urllib.parse.urlencode({"jurisdiction_id": ""}))
    assert [s.findtext("service_code") for s in services.findall("service")] == [
        "01002",
        "01037",
        "06001",
    ]

    # service_definition('01002'): 'service/' + code + '.' + format
    definition = _get(endpoint + "/service/01002.xml?jurisdiction_id=")
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "01002"

    # post_service_request(**kwargs): the key and jurisdiction in the query string, the
    # fields form-encoded in the body.
    params = urllib.parse.urlencode({"jurisdiction_id": "", "api_key": key})
    lat, lon = Town.centre(town.grids["A2-1"])
    body = _post(
        "".join([endpoint, "/requests", ".", "xml", "?", params]),
        {
            "service_code": "01037",
            "description": "Large pothole at this location",
            "lat": lat,
            "long": lon,
            "address_string": "123 Any Street",
            "email": "my@email.com",
            "first_name": "Zach",
            "last_name": "Williams",
            "phone": "028-85123456",
            "media_url": "http://imgur.com/123_street_pothole.png",
        },
    )
    posted = ElementTree.fromstring(body)
    number = posted.findtext("request/service_request_id")
    token = posted.findtext("request/token")
    case = Case.objects.get(number=number)
    assert case.grid == town.grids["A2-1"]

    # request_id_from_token(token), service_requests(), get_service_request(number)
    from_token = _get(f"{endpoint}/tokens/{token}.xml?jurisdiction_id=")
    assert from_token.findtext("request/service_request_id") == number
    listed = _get(endpoint + "/requests.xml?jurisdiction_id=")
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [number]
    one = _get(f"{endpoint}/requests/{number}.xml?jurisdiction_id=")
    text = ElementTree.tostring(one, encoding="unicode")
    assert "Williams" not in text and "my@email.com" not in text and "85123456" not in text
    assert one.findtext("request/media_url") == "http://imgur.com/123_street_pothole.png"
