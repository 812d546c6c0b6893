"""The insight pages end to end: hotspots, mining, a topic from a candidate, its chart data,
status, linked cases and a proactive task; scope and field errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.choices import Role
from civicgrid.cases.choices import Channel
from civicgrid.cases.tests.builders import Desk, build_case
from civicgrid.core import clock
from civicgrid.insights.models import MiningRun, ProactiveTask, Topic
from tests.builders import build_user

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(dt.datetime(2026, 11, 18, 10, 0))


@pytest.fixture(autouse=True)
def _frozen():
    with clock.frozen(NOW):
        yield


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_candidate_to_topic_to_task_in_the_browser(town, personas):
    desk = Desk(town)
    for i in range(5):
        build_case(
            town,
            title="丽发新城搅拌站噪音扰民",
            description="搅拌站夜间施工噪音很大",
            received_at=NOW - dt.timedelta(days=i + 1),
        )
    client = as_user(personas["street_dispatcher"])
    assert client.get(reverse("insights:hotspots")).status_code == 200
    page = client.post(
        reverse("insights:mining"),
        {"area": town.streets["A"].pk, "since": "2026-10-01", "until": "2026-11-18"},
    )
    run = MiningRun.objects.get()
    assert page.status_code == 302 and page.url == reverse("insights:run", args=[run.pk])
    candidate = run.candidates.get()
    listing = client.get(page.url)
    assert "搅拌站" in listing.content.decode()
    form = client.get(reverse("insights:topic_new"), {"candidate": candidate.pk})
    assert form.status_code == 200 and "丽发新城搅拌站噪音扰民" in form.content.decode()
    created = client.post(
        reverse("insights:topic_new") + f"?candidate={candidate.pk}",
        {
            "title": "搅拌站噪音",
            "area": town.streets["A"].pk,
            "owner_unit": desk.unit.pk,
            "period": "2026-11-01",
            "keywords": "搅拌站",
        },
    )
    topic = Topic.objects.get()
    assert created.url == reverse("insights:topic", args=[topic.pk])
    assert topic.cases.count() == 5
    detail = client.get(created.url)
    body = detail.content.decode()
    assert 'id="topic-chart-data"' in body and "vendor/echarts/echarts.min.js" in body
    assert detail.context["progress"].counts[-1] == 5
    client.post(reverse("insights:topic_status", args=[topic.pk]), {"status": "active"})
    topic.refresh_from_db()
    assert topic.status == "active"
    task = client.post(
        reverse("insights:task_new") + f"?topic={topic.pk}",
        {
            "title": "排查搅拌站",
            "description": "逐个排查",
            "area": town.grids["A1-1"].pk,
            "unit": desk.unit.pk,
            "kind": "report",
            "urgency": "normal",
        },
    )
    assert task.status_code == 302
    proactive = ProactiveTask.objects.get()
    assert proactive.case.channel == Channel.PROACTIVE
    assert proactive.case.number in client.get(created.url).content.decode()
    edit = client.post(
        reverse("insights:topic_edit", args=[topic.pk]),
        {"title": "搅拌站夜间噪音", "owner_unit": desk.unit.pk, "period": "2026-11-01"},
    )
    assert edit.status_code == 302
    topic.refresh_from_db()
    assert topic.title == "搅拌站夜间噪音" and topic.keywords == ""
    other = build_case(town, title="搅拌站", received_at=NOW)
    client.post(reverse("insights:topic_cases", args=[topic.pk]), {"numbers": other.number})
    assert topic.cases.count() == 6


def test_field_errors_and_scope(town, personas):
    client = as_user(personas["street_dispatcher"])
    bad = client.post(reverse("insights:topic_new"), {"title": "", "period": "x"})
    assert bad.status_code == 400
    assert {"title", "period", "owner_unit", "area"} <= set(bad.context["form"].errors)
    no_source = client.post(
        reverse("insights:task_new"),
        {
            "title": "t",
            "description": "d",
            "area": town.grids["A1-1"].pk,
            "kind": "report",
            "urgency": "normal",
        },
    )
    assert no_source.status_code == 400 and "hotspot" in no_source.context["form"].errors
    assert not Topic.objects.exists() and not ProactiveTask.objects.exists()
    # a grid worker (no dispatch) has no topic form; an outsider has no insight pages
    assert as_user(personas["grid_worker"]).get(reverse("insights:topic_new")).status_code == 404
    assert as_user(personas["outsider"]).get(reverse("insights:hotspots")).status_code == 404
    run = MiningRun.objects.create(area=town.streets["A"], since=NOW, until=NOW)
    neighbour = as_user(build_user("street_b", role=Role.STREET_DISPATCHER, area=town.streets["B"]))
    assert neighbour.get(reverse("insights:run", args=[run.pk])).status_code == 404


def test_hotspot_page_links_a_rise_to_its_cases_and_to_a_task(town, personas):
    from civicgrid.cases.tests.builders import build_category
    from civicgrid.scoring import rollups

    noise = build_category("噪音扰民")
    at = timezone.make_aware(dt.datetime(2026, 11, 11, 9))
    for i in range(6):
        build_case(town, category=noise, received_at=at + dt.timedelta(hours=i))
    rollups.refresh()
    page = as_user(personas["street_dispatcher"]).get(
        reverse("insights:hotspots"), {"week": "2026-11-11", "level": "community"}
    )
    body = page.content.decode()
    rise = page.context["report"].rises[0]
    assert (rise["area"], rise["count"]) == ("A1社区", 6)
    assert (
        f"?state=all&area={rise['area_id']}&category={noise.pk}"
        "&received_from=2026-11-09&received_to=2026-11-15"
    ) in body
    assert f"{reverse('insights:task_new')}?area={rise['area_id']}&category={noise.pk}" in body
    cluster = page.context["report"].clusters[0]
    assert cluster["size"] == 6 and cluster["area_id"] == town.grids["A1-1"].pk
