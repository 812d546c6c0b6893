"""Every action of the workflow table through its service: from each source state it lands
in the table's target, and from every other state it is refused with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.cases import services, workflow
from civicgrid.cases.choices import (
    Action,
    CallbackMethod,
    ReturnReason,
    Satisfaction,
    Solved,
    State,
)
from civicgrid.cases.models import Case, CaseEvent, Extension, Whistle
from civicgrid.cases.tests.builders import Desk, build_case, build_policy, build_unit
from civicgrid.core import clock
from civicgrid.core.models import AuditEntry


@pytest.fixture
def desk(town) -> Desk:
    build_policy()
    return Desk(town)


def perform(action: str, case: Case, *, actor, town, desk: Desk):
    """Run the service behind `action` on `case` with arguments that are otherwise valid."""
    later = clock.now() + dt.timedelta(days=30)
    match action:
        case Action.DISPATCH:
            return services.dispatch_case(case, desk.unit, actor=actor)
        case Action.REASSIGN:
            return services.reassign_case(case, desk.other_unit, actor=actor, note="不属本单位")
        case Action.ACCEPT:
            return services.accept_case(case, actor=actor)
        case Action.RETURN:
            return services.return_case(
                case, actor=actor, reason_code=ReturnReason.WRONG_AREA, reason="不在辖区"
            )
        case Action.RULE:
            return services.rule_on_return(case, desk.unit, actor=actor, note="职责清单第3项")
        case Action.REQUEST_EXTENSION:
            return services.request_extension(
                case, actor=actor, reason="需要协调产权单位", requested_due_at=later
            )
        case Action.APPROVE_EXTENSION | Action.REFUSE_EXTENSION:
            extension = Extension.objects.create(
                case=case, requested_by=actor, reason="需要时间", requested_due_at=later
            )
            return services.decide_extension(
                extension, actor=actor, approve=action == Action.APPROVE_EXTENSION
            )
        case Action.SUSPEND:
            return services.suspend_case(case, actor=actor, reason="等待法院判决")
        case Action.RESUME:
            return services.resume_case(case, actor=actor)
        case Action.SUPERVISE:
            return services.supervise_case(case, actor=actor, reason="群众反映强烈")
        case Action.ADD_CO_HANDLER:
            return services.add_co_handler(case, build_unit("供电公司"), actor=actor)
        case Action.CO_HANDLER_REPLY:
            return services.co_handler_reply(case, actor=actor, reply="已配合清理")
        case Action.RESOLVE:
            return services.resolve_case(case, actor=actor, reply="已修复路灯")
        case Action.CALLBACK:
            return services.record_callback(
                case,
                actor=actor,
                method=CallbackMethod.PHONE,
                contacted=True,
                solved=Solved.SOLVED,
                satisfaction=Satisfaction.SATISFIED,
            )
        case Action.REOPEN:
            return services.reopen_case(case, actor=actor, reason="复查未修好")
        case Action.CLOSE:
            return services.close_case(case, actor=actor)
        case Action.MERGE:
            into = build_case(town, lead_unit=desk.unit, state=State.DISPATCHED)
            return services.merge_case(case, into, actor=actor, reason="同一路灯")
        case Action.INVALIDATE:
            return services.invalidate_case(case, actor=actor, reason="重复恶意投诉")
        case Action.COMMENT:
            return services.comment_case(case, actor=actor, text="已电话联系")
        case Action.WHISTLE:
            return services.blow_whistle(
                actor=actor,
                area=town.communities["A1"],
                units=[desk.other_unit],
                reason="多部门联合处置",
                case=case,
            )
    raise AssertionError(f"no service for {action}")


def _case_in(state: str, town, desk: Desk) -> Case:
    lead = None if state == State.RECEIVED else desk.unit
    co = (desk.other_unit,) if state != State.RECEIVED else ()
    return build_case(town, state=state, lead_unit=lead, co_units=co)


LEGAL = [(a, s) for a, t in workflow.TRANSITIONS.items() for s in sorted(t.sources)]
ILLEGAL = [
    (a, s) for a, t in workflow.TRANSITIONS.items() for s in State.values if s not in t.sources
]


@pytest.mark.parametrize(("action", "state"), LEGAL)
def test_a_legal_transition_lands_in_the_table_target_with_one_event(
    action, state, town, desk, personas
):
    admin = personas["admin"]
    case = _case_in(state, town, desk)
    perform(action, case, actor=admin, town=town, desk=desk)
    case.refresh_from_db()
    target = workflow.TRANSITIONS[action].target or state
    events = list(case.events.all())
    assert events[0].action == action
    assert (events[0].from_state, events[0].to_state) == (state, target)
    assert case.state == target
    assert case.version == 1
    assert AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).exists()


@pytest.mark.parametrize(("action", "state"), ILLEGAL)
def test_an_illegal_transition_is_refused_and_writes_nothing(action, state, town, desk, personas):
    admin = personas["admin"]
    case = _case_in(state, town, desk)
    events = CaseEvent.objects.count()
    audits = AuditEntry.objects.count()
    whistles = Whistle.objects.count()
    with pytest.raises(workflow.IllegalTransition):
        perform(action, case, actor=admin, town=town, desk=desk)
    case.refresh_from_db()
    assert (case.state, case.version) == (state, 0)
    assert CaseEvent.objects.count() == events
    assert AuditEntry.objects.count() == audits
    assert Whistle.objects.count() == whistles
    assert not case.extensions.exclude(status="pending").exists()
