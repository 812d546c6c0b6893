"""The request loop through its services, end to end and step by step, with personas."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from civicgrid.cases import services, workflow
from civicgrid.cases.choices import (
    Action,
    CallbackMethod,
    DeadlineStatus,
    ExtensionStatus,
    HandlerRole,
    ReturnReason,
    Satisfaction,
    Solved,
    State,
)
from civicgrid.cases.models import CaseEvent
from civicgrid.cases.tests.builders import (
    Desk,
    build_case,
    build_policy,
    build_unit,
    unit_handler,
)
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from tests.builders import build_user

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in Chengdu


@pytest.fixture
def desk(town) -> Desk:
    build_policy(respond_hours=2, resolve_hours=72)
    return Desk(town)


@pytest.fixture
def dispatcher(personas):
    return personas["street_dispatcher"]


def actions(case) -> list[str]:
    return list(case.events.values_list("action", flat=True))


def callback(case, actor, *, solved=Solved.SOLVED, satisfaction=Satisfaction.SATISFIED):
    return services.record_callback(
        case,
        actor=actor,
        method=CallbackMethod.PHONE,
        contacted=True,
        solved=solved,
        satisfaction=satisfaction,
    )


def test_the_whole_loop_from_receipt_to_closing(town, desk, dispatcher, personas):
    with clock.frozen(T0):
        case = build_case(town)
        services.dispatch_case(case, desk.unit, actor=dispatcher, note="派单目录")
    assert case.state == State.DISPATCHED and case.lead_unit == desk.unit
    assert case.dispatched_at == T0
    assert case.respond_due_at == T0 + dt.timedelta(hours=2)
    assert case.resolve_due_at == T0 + dt.timedelta(hours=72)
    assert case.next_check_at is not None

    with clock.frozen(T0 + dt.timedelta(hours=1)):
        services.accept_case(case, actor=desk.handler, expected_version=case.version)
    with clock.frozen(T0 + dt.timedelta(hours=30)):
        services.resolve_case(case, actor=desk.handler, reply="已更换灯泡，恢复照明。")
    assert case.state == State.RESOLVED and case.reply.startswith("已更换")
    assert case.next_check_at is None
    assert case.deadline_status == DeadlineStatus.ON_TIME

    with clock.frozen(T0 + dt.timedelta(hours=40)):
        answer = callback(case, personas["hotline_operator"])
    assert answer.satisfaction == Satisfaction.SATISFIED
    assert case.state == State.CALLBACK_DONE
    with clock.frozen(T0 + dt.timedelta(hours=41)):
        services.close_case(case, actor=dispatcher)

    case.refresh_from_db()
    assert case.state == State.CLOSED and case.closed_at == T0 + dt.timedelta(hours=41)
    assert case.version == 5
    assert actions(case) == [
        Action.DISPATCH,
        Action.ACCEPT,
        Action.RESOLVE,
        Action.CALLBACK,
        Action.CLOSE,
    ]
    states = list(case.events.values_list("from_state", "to_state"))
    assert [s for s, _t in states[1:]] == [t for _s, t in states[:-1]], "the timeline chains"
    assert list(case.events.values_list("actor__username", flat=True)) == [
        dispatcher.username,
        desk.handler.username,
        desk.handler.username,
        "hotline_operator",
        dispatcher.username,
    ]
    assert AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).count() == 5


def test_dispatch_with_co_units_writes_one_lead_and_the_co_handlers(town, desk, dispatcher):
    case = build_case(town)
    services.dispatch_case(case, desk.unit, actor=dispatcher, co_units=[desk.other_unit])
    roles = dict(case.handlers.filter(active=True).values_list("unit_id", "role"))
    assert roles == {desk.unit.pk: HandlerRole.LEAD, desk.other_unit.pk: HandlerRole.CO}
    event = case.events.get()
    assert event.unit == desk.unit and event.data == {"co_units": [desk.other_unit.pk]}


def test_reassign_moves_the_lead_and_the_old_unit_can_no_longer_accept(town, desk, dispatcher):
    case = build_case(town, state=State.DISPATCHED, lead_unit=desk.unit)
    with pytest.raises(ServiceError) as empty:
        services.reassign_case(case, desk.other_unit, actor=dispatcher, note=" ")
    assert empty.value.field == "note"
    services.reassign_case(case, desk.other_unit, actor=dispatcher, note="属水务管辖")
    assert case.lead_unit == desk.other_unit
    old = case.handlers.get(unit=desk.unit)
    assert old.active is False
    # The old unit still sees the case on its history, but may not act on it.
    with pytest.raises(PermissionDeniedError):
        services.accept_case(case, actor=desk.handler)
    services.accept_case(case, actor=desk.other_handler)
    assert case.state == State.ACCEPTED


def test_return_and_ruling_lock_the_unit_in(town, desk, dispatcher):
    case = build_case(town, state=State.DISPATCHED, lead_unit=desk.unit)
    with pytest.raises(ServiceError) as bad_code:
        services.return_case(case, actor=desk.handler, reason_code="bored", reason="x")
    assert bad_code.value.field == "reason_code"
    with pytest.raises(ServiceError) as no_reason:
        services.return_case(
            case, actor=desk.handler, reason_code=ReturnReason.WRONG_AREA, reason=""
        )
    assert no_reason.value.field == "reason"
    services.return_case(
        case, actor=desk.handler, reason_code=ReturnReason.WRONG_AREA, reason="该路段属B街道"
    )
    assert (case.state, case.return_count) == (State.RETURNED, 1)
    assert case.events.get(action=Action.RETURN).data == {"reason_code": "wrong_area"}

    services.rule_on_return(case, desk.unit, actor=dispatcher, note="路灯属城管职责清单")
    assert case.state == State.DISPATCHED and case.returns_locked
    services.accept_case(case, actor=desk.handler)
    with pytest.raises(ServiceError, match="ruled") as locked:
        services.return_case(
            case, actor=desk.handler, reason_code=ReturnReason.OTHER, reason="仍不是我们的"
        )
    assert not isinstance(locked.value, workflow.IllegalTransition)
    case.refresh_from_db()
    assert (case.state, case.return_count) == (State.ACCEPTED, 1)


def test_ruling_to_another_unit_hands_the_case_over(town, desk, dispatcher):
    case = build_case(town, state=State.RETURNED, lead_unit=desk.unit)
    services.rule_on_return(case, desk.other_unit, actor=dispatcher, note="供水管网")
    assert case.lead_unit == desk.other_unit and case.returns_locked
    assert set(case.handlers.filter(active=True).values_list("unit_id", flat=True)) == {
        desk.other_unit.pk
    }
    event = case.events.get()
    assert event.unit == desk.other_unit and event.data == {"from_unit": desk.unit.pk}


def _accepted(town, desk, dispatcher, at=T0):
    with clock.frozen(at):
        case = build_case(town)
        services.dispatch_case(case, desk.unit, actor=dispatcher)
        services.accept_case(case, actor=desk.handler)
    return case


def test_approved_extension_moves_the_resolve_by_time(town, desk, dispatcher):
    case = _accepted(town, desk, dispatcher)
    wanted = T0 + dt.timedelta(days=10)
    with clock.frozen(T0 + dt.timedelta(hours=5)):
        extension = services.request_extension(
            case, actor=desk.handler, reason="需产权单位出资", requested_due_at=wanted
        )
        with pytest.raises(ServiceError, match="already waiting"):
            services.request_extension(
                case, actor=desk.handler, reason="再次", requested_due_at=wanted
            )
        with pytest.raises(PermissionDeniedError):
            services.decide_extension(extension, actor=desk.handler, approve=True)
        services.decide_extension(extension, actor=dispatcher, approve=True, note="同意")
        with pytest.raises(ServiceError, match="already been decided"):
            services.decide_extension(extension, actor=dispatcher, approve=False)
    case.refresh_from_db()
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED and extension.decided_by == dispatcher
    assert case.resolve_due_at == wanted
    assert case.state == State.ACCEPTED
    assert actions(case)[-2:] == [Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION]


def test_refused_extension_keeps_the_deadline(town, desk, dispatcher):
    case = _accepted(town, desk, dispatcher)
    due = case.resolve_due_at
    with clock.frozen(T0 + dt.timedelta(hours=5)):
        extension = services.request_extension(
            case,
            actor=desk.handler,
            reason="需要更多时间",
            requested_due_at=due + dt.timedelta(days=3),
        )
        services.decide_extension(extension, actor=dispatcher, approve=False, note="时限充足")
    case.refresh_from_db()
    assert case.resolve_due_at == due
    assert extension.status == ExtensionStatus.REFUSED
    assert case.events.last().action == Action.REFUSE_EXTENSION


def test_extension_must_be_asked_before_the_deadline_and_for_a_later_time(town, desk, dispatcher):
    case = _accepted(town, desk, dispatcher)
    with clock.frozen(T0 + dt.timedelta(hours=5)):
        with pytest.raises(ServiceError) as earlier:
            services.request_extension(
                case,
                actor=desk.handler,
                reason="理由",
                requested_due_at=case.resolve_due_at - dt.timedelta(hours=1),
            )
    assert earlier.value.field == "requested_due_at"
    with clock.frozen(T0 + dt.timedelta(hours=80)):
        with pytest.raises(ServiceError, match="before the deadline"):
            services.request_extension(
                case,
                actor=desk.handler,
                reason="理由",
                requested_due_at=T0 + dt.timedelta(days=20),
            )
    assert not case.extensions.exists()


def test_suspension_stops_the_clocks_and_resuming_moves_the_due_times(town, desk, dispatcher):
    case = _accepted(town, desk, dispatcher)
    due = case.resolve_due_at
    with clock.frozen(T0 + dt.timedelta(hours=10)):
        services.suspend_case(case, actor=dispatcher, reason="等待法院判决")
    assert case.state == State.SUSPENDED
    assert case.paused_at == T0 + dt.timedelta(hours=10) and case.next_check_at is None
    with clock.frozen(T0 + dt.timedelta(hours=34)):
        services.resume_case(case, actor=dispatcher)
    assert case.state == State.ACCEPTED and case.paused_at is None
    assert case.resolve_due_at == due + dt.timedelta(hours=24)
    assert case.next_check_at is not None
    with pytest.raises(ServiceError) as no_reason:
        services.suspend_case(case, actor=dispatcher, reason="")
    assert no_reason.value.field == "reason"


def test_a_deadline_set_while_suspended_is_not_moved_again_on_resuming(town, desk, dispatcher):
    def hours(n: int) -> dt.datetime:
        return T0 + dt.timedelta(hours=n)

    case = _accepted(town, desk, dispatcher)
    assert case.resolve_due_at == hours(72)
    with clock.frozen(hours(10)):
        extension = services.request_extension(
            case, actor=desk.handler, reason="等待材料", requested_due_at=hours(120)
        )
    with clock.frozen(hours(20)):
        services.suspend_case(case, actor=dispatcher, reason="等待法院判决")
    with clock.frozen(hours(30)):
        services.decide_extension(extension, actor=dispatcher, approve=True)
    case.refresh_from_db()
    assert case.resolve_due_at == hours(120)
    with clock.frozen(hours(50)):
        services.resume_case(case, actor=dispatcher)
    case.refresh_from_db()
    # The approved date stands; before the fix it became 120 h + the 30 h pause.
    assert case.resolve_due_at == hours(120)
    assert case.clock_started_at == hours(30)  # the clock start still moves by the pause
    # A second suspension without a new deadline moves it again, by that pause only.
    with clock.frozen(hours(60)):
        services.suspend_case(case, actor=dispatcher, reason="再次等待")
    with clock.frozen(hours(64)):
        services.resume_case(case, actor=dispatcher)
    case.refresh_from_db()
    assert case.resolve_due_at == hours(124)


def test_supervision_marks_the_case_and_may_set_a_new_deadline(town, desk, dispatcher, personas):
    case = _accepted(town, desk, dispatcher)
    new_due = T0 + dt.timedelta(hours=24)
    with clock.frozen(T0 + dt.timedelta(hours=3)):
        with pytest.raises(PermissionDeniedError):
            services.supervise_case(case, actor=personas["community_worker"], reason="催办")
        with pytest.raises(ServiceError) as past:
            services.supervise_case(
                case, actor=personas["district_officer"], reason="催办", new_due_at=T0
            )
        assert past.value.field == "new_due_at"
        supervision = services.supervise_case(
            case, actor=personas["district_officer"], reason="群众多次来电", new_due_at=new_due
        )
    case.refresh_from_db()
    assert case.supervised and case.resolve_due_at == new_due
    assert supervision.by == personas["district_officer"]
    assert case.events.last().data["supervision"] == supervision.pk


def test_co_handler_replies_and_only_a_co_unit_may(town, desk, dispatcher):
    case = _accepted(town, desk, dispatcher)
    services.add_co_handler(case, desk.other_unit, actor=dispatcher)
    with pytest.raises(ServiceError, match="already handles"):
        services.add_co_handler(case, desk.other_unit, actor=dispatcher)
    with pytest.raises(PermissionDeniedError):
        services.co_handler_reply(case, actor=desk.handler, reply="我是主办")
    handler = services.co_handler_reply(case, actor=desk.other_handler, reply="已关闭阀门")
    assert handler.unit == desk.other_unit and handler.reply == "已关闭阀门"
    event = case.events.last()
    assert (event.action, event.unit) == (Action.CO_HANDLER_REPLY, desk.other_unit)


def _resolved(town, desk, dispatcher):
    case = _accepted(town, desk, dispatcher)
    with clock.frozen(T0 + dt.timedelta(hours=20)):
        services.resolve_case(case, actor=desk.handler, reply="已处理")
    return case


def test_a_dissatisfied_callback_reopens_the_case_to_the_same_unit(
    town, desk, dispatcher, personas
):
    case = _resolved(town, desk, dispatcher)
    reopened_at = T0 + dt.timedelta(days=2)
    with clock.frozen(reopened_at):
        callback(case, personas["hotline_operator"], satisfaction=Satisfaction.DISSATISFIED)
    case.refresh_from_db()
    assert (case.state, case.lead_unit, case.reopen_count) == (State.DISPATCHED, desk.unit, 1)
    assert case.resolved_at is None and case.accepted_at is None
    # The clocks start again from the reopening.
    assert case.respond_due_at == reopened_at + dt.timedelta(hours=2)
    assert case.resolve_due_at == reopened_at + dt.timedelta(hours=72)
    last_two = list(case.events.order_by("-id")[:2])[::-1]
    assert [(e.action, e.from_state, e.to_state) for e in last_two] == [
        (Action.CALLBACK, State.RESOLVED, State.CALLBACK_DONE),
        (Action.REOPEN, State.CALLBACK_DONE, State.DISPATCHED),
    ]
    assert last_two[1].data["automatic"] is True
    assert last_two[1].data["previous_reply"] == "已处理"


def test_reopening_stops_at_the_limit(town, desk, dispatcher, personas, settings):
    settings.CASE_MAX_REOPENS = 1
    case = _resolved(town, desk, dispatcher)
    callback(case, personas["hotline_operator"], solved=Solved.NOT_SOLVED)
    assert case.state == State.DISPATCHED
    services.accept_case(case, actor=desk.handler)
    services.resolve_case(case, actor=desk.handler, reply="再次处理")
    callback(case, personas["hotline_operator"], solved=Solved.NOT_SOLVED)
    assert (case.state, case.reopen_count) == (State.CALLBACK_DONE, 1)
    # A dispatcher may still decide to reopen it.
    services.reopen_case(case, actor=dispatcher, reason="领导批示重办")
    assert (case.state, case.reopen_count) == (State.DISPATCHED, 2)


def test_a_resident_answers_the_callback_on_their_own_case(town, desk, dispatcher, personas):
    resident = personas["resident"]
    case = _resolved(town, desk, dispatcher)
    case.reporter = resident
    case.save(update_fields=["reporter"])
    answer = services.record_callback(
        case,
        actor=resident,
        method=CallbackMethod.PHONE,
        contacted=True,
        solved=Solved.SOLVED,
        satisfaction=Satisfaction.BASIC,
    )
    assert answer.method == CallbackMethod.WEB and answer.by == resident
    assert case.state == State.CALLBACK_DONE
    other = _resolved(town, desk, dispatcher)
    with pytest.raises(Http404):
        callback(other, resident)


def test_callback_answers_are_validated(town, desk, dispatcher, personas):
    case = _resolved(town, desk, dispatcher)
    with pytest.raises(ServiceError) as bad:
        services.record_callback(
            case,
            actor=personas["hotline_operator"],
            method="pigeon",
            contacted=True,
            solved="maybe",
            satisfaction=Satisfaction.SATISFIED,
        )
    assert set(bad.value.errors) == {"method", "solved"}
    assert not case.callbacks.exists()


def test_merge_folds_the_duplicate_and_keeps_every_reporter(town, desk, dispatcher):
    target = build_case(town, state=State.DISPATCHED, lead_unit=desk.unit, reporter_name="王")
    first = build_case(town, reporter_name="李")
    second = build_case(town, reporter_name="赵")
    services.merge_case(first, second, actor=dispatcher, reason="同一路灯")
    services.merge_case(second, target, actor=dispatcher, reason="同一路灯")
    first.refresh_from_db()
    assert (second.state, second.parent) == (State.MERGED, target)
    assert first.parent == target, "cases merged into the duplicate follow it"
    assert set(target.merged_cases.values_list("reporter_name", flat=True)) == {"李", "赵"}
    event = target.events.get()
    assert event.action == Action.MERGE and event.data["merged"] == [second.number, first.number]
    assert target.state == State.DISPATCHED and target.version == 1
    with pytest.raises(ServiceError) as itself:
        services.merge_case(target, target, actor=dispatcher)
    assert itself.value.field == "into"
    live = build_case(town)
    with pytest.raises(ServiceError, match="still live"):
        services.merge_case(live, second, actor=dispatcher)


def test_invalid_needs_a_reviewed_reason(town, desk, dispatcher):
    case = build_case(town, state=State.DISPATCHED, lead_unit=desk.unit)
    with pytest.raises(ServiceError) as short:
        services.invalidate_case(case, actor=dispatcher, reason="无")
    assert short.value.field == "reason"
    services.invalidate_case(case, actor=dispatcher, reason="诉求人要求代写作业，不属政府职责")
    case.refresh_from_db()
    assert case.state == State.INVALID and case.invalid_reason.startswith("诉求人")
    assert case.closed_at is not None and case.next_check_at is None


def test_comments_go_on_the_timeline_in_order(town, desk, dispatcher, personas):
    case = build_case(town, state=State.CLOSED, lead_unit=desk.unit)
    services.comment_case(case, actor=dispatcher, text="第一条")
    services.comment_case(case, actor=desk.handler, text="第二条")
    with pytest.raises(ServiceError):
        services.comment_case(case, actor=dispatcher, text="  ")
    assert list(case.events.values_list("reason", flat=True)) == ["第一条", "第二条"]
    assert case.state == State.CLOSED


# --- scope and capability ---------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, a: services.accept_case(c, actor=a),
        lambda c, a: services.resolve_case(c, actor=a, reply="已办"),
        lambda c, a: services.comment_case(c, actor=a, text="看看"),
        lambda c, a: services.supervise_case(c, actor=a, reason="催"),
        lambda c, a: services.invalidate_case(c, actor=a, reason="不合理诉求"),
    ],
)
def test_hidden_cases_are_404_for_other_units_and_outsiders(call, town, desk, personas):
    case = build_case(town, state=State.ACCEPTED, lead_unit=desk.unit)
    stranger = unit_handler(build_unit("园林局"))
    for actor in (stranger, personas["outsider"]):
        with pytest.raises(Http404):
            call(case, actor)
    assert not CaseEvent.objects.filter(case=case).exists()


def test_a_unit_never_acts_on_another_units_case(town, desk):
    theirs = build_case(town, state=State.DISPATCHED, lead_unit=desk.other_unit)
    with pytest.raises(Http404):
        services.accept_case(theirs, actor=desk.handler)
    # Visible as a co-handler, yet not the lead unit: refused, not hidden.
    shared = build_case(
        town, state=State.DISPATCHED, lead_unit=desk.other_unit, co_units=[desk.unit]
    )
    with pytest.raises(PermissionDeniedError):
        services.accept_case(shared, actor=desk.handler)
    with pytest.raises(PermissionDeniedError):
        services.return_case(
            shared, actor=desk.handler, reason_code=ReturnReason.OTHER, reason="不是我们"
        )


@pytest.mark.parametrize(
    ("persona", "call"),
    [
        ("grid_worker", lambda c, d: services.dispatch_case(c, d.unit, actor=d.actor)),
        ("community_worker", lambda c, d: services.dispatch_case(c, d.unit, actor=d.actor)),
        ("auditor", lambda c, d: services.invalidate_case(c, actor=d.actor, reason="五个字以上")),
        ("hotline_operator", lambda c, d: services.merge_case(c, d.other, actor=d.actor)),
        ("street_dispatcher", lambda c, d: services.accept_case(c, actor=d.actor)),
    ],
)
def test_visible_but_not_allowed_is_a_permission_error(persona, call, town, desk, personas):
    case = build_case(town)
    desk.actor = personas[persona]
    desk.other = build_case(town)
    if persona == "street_dispatcher":
        services.dispatch_case(case, desk.unit, actor=desk.actor)
    version = case.version
    with pytest.raises(PermissionDeniedError):
        call(case, desk)
    case.refresh_from_db()
    assert case.version == version


def test_a_dispatcher_of_another_street_sees_nothing(town, desk):
    b_dispatcher = build_user(role="street_dispatcher", area=town.streets["B"])
    case = build_case(town)  # in street A
    with pytest.raises(Http404):
        services.dispatch_case(case, desk.unit, actor=b_dispatcher)


# --- version checks ----------------------------------------------------------------------


def test_a_stale_version_is_a_conflict_and_writes_nothing(town, desk, dispatcher):
    case = build_case(town)
    services.dispatch_case(case, desk.unit, actor=dispatcher, expected_version=0)
    events = CaseEvent.objects.count()
    audits = AuditEntry.objects.count()
    with pytest.raises(services.ConflictError, match="reload"):
        services.accept_case(case, actor=desk.handler, expected_version=0)
    case.refresh_from_db()
    assert (case.state, case.version) == (State.DISPATCHED, 1)
    assert (CaseEvent.objects.count(), AuditEntry.objects.count()) == (events, audits)
    services.accept_case(case, actor=desk.handler, expected_version=1)
    assert case.version == 2


def test_the_compare_and_swap_refuses_a_write_that_lost_the_race(
    town, desk, dispatcher, monkeypatch
):
    """SQLite ignores row locks: a writer that read before another committed must lose."""
    case = build_case(town)
    real_lock = services._lock

    def lock_then_lose(case, expected_version=None):
        locked = real_lock(case, expected_version)
        # Someone else commits between our read and our write.
        type(locked).objects.filter(pk=locked.pk).update(version=locked.version + 1)
        return locked

    monkeypatch.setattr(services.steps, "_lock", lock_then_lose)  # what _begin calls
    events = CaseEvent.objects.count()
    with pytest.raises(services.ConflictError):
        services.dispatch_case(case, desk.unit, actor=dispatcher)
    case.refresh_from_db()
    # The whole transaction rolled back, the simulated rival write included.
    assert (case.state, case.version) == (State.RECEIVED, 0)
    assert CaseEvent.objects.count() == events
    assert not case.handlers.exists()
