"""The insight API: topics, tasks, hotspots and mining runs, scoped, with field-level errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.choices import Role
from civicgrid.cases.tests.builders import Desk, build_case
from civicgrid.core import clock
from civicgrid.insights.models import ProactiveTask, Topic
from tests.builders import build_user

pytestmark = pytest.mark.django_db
API = "/api/v1/insights"
NOW = timezone.make_aware(dt.datetime(2026, 11, 18, 10, 0))


@pytest.fixture(autouse=True)
def _frozen():
    with clock.frozen(NOW):
        yield


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def desk(town):
    return Desk(town)


def topic_body(town, desk, **kw):
    body = {
        "title": "搅拌站噪音",
        "owner_unit": desk.unit.pk,
        "area": town.streets["A"].pk,
        "period": "2026-11-05",
        "keywords": "搅拌站",
    }
    body.update(kw)
    return body


def test_topic_round_trip_with_a_task(town, personas, desk):
    case = build_case(town, title="搅拌站夜间施工")
    client = as_user(personas["street_dispatcher"])
    created = post(client, f"{API}/topics", topic_body(town, desk, cases=[case.number]))
    assert created.status_code == 201, created.json()
    topic = created.json()
    assert topic["period"] == "2026-11-01" and topic["case_ids"] == [case.pk]
    assert topic["progress"]["counts"][-1] == 1
    task = post(
        client,
        f"{API}/tasks",
        {
            "title": "排查搅拌站",
            "description": "夜间施工排查",
            "area": town.grids["A1-2"].pk,
            "unit": desk.unit.pk,
            "topic": topic["id"],
        },
    )
    assert task.status_code == 201, task.json()
    assert task.json()["state"] == "dispatched" and task.json()["source"] == "topic"
    moved = post(client, f"{API}/topics/{topic['id']}/status", {"status": "active"})
    assert moved.json()["status"] == "active"
    again = post(client, f"{API}/topics/{topic['id']}/status", {"status": "planned"})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "status"
    edited = client.put(
        f"{API}/topics/{topic['id']}",
        {**topic_body(town, desk), "title": "搅拌站夜间施工", "period": "2026-12-03"},
        content_type="application/json",
    )
    assert edited.status_code == 200, edited.json()
    assert (edited.json()["title"], edited.json()["period"]) == ("搅拌站夜间施工", "2026-12-01")
    blank = client.put(
        f"{API}/topics/{topic['id']}",
        {**topic_body(town, desk), "title": ""},
        content_type="application/json",
    )
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "title"
    detail = client.get(f"{API}/topics/{topic['id']}").json()
    assert [t["case_number"] for t in detail["tasks"]] == [task.json()["case_number"]]
    assert client.get(f"{API}/tasks", {"topic": topic["id"]}).json()["count"] == 1


def test_bad_input_is_field_level_and_writes_nothing(town, personas, desk):
    client = as_user(personas["street_dispatcher"])
    missing = post(client, f"{API}/topics", topic_body(town, desk, title="", owner_unit=999999))
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["owner_unit"]
    blank = post(client, f"{API}/topics", topic_body(town, desk, title=" "))
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "title"
    wrong = post(client, f"{API}/topics", topic_body(town, desk, period="soon"))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "period"
    hidden = post(client, f"{API}/topics", topic_body(town, desk, area=town.streets["B"].pk))
    assert hidden.status_code == 422 and hidden.json()["errors"][0]["field"] == "area"
    task = post(
        client, f"{API}/tasks", {"title": "t", "description": "d", "area": town.grids["A1-1"].pk}
    )
    assert task.status_code == 422 and task.json()["errors"][0]["field"] == "source"
    run = post(
        client,
        f"{API}/mining-runs",
        {"area": town.streets["A"].pk, "since": "2026-11-10", "until": "2026-11-01"},
    )
    assert run.status_code == 422 and run.json()["errors"][0]["field"] == "until"
    assert not Topic.objects.exists() and not ProactiveTask.objects.exists()


def test_scope_a_street_never_sees_its_neighbours_topics(town, personas, desk):
    client = as_user(personas["street_dispatcher"])
    topic = post(client, f"{API}/topics", topic_body(town, desk)).json()
    neighbour = as_user(build_user("street_b", role=Role.STREET_DISPATCHER, area=town.streets["B"]))
    assert neighbour.get(f"{API}/topics").json()["count"] == 0
    assert neighbour.get(f"{API}/topics/{topic['id']}").status_code == 404
    assert (
        post(neighbour, f"{API}/topics/{topic['id']}/status", {"status": "active"}).status_code
        == 404
    )
    assert as_user(personas["outsider"]).get(f"{API}/topics/{topic['id']}").status_code == 404
    # the auditor sees it but may not change it
    auditor = as_user(personas["auditor"])
    assert auditor.get(f"{API}/topics/{topic['id']}").status_code == 200
    assert (
        post(auditor, f"{API}/topics/{topic['id']}/status", {"status": "active"}).status_code == 403
    )


def test_hotspots_and_mining_runs(town, personas):
    for i in range(4):
        build_case(
            town,
            title="公交站台没有遮雨棚",
            description="下雨天等车淋雨",
            received_at=NOW - dt.timedelta(days=i),
        )
    client = as_user(personas["street_dispatcher"])
    report = client.get(f"{API}/hotspots", {"level": "grid", "week": "2026-11-18"})
    assert report.status_code == 200
    assert report.json()["week"] == "2026-11-16" and report.json()["rule"]["min_count"] == 5
    assert client.get(f"{API}/hotspots", {"level": "city"}).status_code == 422
    run = post(
        client,
        f"{API}/mining-runs",
        {"area": town.streets["A"].pk, "since": "2026-10-01", "until": "2026-11-19"},
    )
    assert run.status_code == 201, run.json()
    assert run.json()["case_count"] == 4 and run.json()["candidates"][0]["size"] == 4
    neighbour = as_user(build_user("street_b", role=Role.STREET_DISPATCHER, area=town.streets["B"]))
    assert neighbour.get(f"{API}/mining-runs/{run.json()['id']}").status_code == 404
    assert neighbour.get(f"{API}/mining-runs").json()["count"] == 0
