"""The dashboard's figures against hand counts of a small history, its scope, and the links to
the cases behind every figure.

The history (October 2026, street A and street B of the test town):
- A1-1: a hotline report of 路灯 (accepted within its respond-by time, resolved on time, called
  back: solved and satisfied); a web complaint of 路灯 (resolved late, called back: partly
  solved, basically satisfied); a hotline inquiry of 噪音 (accepted late, still in progress and
  overdue); one hotline case in September (closed);
- A2-1: a patrol report without a category, dispatched and near due;
- B1-1 (street B): two hotline cases, one of them overdue.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.utils import timezone

from civicgrid.cases.choices import (
    Action,
    CallbackMethod,
    Channel,
    DeadlineStatus,
    Kind,
    Satisfaction,
    Solved,
    State,
)
from civicgrid.cases.forms import QueueFilterForm
from civicgrid.cases.models import Callback, CaseEvent
from civicgrid.cases.selectors import case_queue
from civicgrid.cases.tests.builders import build_case, build_category, build_unit, unit_handler
from civicgrid.dashboards import selectors
from civicgrid.scoring import rollups
from civicgrid.scoring.scorecards import period

OCT = period("month", dt.date(2026, 10, 1))


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, hour))


@pytest.fixture
def history(town):
    light_root = build_category("市容环境")
    light = build_category("路灯", parent=build_category("照明", parent=light_root))
    noise_root = build_category("环境保护")
    noise = build_category("噪音", parent=noise_root)
    unit = build_unit("城管局", areas=[town.district])
    h = {"unit": unit, "light_root": light_root, "noise_root": noise_root}

    def case(grid, received, **kw):
        return build_case(
            town,
            grid=grid,
            received_at=received,
            respond_due_at=received + dt.timedelta(hours=2),
            resolve_due_at=received + dt.timedelta(days=3),
            **kw,
        )

    h["solved"] = case(
        "A1-1",
        at(10, 5),
        state=State.CALLBACK_DONE,
        category=light,
        lead_unit=unit,
        resolved_at=at(10, 6),
    )
    CaseEvent.objects.create(case=h["solved"], action=Action.ACCEPT, at=at(10, 5, 11))
    Callback.objects.create(
        case=h["solved"],
        method=CallbackMethod.PHONE,
        contacted=True,
        solved=Solved.SOLVED,
        satisfaction=Satisfaction.SATISFIED,
    )
    h["late"] = case(
        "A1-1",
        at(10, 12),
        state=State.CLOSED,
        channel=Channel.WEB,
        kind=Kind.COMPLAINT,
        category=light,
        resolved_at=at(10, 20),
    )
    Callback.objects.create(
        case=h["late"],
        method=CallbackMethod.PHONE,
        contacted=False,
        solved=Solved.PARTLY,
        satisfaction=Satisfaction.BASIC,
    )
    h["handling"] = case(
        "A1-1",
        at(10, 20),
        state=State.ACCEPTED,
        kind=Kind.INQUIRY,
        category=noise,
        deadline_status=DeadlineStatus.OVERDUE,
    )
    CaseEvent.objects.create(case=h["handling"], action=Action.ACCEPT, at=at(10, 20, 15))
    h["september"] = case("A1-1", at(9, 28), state=State.CLOSED)
    h["patrol"] = case(
        "A2-1",
        at(10, 30),
        state=State.DISPATCHED,
        channel=Channel.PATROL,
        deadline_status=DeadlineStatus.NEAR_DUE,
    )
    h["b_overdue"] = case("B1-1", at(10, 3), deadline_status=DeadlineStatus.OVERDUE, lead_unit=unit)
    h["b_other"] = case("B1-1", at(10, 4))
    rollups.rebuild()
    return h


def _by(rows, key="label"):
    return {r[key]: r["total"] for r in rows}


def test_street_figures_equal_hand_counts(history, personas, town):
    data = selectors.summary(personas["street_dispatcher"], OCT)
    assert data["totals"]["received"] == 4
    assert data["totals"]["received_before"] == 1
    assert data["totals"]["change"] == 3.0
    assert data["totals"]["resolved"] == 2
    assert _by(data["channels"], "key") == {"hotline": 2, "web": 1, "patrol": 1}
    assert _by(data["kinds"], "key") == {"report": 2, "complaint": 1, "inquiry": 1}
    # Leaf categories roll up to their top-level category; uncategorised last.
    assert [(c["label"], c["total"]) for c in data["categories"]] == [
        ("市容环境", 2),
        ("环境保护", 1),
        ("Uncategorised", 1),
    ]
    assert sum(b["total"] for b in data["trend"]) == 4
    assert len(data["trend"]) == 31 and data["granularity"] == "day"
    assert {b["start"]: b["total"] for b in data["trend"] if b["total"]} == {
        "2026-10-05": 1,
        "2026-10-12": 1,
        "2026-10-20": 1,
        "2026-10-30": 1,
    }
    assert data["deadlines"]["open"] == 2
    assert data["deadlines"]["near_due"] == 1
    assert data["deadlines"]["overdue"] == 1


@pytest.mark.parametrize(
    ("start", "end", "granularity", "first_buckets", "received"),
    [
        # 92 days from a Thursday: weekly buckets, the first one clipped to Thu-Sun.
        (
            "2026-08-20",
            "2026-11-19",
            "week",
            [("2026-08-20", "2026-08-23"), ("2026-08-24", "2026-08-30")],
            6,
        ),
        # 200 days from mid-July: monthly buckets, the first one from the 15th.
        (
            "2026-07-15",
            "2027-01-30",
            "month",
            [("2026-07-15", "2026-07-31"), ("2026-08-01", "2026-08-31")],
            7,
        ),
    ],
)
def test_trend_buckets_of_any_range(
    history, personas, town, start, end, granularity, first_buckets, received
):
    # Two more cases, each in a clipped first bucket (Friday 21 August, Monday 20 July).
    build_case(town, received_at=at(8, 21))
    build_case(town, received_at=at(7, 20))
    rollups.rebuild()
    per = period("range", dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    data = selectors.summary(personas["street_dispatcher"], per)
    assert data["granularity"] == granularity
    assert [(b["start"], b["end"]) for b in data["trend"][:2]] == first_buckets
    assert data["trend"][0]["total"] == 1
    assert data["trend"][-1]["end"] == end
    # Every case of the range is in exactly one bucket.
    assert sum(b["total"] for b in data["trend"]) == data["totals"]["received"] == received
    for b in data["trend"]:
        assert _console_count(personas["street_dispatcher"], b["url"]) == b["total"]


def test_three_rates_and_compliance_by_hand(history, personas):
    data = selectors.summary(personas["street_dispatcher"], OCT)
    rates = {r["metric"]: r for r in data["rates"]}
    # Accepted on time: the solved case (1 h); late: the one in progress (5 h, 2 h allowed).
    assert (rates["response_rate"]["numerator"], rates["response_rate"]["denominator"]) == (1, 2)
    assert rates["response_rate"]["rate"] == 0.5
    # Zhungeer weights: partly solved 0.5, basically satisfied 0.8; two rated callbacks.
    assert rates["resolution_rate"]["rate"] == 0.75
    assert rates["resolution_rate"]["numerator"] == 1.5
    assert rates["satisfaction_rate"]["rate"] == 0.9
    assert rates["satisfaction_rate"]["denominator"] == 2
    compliance = {c["key"]: c for c in data["compliance"]}
    assert (compliance["response"]["on_time"], compliance["response"]["due"]) == (1, 2)
    # Due for resolution: the two resolved ones and the overdue one in progress.
    assert compliance["resolution"]["on_time"] == 1
    assert compliance["resolution"]["due"] == 3
    assert compliance["resolution"]["late"] == 2


def test_grid_map_figures(history, personas, town):
    grids = selectors.summary(personas["street_dispatcher"], OCT)["map"]["grids"]
    a11, a21 = str(town.grids["A1-1"].pk), str(town.grids["A2-1"].pk)
    assert set(grids) == {a11, a21}
    assert grids[a11] | {"url": "", "overdue_url": ""} == {
        "total": 3,
        "open": 1,
        "overdue": 1,
        "overdue_share": 1.0,
        "name": town.grids["A1-1"].name,
        "url": "",
        "overdue_url": "",
    }
    assert (grids[a21]["total"], grids[a21]["open"], grids[a21]["overdue_share"]) == (1, 1, 0.0)


def test_district_sees_both_streets_street_never_a_neighbour(history, personas, town):
    district = selectors.summary(personas["district_officer"], OCT)
    assert district["totals"]["received"] == 6
    assert district["deadlines"]["overdue"] == 2
    b_grid = str(town.grids["B1-1"].pk)
    assert district["map"]["grids"][b_grid]["total"] == 2
    street = selectors.summary(personas["street_dispatcher"], OCT)
    assert b_grid not in street["map"]["grids"]
    # Narrowed to street B, the district sees B's figures only.
    b = selectors.summary(personas["district_officer"], OCT, area=town.streets["B"])
    assert b["totals"]["received"] == 2


def test_department_counts_its_lead_cases(history, personas):
    handler = unit_handler(history["unit"], "dept")
    data = selectors.summary(handler, OCT)
    assert data["totals"]["received"] == 2  # the solved case in street A and one in street B
    assert data["map"]["grids"] == {} or all(g["total"] <= 1 for g in data["map"]["grids"].values())


def test_community_and_grid_scopes(history, personas):
    assert selectors.summary(personas["community_worker"], OCT)["totals"]["received"] == 3
    assert selectors.summary(personas["grid_worker"], OCT)["totals"]["received"] == 3


def _console_count(user, url: str) -> int:
    parts = urlsplit(url)
    assert parts.path == "/cases/"
    form = QueueFilterForm(QueryDict(parts.query), user=user)
    assert form.is_valid(), form.errors
    return case_queue(user, **form.filters()).count()


def test_every_console_link_lists_exactly_the_cases_of_its_figure(history, personas):
    user = personas["street_dispatcher"]
    data = selectors.summary(user, OCT)
    figures = [(data["totals"]["url"], data["totals"]["received"])]
    figures.append((data["totals"]["before_url"], data["totals"]["received_before"]))
    for key in ("channels", "kinds"):
        figures += [(r["url"], r["total"]) for r in data[key]]
    figures += [(r["url"], r["total"]) for r in data["categories"] if r["url"]]
    figures += [(b["url"], b["total"]) for b in data["trend"]]
    d = data["deadlines"]
    figures += [(d["open_url"], d["open"]), (d["near_due_url"], d["near_due"])]
    figures.append((d["overdue_url"], d["overdue"]))
    for grid in data["map"]["grids"].values():
        figures += [(grid["url"], grid["total"]), (grid["overdue_url"], grid["overdue"])]
    assert len(figures) > 40
    for url, expected in figures:
        assert _console_count(user, url) == expected, url


def test_links_carry_the_filters(history, personas, town):
    data = selectors.summary(personas["district_officer"], OCT, area=town.streets["A"])
    web = next(r for r in data["channels"] if r["key"] == "web")
    query = parse_qs(urlsplit(web["url"]).query)
    assert query == {
        "state": ["all"],
        "received_from": ["2026-10-01"],
        "received_to": ["2026-10-31"],
        "area": [str(town.streets["A"].pk)],
        "channel": ["web"],
    }
    light = next(r for r in data["categories"] if r["label"] == "市容环境")
    assert parse_qs(urlsplit(light["url"]).query)["category"] == [str(history["light_root"].pk)]
    overdue = parse_qs(urlsplit(data["deadlines"]["overdue_url"]).query)
    assert overdue == {"area": [str(town.streets["A"].pk)], "due": ["overdue"]}


def test_rate_links_explain_numerator_and_denominator(client, history, personas):
    user = personas["street_dispatcher"]
    client.force_login(user)
    rates = {r["metric"]: r for r in selectors.summary(user, OCT)["rates"]}
    page = client.get(rates["response_rate"]["numerator_url"])
    assert page.status_code == 200
    assert page.context["page_obj"].paginator.count == 1
    page = client.get(rates["satisfaction_rate"]["denominator_url"])
    assert page.context["page_obj"].paginator.count == 2
    resolved = client.get(selectors.summary(user, OCT)["totals"]["resolved_url"])
    assert resolved.context["page_obj"].paginator.count == 2
