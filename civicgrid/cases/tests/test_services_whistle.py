"""吹哨报到: a street or community summons units, each reports in within the limit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from civicgrid.cases import services, workflow
from civicgrid.cases.choices import Action, State, SummonsStatus
from civicgrid.cases.models import Notification, Whistle
from civicgrid.cases.tests.builders import Desk, build_case, build_unit, unit_handler
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def desk(town) -> Desk:
    return Desk(town)


@pytest.fixture
def worker(personas):
    return personas["community_worker"]  # community A1


def blow(town, desk, worker, case=None, **kwargs):
    with clock.frozen(T0):
        return services.blow_whistle(
            actor=worker,
            area=town.communities["A1"],
            units=[desk.unit, desk.other_unit],
            reason="暴雨积水，需城管、水务到场",
            site="A1社区东门",
            case=case,
            **kwargs,
        )


def test_a_whistle_summons_every_unit_with_a_deadline(town, desk, worker):
    case = build_case(town, state=State.ACCEPTED, lead_unit=desk.unit)
    whistle = blow(town, desk, worker, case=case)
    summonses = {s.unit_id: s for s in whistle.summonses.all()}
    assert set(summonses) == {desk.unit.pk, desk.other_unit.pk}
    assert {s.due_at for s in summonses.values()} == {T0 + dt.timedelta(minutes=30)}
    assert {s.status for s in summonses.values()} == {SummonsStatus.PENDING}
    event = case.events.get()
    assert (event.action, event.data["whistle"]) == (Action.WHISTLE, whistle.pk)
    assert case.version == 1
    # Every handler of a summoned unit is told.
    told = set(
        Notification.objects.filter(subject__contains="A1").values_list("recipient", flat=True)
    )
    assert {desk.handler.pk, desk.other_handler.pk} <= told


def test_report_in_on_time_late_and_only_once(town, desk, worker):
    case = build_case(town, state=State.ACCEPTED, lead_unit=desk.unit)
    whistle = blow(town, desk, worker, case=case)
    ours = whistle.summonses.get(unit=desk.unit)
    theirs = whistle.summonses.get(unit=desk.other_unit)
    with clock.frozen(T0 + dt.timedelta(minutes=20)):
        services.report_in(ours, actor=desk.handler)
        with pytest.raises(ServiceError, match="already reported"):
            services.report_in(ours, actor=desk.handler)
    with clock.frozen(T0 + dt.timedelta(minutes=45)):
        services.report_in(theirs, actor=desk.other_handler)
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, ours.reported_by) == (SummonsStatus.REPORTED, desk.handler)
    assert theirs.status == SummonsStatus.LATE
    assert list(case.events.values_list("action", flat=True)) == [
        Action.WHISTLE,
        Action.REPORT_IN,
        Action.REPORT_IN,
    ]
    case.refresh_from_db()
    assert case.version == 1, "reporting in is not a transition"


def test_only_the_summoned_unit_reports_in(town, desk, worker, personas):
    whistle = blow(town, desk, worker)
    ours = whistle.summonses.get(unit=desk.unit)
    with pytest.raises(Http404):
        services.report_in(ours, actor=personas["outsider"])
    far = unit_handler(build_unit("B街道办", areas=[town.streets["B"]]))
    with pytest.raises(Http404):
        services.report_in(ours, actor=far)  # the whistle is not in its areas
    for colleague in (desk.other_handler, worker):  # they see the whistle, are not the unit
        with pytest.raises(PermissionDeniedError):
            services.report_in(ours, actor=colleague)
    ours.refresh_from_db()
    assert ours.reported_at is None


def test_whistles_need_the_capability_and_the_area(town, desk, worker, personas):
    with pytest.raises(PermissionDeniedError):
        blow(town, desk, personas["grid_worker"])
    with pytest.raises(PermissionDeniedError) as outside:
        services.blow_whistle(
            actor=worker, area=town.communities["B1"], units=[desk.unit], reason="越界"
        )
    assert outside.value.field == "area"
    with pytest.raises(ServiceError) as no_units:
        services.blow_whistle(actor=worker, area=town.communities["A1"], units=[], reason="x")
    assert no_units.value.field == "units"
    with pytest.raises(ServiceError) as no_limit:
        blow(town, desk, worker, limit_minutes=0)
    assert no_limit.value.field == "limit_minutes"
    assert not Whistle.objects.exists()


def test_a_closed_case_cannot_be_whistled(town, desk, worker):
    case = build_case(town, state=State.CLOSED, lead_unit=desk.unit)
    with pytest.raises(workflow.IllegalTransition):
        blow(town, desk, worker, case=case)
    assert not Whistle.objects.exists()


def test_a_whistle_closes_only_after_its_case_is_resolved(town, desk, worker):
    case = build_case(town, state=State.ACCEPTED, lead_unit=desk.unit)
    whistle = blow(town, desk, worker, case=case)
    with pytest.raises(ServiceError, match="resolved"):
        services.close_whistle(whistle, actor=worker)
    services.resolve_case(case, actor=desk.handler, reply="积水已排除")
    services.close_whistle(whistle, actor=worker)
    whistle.refresh_from_db()
    assert whistle.closed_at is not None
    with pytest.raises(ServiceError, match="already closed"):
        services.close_whistle(whistle, actor=worker)
    late = whistle.summonses.get(unit=desk.other_unit)
    with pytest.raises(ServiceError, match="closed"):
        services.report_in(late, actor=desk.other_handler)


def test_a_whistle_without_a_case_closes_any_time(town, desk, worker, personas):
    whistle = blow(town, desk, worker)
    with pytest.raises(Http404):
        services.close_whistle(whistle, actor=personas["outsider"])
    with pytest.raises(PermissionDeniedError):
        services.close_whistle(whistle, actor=desk.handler)
    services.close_whistle(whistle, actor=worker)
    assert whistle.closed_at is not None
