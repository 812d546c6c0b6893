"""Benchmark: posting through Open311 against posting the same case through /api/v1.

    .venv/bin/python bench/open311.py                 # 200 requests per endpoint and round
    .venv/bin/python bench/open311.py --requests 50   # quicker

Both end in the same `intake.receive_case`; the Open311 side adds the form parsing, the api key
lookup and the rate counter (Django's cache), the service lookup by code, the attribute check,
a locator look-up to keep the point inside the partner's jurisdiction, the extra data on the
RECEIVE event and the GeoReport rendering. On a throwaway SQLite database with the test town
(8 grids), one leaf category, the Jinniu time-limit policy, a partner system and a hotline
operator with an API token, in one process through Django's test client (no network), rounds
alternate N posts to each endpoint; each endpoint's best round counts. Then it reads every
Open311 request back (at most 1,000) in one `GET requests.json` and one `requests.xml`.

Target: Open311 posts at least 0.8 of the /api/v1 rate (the adapter costs at most a quarter
more per case). Prints a table and writes bench/results/open311.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import environment, print_table, setup_django, write_results  # noqa: E402

TARGET = 0.8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django("open311")

    from django.test import Client
    from django.test.utils import setup_test_environment

    from civicgrid.accounts.api import issue_token
    from civicgrid.accounts.choices import Role
    from civicgrid.cases.models import Case
    from civicgrid.cases.tests.builders import build_category, build_preset
    from civicgrid.open311 import partners
    from tests.builders import CELL, ORIGIN_LAT, ORIGIN_LON, Town, build_user

    setup_test_environment()  # ALLOWED_HOSTS for the test client
    town = Town()
    build_preset("jinniu")
    top = build_category("城市管理", code="02")
    middle = build_category("市政设施", parent=top, code="0201")
    leaf = build_category("路灯", parent=middle, code="01037")
    operator = build_user("bench-hotline", role=Role.HOTLINE_OPERATOR, area=town.district)
    _token, secret = issue_token(operator, "bench", actor=None)
    _partner, key = partners.register_partner(
        name="bench", jurisdiction=town.district, rate_limit_per_minute=partners.MAX_RATE_PER_MINUTE
    )
    rng = random.Random(7)

    def point() -> tuple[float, float]:
        return ORIGIN_LAT + rng.random() * 2 * CELL, ORIGIN_LON + rng.random() * 4 * CELL

    client = Client()

    def api(n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            lat, lon = point()
            response = client.post(
                "/api/v1/cases",
                json.dumps(
                    {
                        "channel": "partner",
                        "kind": "report",
                        "title": "路灯",
                        "description": f"路灯不亮 {i}",
                        "category": leaf.pk,
                        "lat": lat,
                        "lon": lon,
                    }
                ),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            assert response.status_code == 201, response.content
        return n / (time.perf_counter() - started)

    def open311(n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            lat, lon = point()
            response = client.post(
                "/open311/v2/requests.json",
                {
                    "api_key": key,
                    "service_code": "01037",
                    "lat": lat,
                    "long": lon,
                    "description": f"路灯不亮 {i}",
                },
            )
            assert response.status_code == 201, response.content
        return n / (time.perf_counter() - started)

    api(5), open311(5)  # warm up: imports, the API's schema, the locator's index
    best = {"api": 0.0, "open311": 0.0}
    for _round in range(args.rounds):
        best["api"] = max(best["api"], api(args.requests))
        best["open311"] = max(best["open311"], open311(args.requests))
    ratio = best["open311"] / best["api"]

    reads = {}
    rows = 0
    for fmt in ("json", "xml"):
        started = time.perf_counter()
        response = client.get(f"/open311/v2/requests.{fmt}")
        reads[fmt] = time.perf_counter() - started
        assert response.status_code == 200
        if fmt == "json":
            rows = len(response.json())
    total = Case.objects.count()

    print_table(
        ["endpoint", "cases/s (best round)", "ms per case"],
        [
            ["POST /api/v1/cases", best["api"], 1000 / best["api"]],
            ["POST /open311/v2/requests.json", best["open311"], 1000 / best["open311"]],
        ],
        title=f"{args.rounds} rounds of {args.requests} posts per endpoint, {total} cases in all",
    )
    print(f"ratio open311/api: {ratio:.2f} (target at least {TARGET})")
    print(
        f"GET requests.json: {rows} rows in {reads['json'] * 1000:.0f} ms; "
        f"requests.xml in {reads['xml'] * 1000:.0f} ms"
    )
    path = write_results(
        "open311",
        {
            "requests_per_round": args.requests,
            "rounds": args.rounds,
            "api_cases_per_s": round(best["api"], 1),
            "open311_cases_per_s": round(best["open311"], 1),
            "ratio": round(ratio, 3),
            "target": TARGET,
            "list_rows": rows,
            "list_json_ms": round(reads["json"] * 1000, 1),
            "list_xml_ms": round(reads["xml"] * 1000, 1),
            "environment": environment(),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
