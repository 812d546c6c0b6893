"""Two people acting on the same case at the same instant: exactly one of them wins.

On PostgreSQL the row lock (`select_for_update`) makes the second writer wait and then see
the state the first one left, so it is refused by the workflow table or the version check.
SQLite has no row locks and serialises whole-database writes, so the real race runs only on
PostgreSQL; the version test runs everywhere.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from civicgrid.cases import services, workflow
from civicgrid.cases.choices import Action, State
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tests.builders import Desk, build_case, unit_handler
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks and concurrent writers: run with CIVICGRID_DATABASE_URL=postgres://",
)
@pytest.mark.django_db(transaction=True)
def test_two_handlers_accepting_at_once_one_wins(town):
    desk = Desk(town)
    colleague = unit_handler(desk.unit)
    case = build_case(town, state=State.DISPATCHED, lead_unit=desk.unit)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def accept(actor):
        try:
            mine = Case.objects.get(pk=case.pk)  # each thread reads its own copy
            barrier.wait(timeout=10)
            services.accept_case(mine, actor=actor)
            outcomes.append("accepted")
        except (services.ConflictError, workflow.IllegalTransition) as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=accept, args=(a,)) for a in (desk.handler, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("accepted") == 1, outcomes
    loser = next(o for o in outcomes if o != "accepted")
    assert isinstance(loser, services.ConflictError | workflow.IllegalTransition)
    case.refresh_from_db()
    assert (case.state, case.version) == (State.ACCEPTED, 1)
    assert CaseEvent.objects.filter(case=case, action=Action.ACCEPT).count() == 1
    assert AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).count() == 1


def test_a_form_read_before_someone_elses_change_is_refused(town):
    desk = Desk(town)
    case = build_case(town, state=State.DISPATCHED, lead_unit=desk.unit)
    seen = case.version  # the handler opens the page
    services.reassign_case(case, desk.other_unit, actor=None, note="转水务")  # the desk acts
    events = CaseEvent.objects.count()
    with pytest.raises(services.ConflictError):
        services.accept_case(case, actor=desk.other_handler, expected_version=seen)
    case.refresh_from_db()
    assert (case.state, case.version) == (State.DISPATCHED, seen + 1)
    assert CaseEvent.objects.count() == events


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks and concurrent writers: run with CIVICGRID_DATABASE_URL=postgres://",
)
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_merging_a_pair_both_ways_do_not_deadlock(town, personas, monkeypatch):
    dispatcher = personas["street_dispatcher"]
    first, second = build_case(town), build_case(town)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    # Hold each merge just after it has locked its duplicate, until the other merge has done
    # the same (or a second passed): without locking both rows in one order, each would now
    # wait for the row the other holds, and PostgreSQL would kill one as a deadlock.
    both_locked = threading.Barrier(2)
    real_begin = services._begin

    def begin_then_wait(*args, **kwargs):
        step = real_begin(*args, **kwargs)
        try:
            both_locked.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        return step

    # merge_case lives in services.transitions, which holds its own reference to _begin.
    monkeypatch.setattr(services.transitions, "_begin", begin_then_wait)

    def merge(case, into):
        try:
            mine, target = Case.objects.get(pk=case.pk), Case.objects.get(pk=into.pk)
            barrier.wait(timeout=10)
            services.merge_case(mine, target, actor=dispatcher, reason="同一件事")
            outcomes.append("merged")
        except ServiceError as exc:  # the loser finds its target already merged
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=merge, args=pair) for pair in ((first, second), (second, first))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2, "a thread died (deadlock?)"
    assert outcomes.count("merged") == 1, outcomes
    states = sorted(
        Case.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)
    )
    assert states == sorted([State.MERGED, State.RECEIVED])
