"""The deadline sweeper: transitions, events, notifications, compare-and-swap, absent summonses."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection

from civicgrid.cases import notifications, sla, sweeper
from civicgrid.cases.choices import Action, DeadlineStatus, State, SummonsStatus
from civicgrid.cases.models import Case, CaseEvent, Notification, Summons, Whistle
from civicgrid.cases.tests.builders import build_case, build_policy, build_unit, unit_handler
from civicgrid.core import clock

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
START = dt.datetime(2026, 6, 10, 8, tzinfo=SH)


def received(town, **kwargs) -> Case:
    case = build_case(town, received_at=kwargs.pop("received_at", START), **kwargs)
    sla.apply_deadlines(case, now=case.received_at)
    case.save()
    return case


def deadline_events(case: Case) -> list[dict]:
    return list(case.events.filter(action=Action.DEADLINE).values_list("data", flat=True))


@pytest.fixture
def unit(town):
    return build_unit("城管执法局", areas=[town.district])


def test_sweep_moves_cases_to_near_due_then_overdue_with_events_and_notices(town, personas, unit):
    build_policy(respond_hours=10, resolve_hours=100)
    handler = unit_handler(unit)
    case = received(town, state=State.DISPATCHED, lead_unit=unit)
    untouched = received(town, received_at=START + 5 * H)

    assert sweeper.sweep_deadlines(now=START + 7 * H).checked == 0
    result = sweeper.sweep_deadlines(now=START + 8 * H)
    assert (result.checked, result.near_due, result.overdue) == (1, 1, 0)
    case.refresh_from_db()
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.NEAR_DUE, START + 10 * H)
    assert deadline_events(case) == [{"from": "on_time", "to": "near_due"}]
    # The lead unit's handler and the street's dispatcher hear of it, in the app.
    near = Notification.objects.filter(case=case)
    assert {n.recipient for n in near} == {handler, personas["street_dispatcher"]}
    assert all("near due" in n.subject for n in near)

    result = sweeper.sweep_deadlines(now=START + 10 * H)
    assert (result.checked, result.near_due, result.overdue) == (1, 0, 1)
    case.refresh_from_db()
    assert case.deadline_status == DeadlineStatus.OVERDUE
    assert case.next_check_at == START + 80 * H  # the resolve clock's near-due threshold
    assert deadline_events(case)[-1] == {"from": "near_due", "to": "overdue"}
    untouched.refresh_from_db()
    assert untouched.deadline_status == DeadlineStatus.ON_TIME
    assert not deadline_events(untouched)


def test_a_check_that_changes_nothing_writes_no_event(town, unit):
    build_policy(respond_hours=10, resolve_hours=100)
    case = received(town, state=State.DISPATCHED, lead_unit=unit)
    sweeper.sweep_deadlines(now=START + 10 * H)  # respond clock overdue
    case.refresh_from_db()
    case.state = State.ACCEPTED  # accepted without the sweeper knowing; next check stays
    Case.objects.filter(pk=case.pk).update(state=State.ACCEPTED)
    result = sweeper.sweep_deadlines(now=START + 80 * H)
    case.refresh_from_db()
    assert result.checked == 1
    assert case.deadline_status == DeadlineStatus.NEAR_DUE
    assert [e["to"] for e in deadline_events(case)] == ["overdue", "near_due"]


def test_stopped_clocks_are_cleared_without_an_event(town):
    build_policy(respond_hours=2, resolve_hours=24)
    case = received(town, state=State.ACCEPTED)
    Case.objects.filter(pk=case.pk).update(state=State.SUSPENDED, paused_at=START + H)
    result = sweeper.sweep_deadlines(now=START + 30 * H)
    case.refresh_from_db()
    assert result.checked == 1 and result.overdue == 0
    assert case.next_check_at is None and case.deadline_status == DeadlineStatus.ON_TIME
    assert not deadline_events(case)


def test_batches_cover_every_due_case(town):
    build_policy(respond_hours=2, resolve_hours=24)
    cases = [received(town, received_at=START + i * dt.timedelta(minutes=1)) for i in range(7)]
    result = sweeper.sweep_deadlines(now=START + 30 * H, batch_size=3)
    assert (result.checked, result.overdue) == (7, 7)
    assert (
        Case.objects.filter(pk__in=[c.pk for c in cases], next_check_at__isnull=True).count() == 7
    )


def test_a_case_changed_after_the_sweep_read_it_is_skipped_then_picked_up(town, monkeypatch):
    build_policy(respond_hours=2, resolve_hours=24)
    case = received(town)
    stale = sweeper._select_batch(START + 3 * H, 1000, set())
    # A transition bumps the version between the read and the write.
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)
    monkeypatch.setattr(
        sweeper, "_select_batch", lambda now, size, skipped: [] if skipped else stale
    )
    result = sweeper.sweep_deadlines(now=START + 3 * H)
    assert (result.checked, result.skipped, result.overdue) == (0, 1, 0)
    assert not deadline_events(case)
    monkeypatch.undo()
    result = sweeper.sweep_deadlines(now=START + 3 * H)
    assert (result.checked, result.overdue) == (1, 1)
    assert len(deadline_events(case)) == 1


def test_two_sweeps_over_the_same_rows_change_each_case_once(town, personas, monkeypatch):
    """Sweep A reads its batch; sweep B runs to the end; then A writes: A must lose every row."""
    build_policy(respond_hours=2, resolve_hours=24)
    cases = [received(town) for _ in range(5)]
    original = sweeper._compare_and_swap
    results, raced = [], []

    def interleaved(updates):
        if not raced:
            raced.append(True)
            results.append(sweeper.sweep_deadlines(now=START + 3 * H))  # sweep B, complete
        return original(updates)

    monkeypatch.setattr(sweeper, "_compare_and_swap", interleaved)
    first = sweeper.sweep_deadlines(now=START + 3 * H)
    (second,) = results
    assert (second.checked, second.overdue) == (5, 5)
    assert (first.checked, first.overdue, first.skipped) == (0, 0, 5)
    for case in cases:
        assert len(deadline_events(case)) == 1
    assert Notification.objects.filter(case__in=cases).count() == 5  # the dispatcher, once each


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_in_two_threads_record_each_change_once(monkeypatch):
    from tests.builders import Town

    town = Town()
    build_policy(respond_hours=2, resolve_hours=24)
    cases = [received(town) for _ in range(20)]
    barrier = threading.Barrier(2, timeout=30)
    original = sweeper._select_batch

    def select_then_wait(now, size, skipped):
        rows = original(now, size, skipped)
        if rows and not skipped:
            barrier.wait()  # both sweepers hold the same rows before either writes
        return rows

    monkeypatch.setattr(sweeper, "_select_batch", select_then_wait)
    results, errors = [], []

    def run():
        try:
            results.append(sweeper.sweep_deadlines(now=START + 3 * H))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.overdue for r in results) == 20
    assert sum(r.checked for r in results) == 20
    for case in cases:
        assert len(deadline_events(case)) == 1


def test_summonses_past_the_limit_are_marked_absent(town, personas, unit):
    build_policy()
    case = received(town)
    whistle = Whistle.objects.create(
        case=case,
        area=town.streets["A"],
        reason="占道经营反复",
        blown_by=personas["street_dispatcher"],
        blown_at=START,
        limit_minutes=30,
    )
    late = Summons.objects.create(
        whistle=whistle, unit=unit, due_at=START + dt.timedelta(minutes=30)
    )
    other = build_unit("市场监管所", areas=[town.district])
    came = Summons.objects.create(
        whistle=whistle,
        unit=other,
        due_at=START + dt.timedelta(minutes=30),
        reported_at=START + dt.timedelta(minutes=10),
        status=SummonsStatus.REPORTED,
    )
    assert sweeper.sweep_deadlines(now=START + dt.timedelta(minutes=29)).whistles_absent == 0
    assert sweeper.sweep_deadlines(now=START + dt.timedelta(minutes=31)).whistles_absent == 1
    late.refresh_from_db()
    came.refresh_from_db()
    assert (late.status, came.status) == (SummonsStatus.ABSENT, SummonsStatus.REPORTED)
    assert deadline_events(case)[-1]["to"] == "absent"
    told = notifications.unread_for(personas["street_dispatcher"])
    assert any("did not report in" in n.subject for n in told)
    assert sweeper.sweep_deadlines(now=START + 2 * H).whistles_absent == 0


def test_the_command_sweeps_now(town, capsys):
    build_policy(respond_hours=2, resolve_hours=24)
    case = received(town)
    with clock.frozen(START + 30 * H):
        call_command("sweep_deadlines")
    case.refresh_from_db()
    assert case.deadline_status == DeadlineStatus.OVERDUE
    assert "overdue 1" in capsys.readouterr().out
    assert CaseEvent.objects.filter(case=case, action=Action.DEADLINE).count() == 1
