"""Topics, proactive tasks, mining runs and hotspots against the database: lifecycle, audit,
scope (a street never sees its neighbour's) and bad input that writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from civicgrid.accounts.choices import Role
from civicgrid.cases.choices import Channel, State
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tests.builders import Desk, build_case, build_category
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.insights import selectors, services
from civicgrid.insights.choices import TaskSource, TopicStatus
from civicgrid.insights.models import MiningRun, ProactiveTask, Topic
from tests.builders import build_user

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 11, 18, 10, 0))


@pytest.fixture(autouse=True)
def _frozen():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def desk(town):
    return Desk(town)


@pytest.fixture
def neighbour(town):
    """The street dispatcher of street B."""
    return build_user("street_b", role=Role.STREET_DISPATCHER, area=town.streets["B"])


@pytest.fixture
def noise():
    return build_category("噪音扰民")


def make_topic(personas, town, desk, **kw):
    values = dict(
        actor=personas["street_dispatcher"],
        title="搅拌站噪音",
        owner_unit=desk.unit,
        area=town.streets["A"],
        period=dt.date(2026, 11, 20),
        keywords="搅拌站",
    )
    values.update(kw)
    return services.create_topic(**values)


# --- topics ------------------------------------------------------------------------------------


def test_topic_lifecycle_is_audited_and_follows_the_transitions(personas, town, desk):
    dispatcher = personas["street_dispatcher"]
    topic = make_topic(personas, town, desk)
    assert topic.period == dt.date(2026, 11, 1)  # any day of the month means the month
    assert topic.status == TopicStatus.PLANNED
    services.change_topic_status(topic, TopicStatus.ACTIVE, actor=dispatcher)
    with pytest.raises(ServiceError) as refused:
        services.change_topic_status(topic, TopicStatus.PLANNED, actor=dispatcher)
    assert refused.value.field == "status"
    services.change_topic_status(topic, TopicStatus.SOLVED, actor=dispatcher, note="已整改")
    topic.refresh_from_db()
    assert topic.status == TopicStatus.SOLVED and topic.closed_at == NOW
    services.change_topic_status(topic, TopicStatus.ACTIVE, actor=dispatcher)
    topic.refresh_from_db()
    assert topic.closed_at is None
    actions = list(
        AuditEntry.objects.filter(object_type="insights.topic", object_id=str(topic.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "update", "update"]
    last = AuditEntry.objects.filter(object_type="insights.topic").latest("id")
    assert last.fields == {"status": ["solved", "active"]}


def test_bad_topic_input_names_every_field_and_writes_nothing(personas, town):
    with pytest.raises(ServiceError) as refused:
        services.create_topic(
            actor=personas["street_dispatcher"],
            title="  ",
            owner_unit=None,
            area=None,
            period=None,
            keywords="x" * 301,
        )
    assert set(refused.value.errors) == {"title", "owner_unit", "area", "period", "keywords"}
    assert not Topic.objects.exists()
    assert not AuditEntry.objects.filter(object_type__startswith="insights.").exists()


def test_topics_need_dispatch_rights_where_they_lie(personas, town, desk, neighbour):
    # a grid worker sees cases but does not dispatch
    with pytest.raises(PermissionDeniedError):
        make_topic(personas, town, desk, actor=personas["grid_worker"], area=town.grids["A1-1"])
    # street B's dispatcher cannot place a topic in street A: it is not even visible
    with pytest.raises(ServiceError) as refused:
        make_topic(personas, town, desk, actor=neighbour)
    assert refused.value.errors == {"area": "Unknown area."}
    topic = make_topic(personas, town, desk)
    with pytest.raises(Http404):
        services.change_topic_status(topic, TopicStatus.ACTIVE, actor=neighbour)
    with pytest.raises(PermissionDeniedError):  # the auditor sees it, may not change it
        services.change_topic_status(topic, TopicStatus.ACTIVE, actor=personas["auditor"])
    assert not selectors.topic_rows(neighbour).exists()
    assert list(selectors.topic_rows(personas["district_officer"])) == [topic]
    assert not selectors.topic_rows(personas["outsider"]).exists()


def test_linking_cases_by_number_only_sees_the_actors_cases(personas, town, desk):
    topic = make_topic(personas, town, desk)
    own = build_case(town, grid="A1-1", title="搅拌站半夜施工")
    theirs = build_case(town, grid="B1-1", title="搅拌站半夜施工")
    with pytest.raises(ServiceError) as refused:
        services.link_cases(
            topic, actor=personas["street_dispatcher"], numbers=[own.number, theirs.number]
        )
    assert theirs.number in refused.value.errors["numbers"]
    assert not topic.cases.exists()
    assert services.link_cases(
        topic, actor=personas["street_dispatcher"], numbers=[own.number]
    ) == (
        1,
        0,
    )
    assert list(topic.cases.all()) == [own]
    services.link_cases(topic, actor=personas["street_dispatcher"], unlink=[own.pk])
    assert not topic.cases.exists()


def test_topic_progress_counts_the_class_before_and_after_its_month(personas, town, desk, noise):
    topic = make_topic(personas, town, desk, categories=[noise], keywords="搅拌站")

    def at(year, month, day=10):
        return timezone.make_aware(dt.datetime(year, month, day, 9))

    # 4 a month before November, in August, September and October
    for month in (8, 9, 10):
        for _ in range(4):
            build_case(town, title="搅拌站噪音", category=noise, received_at=at(2026, month))
    # 1 in November, resolved
    build_case(
        town, title="搅拌站噪音", category=noise, received_at=at(2026, 11), state=State.RESOLVED
    )
    # not the class: other keyword, other category, other street, merged, proactive
    build_case(town, title="路灯不亮", category=noise, received_at=at(2026, 10))
    build_case(town, title="搅拌站噪音", received_at=at(2026, 10))
    build_case(town, grid="B1-1", title="搅拌站噪音", category=noise, received_at=at(2026, 10))
    build_case(
        town, title="搅拌站噪音", category=noise, received_at=at(2026, 10), state=State.MERGED
    )
    build_case(
        town,
        title="搅拌站噪音",
        category=noise,
        received_at=at(2026, 10),
        channel=Channel.PROACTIVE,
    )
    progress = selectors.topic_progress(topic)
    assert progress.months[0] == dt.date(2026, 5, 1) and progress.months[-1] == dt.date(2026, 11, 1)
    assert progress.counts == [0, 0, 0, 4, 4, 4, 1]
    # before: May..October = 12 / 6 = 2.0; after: November alone (the current month is all
    # there is after the topic's month) = 1
    assert progress.before_mean == 2.0
    assert progress.after_mean == 1.0
    assert progress.change == -0.5
    assert progress.resolved_share == 1.0
    assert progress.falling is True


# --- proactive tasks ---------------------------------------------------------------------------


def test_a_topic_spawns_a_proactive_case_dispatched_to_a_unit(personas, town, desk, noise):
    dispatcher = personas["street_dispatcher"]
    topic = make_topic(personas, town, desk)
    task = services.spawn_task(
        actor=dispatcher,
        title="排查搅拌站夜间施工",
        description="逐个小区排查夜间施工的搅拌站",
        area=town.grids["A1-1"],
        unit=desk.unit,
        topic=topic,
    )
    case = task.case
    assert task.source == TaskSource.TOPIC and task.topic == topic
    assert case.channel == Channel.PROACTIVE
    assert case.reporter is None and case.reporter_phone == "" and case.reporter_name == ""
    assert case.grid == town.grids["A1-1"]
    assert case.state == State.DISPATCHED and case.lead_unit == desk.unit
    assert list(
        CaseEvent.objects.filter(case=case).order_by("id").values_list("action", flat=True)
    ) == ["receive", "dispatch"]
    assert AuditEntry.objects.filter(
        action="create", object_type="insights.proactivetask", object_id=str(task.pk)
    ).exists()
    # the grid worker of that grid and the unit see it; street B does not
    assert list(selectors.visible_tasks(personas["grid_worker"])) == [task]
    assert list(selectors.visible_tasks(desk.handler)) == [task]
    assert list(selectors.visible_tasks(personas["district_officer"], topic=topic)) == [task]


def test_a_hotspot_spawns_a_task_left_for_the_grid(personas, town):
    task = services.spawn_task(
        actor=personas["district_officer"],
        title="巡查占道经营",
        description="本周占道经营激增,网格员上门劝导",
        area=town.grids["B1-2"],
        hotspot="占道经营 · B1社区 · 2026-11-09 周",
    )
    assert task.source == TaskSource.HOTSPOT and task.topic is None
    assert task.case.state == State.RECEIVED and task.case.grid == town.grids["B1-2"]


def test_bad_task_input_writes_nothing(personas, town, desk, neighbour):
    dispatcher = personas["street_dispatcher"]
    with pytest.raises(ServiceError) as refused:
        services.spawn_task(actor=dispatcher, title="x", description="y", area=None)
    assert set(refused.value.errors) == {"source", "area"}
    # intake's own field errors come through
    with pytest.raises(ServiceError) as refused:
        services.spawn_task(
            actor=dispatcher, title="", description="", area=town.grids["A1-1"], hotspot="h"
        )
    assert {"title", "description"} <= set(refused.value.errors)
    # a task outside the topic's area
    topic = make_topic(personas, town, desk, area=town.communities["A1"])
    with pytest.raises(ServiceError) as refused:
        services.spawn_task(
            actor=dispatcher, title="t", description="d", area=town.grids["A2-1"], topic=topic
        )
    assert refused.value.field == "area"
    # another street's grid
    with pytest.raises(ServiceError):
        services.spawn_task(
            actor=neighbour, title="t", description="d", area=town.grids["A1-1"], hotspot="h"
        )
    # a closed topic takes no more tasks
    services.change_topic_status(topic, TopicStatus.DROPPED, actor=dispatcher)
    with pytest.raises(ServiceError) as refused:
        services.spawn_task(
            actor=dispatcher, title="t", description="d", area=town.grids["A1-1"], topic=topic
        )
    assert set(refused.value.errors) == {"topic"}
    assert not Case.objects.exists() and not ProactiveTask.objects.exists()


# --- mining runs and hotspots ------------------------------------------------------------------


def test_mining_run_on_cases_keeps_ranked_candidates_in_scope(personas, town, desk, neighbour):
    for i in range(6):
        build_case(
            town,
            title="丽发新城搅拌站噪音扰民",
            description=f"小区旁边搅拌站夜间施工噪音很大,第{i}次",
            received_at=NOW - dt.timedelta(days=i + 1),
            reporter_phone="13800000001" if i < 2 else f"1380000001{i}",
        )
    for i in range(5):
        build_case(
            town,
            grid="A2-1",
            title="公交站台没有遮雨棚",
            description="公交站台没有遮雨棚,下雨天等车淋雨",
            received_at=NOW - dt.timedelta(days=40 + i),
            state=State.CLOSED,
        )
    build_case(town, grid="B1-1", title="丽发新城搅拌站噪音扰民", received_at=NOW)
    dispatcher = personas["street_dispatcher"]
    run = services.run_mining(
        actor=dispatcher,
        area=town.streets["A"],
        since=NOW - dt.timedelta(days=90),
        until=NOW + dt.timedelta(days=1),
    )
    assert run.case_count == 11  # street B's case is not mined
    candidates = list(run.candidates.order_by("rank"))
    assert len(candidates) == 2
    top = candidates[0]
    assert top.size == 6 and top.unresolved == 1.0 and top.repeat_rate == pytest.approx(4 / 3, 0.01)
    assert candidates[1].unresolved == 0.5  # every bus-stop case is closed
    assert not selectors.visible_candidates(neighbour).exists()
    assert not selectors.visible_runs(neighbour).exists()
    # adopting the candidate links its cases and takes its key phrases as keywords
    topic = make_topic(personas, town, desk, candidate=top, keywords="")
    assert topic.cases.count() == 6
    assert topic.keywords
    assert AuditEntry.objects.filter(
        action="create", object_type="insights.miningrun", object_id=str(run.pk)
    ).exists()


def test_bad_mining_input(personas, town):
    with pytest.raises(ServiceError) as refused:
        services.run_mining(actor=personas["street_dispatcher"], area=None, since=NOW, until=NOW)
    assert set(refused.value.errors) == {"area", "until"}
    with pytest.raises(ServiceError) as refused:
        services.run_mining(
            actor=personas["street_dispatcher"],
            area=town.streets["A"],
            since=NOW - dt.timedelta(days=400),
            until=NOW,
        )
    assert set(refused.value.errors) == {"until"}
    assert not MiningRun.objects.exists()


def test_hotspots_are_scoped_and_phones_masked(personas, town, neighbour, noise):
    from civicgrid.scoring import rollups

    week = dt.date(2026, 11, 9)
    at = timezone.make_aware(dt.datetime(2026, 11, 11, 9))
    # street A, community A1: 1 a week for 8 weeks, then 7 in the week judged, all near one spot
    for w in range(1, 9):
        build_case(town, category=noise, received_at=at - dt.timedelta(weeks=w))
    for i in range(7):
        build_case(
            town,
            category=noise,
            received_at=at + dt.timedelta(hours=i),
            reporter_phone="13912345678",
            address="一环路 8号",
        )
    # street B: the same burst, which street A must never see
    for i in range(7):
        build_case(town, grid="B1-1", category=noise, received_at=at + dt.timedelta(hours=i))
    rollups.refresh()
    report = selectors.hotspot_report(personas["street_dispatcher"], week=week)
    assert [(r["area"], r["count"], r["baseline_mean"]) for r in report.rises] == [
        ("A1社区", 7, 1.0)
    ]
    # the window is the 28 days up to the week's end: the 7 and 3 of the weeks before
    assert [(c["size"], c["category"]) for c in report.clusters] == [(10, "噪音扰民")]
    assert report.repeat_callers[0]["phone"] == "139****5678"
    assert report.repeat_callers[0]["count"] == 7
    assert report.repeat_addresses[0]["count"] == 7
    other = selectors.hotspot_report(neighbour, week=week)
    assert [(r["area"], r["count"]) for r in other.rises] == [("B1社区", 7)]
    assert other.repeat_callers == []
    # a grid worker (registry.reveal) sees the phone of the cases in their grid
    grid_report = selectors.hotspot_report(personas["grid_worker"], week=week, level="grid")
    assert grid_report.repeat_callers[0]["phone"] == "13912345678"
    services.record_phone_reveal(personas["grid_worker"], grid_report)
    services.record_phone_reveal(personas["street_dispatcher"], report)  # masked: no row
    reveals = AuditEntry.objects.filter(action="reveal", object_type="insights.repeat_callers")
    assert [r.actor for r in reveals] == [personas["grid_worker"]]
    assert selectors.hotspot_report(personas["outsider"], week=week).rises == []
