"""A round trip with real data: 1,000 Los Angeles 311 requests of 2018 posted through
POST requests.json, with the 99 neighbourhood councils (NC) loaded as grids and the city's
request types as services, then read back through GET requests.json.

Each must come back as posted (service, coordinates, address) and must have landed in the NC
the city assigned it, where the point allows: the NC polygons are the 2019 edition, so the
map is first rebuilt as it stood in 2018 (NC 128 merged back into 46, see
civicgrid/areas/tests/test_la_agreement.py), and the locator's agreement with the city on
these boundaries, 98.5% there, is the floor here too.
"""

from __future__ import annotations

import csv
import re

import pytest

from civicgrid.areas import locator
from civicgrid.areas import services as area_services
from civicgrid.areas.choices import Level
from civicgrid.areas.importers import import_boundaries
from civicgrid.areas.models import Area
from civicgrid.areas.tests.test_la_agreement import BOUNDARIES, COMMUNITY_CODE, REQUESTS
from civicgrid.cases.choices import Channel
from civicgrid.cases.models import Case
from civicgrid.cases.tests.builders import build_category, build_taxonomy
from civicgrid.core import clock
from civicgrid.open311 import partners
from tests.builders import build_area

N = 1000
BASE = "/open311/v2"


def la_requests() -> list[dict]:
    """N requests with a point and an NC, spread evenly over the file."""
    with REQUESTS.open(encoding="utf-8", newline="") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["Latitude"] and r["Longitude"] and r["NC"].strip() and r["RequestType"]
        ]
    step = len(rows) // N
    return rows[::step][:N]


def service_code(request_type: str) -> str:
    return "LA-" + re.sub(r"[^A-Z0-9]+", "", request_type.upper())[:13]


@pytest.mark.skipif(not BOUNDARIES.is_file(), reason="shared LA 311 data not present")
def test_la_requests_round_trip(client, db, settings):
    district = build_area(Level.DISTRICT, name="Los Angeles", code="900001")
    street = build_area(Level.STREET, district, name="City", code="900001001")
    community = build_area(Level.COMMUNITY, street, name="Councils", code=COMMUNITY_CODE)
    report = import_boundaries(
        BOUNDARIES,
        level=Level.GRID,
        parent_code=community.code,
        name_field="name",
        code_field="nc_id",
    )
    assert report.ok and report.count("created") == 99
    historic = Area.objects.get(code=COMMUNITY_CODE + "046")
    north = Area.objects.get(code=COMMUNITY_CODE + "128")
    area_services.merge_areas(
        [historic, north],
        into_name=historic.name,
        into_code=historic.code,
        actor=None,
        effective_date=clock.today(),
    )
    locator.invalidate()
    settings.LOCATOR_VERSION_CHECK_SECONDS = 3600  # one index for the whole run

    rows = la_requests()
    assert len(rows) == N
    top = build_category("MyLA311", code="LA", taxonomy=build_taxonomy())
    codes = {}
    for request_type in sorted({r["RequestType"] for r in rows}):
        codes[request_type] = service_code(request_type)
        build_category(request_type, parent=top, code=codes[request_type])
    services = client.get(f"{BASE}/services.json").json()
    assert {s["service_code"] for s in services} == set(codes.values())

    _partner, key = partners.register_partner(
        name="MyLA311", jurisdiction=district, rate_limit_per_minute=partners.MAX_RATE_PER_MINUTE
    )
    posted: dict[str, dict] = {}
    for row in rows:
        response = client.post(
            f"{BASE}/requests.json",
            {
                "api_key": key,
                "jurisdiction_id": "",
                "service_code": codes[row["RequestType"]],
                "lat": row["Latitude"],
                "long": row["Longitude"],
                "address_string": row["Address"][:255],
                "description": f"{row['RequestType']} ({row['SRNumber']})",
            },
        )
        assert response.status_code == 201, response.content
        posted[response.json()[0]["service_request_id"]] = row
    assert Case.objects.filter(channel=Channel.PARTNER).count() == N

    numbers = list(posted)
    read: dict[str, dict] = {}
    for i in range(0, N, 200):
        batch = ",".join(numbers[i : i + 200])
        for item in client.get(f"{BASE}/requests.json?service_request_id={batch}").json():
            read[item["service_request_id"]] = item
    assert set(read) == set(posted)
    for number, item in read.items():
        row = posted[number]
        assert item["service_code"] == codes[row["RequestType"]]
        assert item["lat"] == pytest.approx(float(row["Latitude"]))
        assert item["long"] == pytest.approx(float(row["Longitude"]))
        assert item["address"] == " ".join(row["Address"][:255].split())
        assert item["status"] == "open"

    grids = dict(Case.objects.filter(number__in=numbers).values_list("number", "grid__code"))
    agree = sum(
        1
        for number, row in posted.items()
        if grids[number] == COMMUNITY_CODE + row["NC"].strip().zfill(3)
    )
    outside = sum(1 for code in grids.values() if code is None)
    print(
        f"\nOpen311 LA round trip: {N} requests posted and read back; "
        f"{agree / N:.2%} in the NC the city assigned, {outside} in no NC"
    )
    assert agree / N >= 0.985
