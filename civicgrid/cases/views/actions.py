"""The case page's action forms: which ones a user is offered, and the service each one calls.

What may happen to a case is decided by `workflow` (state) and the capability table; for
`cases.handle` actions also by the unit the user belongs to. The services check all of it
again: this module only decides which forms to draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _

from civicgrid.cases import forms as case_forms
from civicgrid.cases import services, workflow
from civicgrid.cases.choices import Action, HandlerRole
from civicgrid.cases.models import Case, CaseHandler
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import Scope


def _merge(case: Case, data: dict, actor) -> None:
    into = (
        Case.objects.visible_to(actor)
        .filter(number=data["into"].strip())
        .exclude(pk=case.pk)
        .first()
    )
    if into is None:
        raise ServiceError(_("No case with this number in your scope."), field="into")
    services.merge_case(case, into, actor=actor, reason=data.get("reason", ""))


@dataclass(frozen=True)
class CaseAction:
    form: type[forms.Form]
    perform: Callable[[Case, dict, object], object]
    # Shown to the unit's handlers in their inbox and in the first row of the case page.
    primary: bool = False
    danger: bool = False


ACTIONS: dict[str, CaseAction] = {
    Action.DISPATCH: CaseAction(
        case_forms.DispatchForm,
        lambda c, d, a: services.dispatch_case(
            c,
            d["unit"],
            actor=a,
            co_units=tuple(d.get("co_units") or ()),
            note=d.get("note", ""),
            expected_version=d.get("version"),
        ),
        primary=True,
    ),
    Action.REASSIGN: CaseAction(
        case_forms.ReassignForm,
        lambda c, d, a: services.reassign_case(c, d["unit"], actor=a, note=d["note"]),
    ),
    Action.ACCEPT: CaseAction(
        case_forms.EmptyActionForm,
        lambda c, d, a: services.accept_case(c, actor=a, expected_version=d.get("version")),
        primary=True,
    ),
    Action.RETURN: CaseAction(
        case_forms.ReturnForm,
        lambda c, d, a: services.return_case(
            c, actor=a, reason_code=d["reason_code"], reason=d["reason"]
        ),
    ),
    Action.RULE: CaseAction(
        case_forms.RuleForm,
        lambda c, d, a: services.rule_on_return(c, d["unit"], actor=a, note=d["note"]),
        primary=True,
    ),
    Action.REQUEST_EXTENSION: CaseAction(
        case_forms.ExtensionForm,
        lambda c, d, a: services.request_extension(
            c, actor=a, reason=d["reason"], requested_due_at=d["requested_due_at"]
        ),
    ),
    Action.SUSPEND: CaseAction(
        case_forms.ReasonForm,
        lambda c, d, a: services.suspend_case(c, actor=a, reason=d["reason"]),
    ),
    Action.RESUME: CaseAction(
        case_forms.EmptyActionForm, lambda c, d, a: services.resume_case(c, actor=a)
    ),
    Action.SUPERVISE: CaseAction(
        case_forms.SuperviseForm,
        lambda c, d, a: services.supervise_case(
            c, actor=a, reason=d["reason"], new_due_at=d.get("new_due_at")
        ),
    ),
    Action.ADD_CO_HANDLER: CaseAction(
        case_forms.AddCoHandlerForm,
        lambda c, d, a: services.add_co_handler(c, d["unit"], actor=a),
    ),
    Action.CO_HANDLER_REPLY: CaseAction(
        case_forms.CoReplyForm,
        lambda c, d, a: services.co_handler_reply(c, actor=a, reply=d["reply"]),
        primary=True,
    ),
    Action.RESOLVE: CaseAction(
        case_forms.ReplyForm,
        lambda c, d, a: services.resolve_case(c, actor=a, reply=d["reply"]),
        primary=True,
    ),
    Action.CALLBACK: CaseAction(
        case_forms.CallbackForm,
        lambda c, d, a: services.record_callback(
            c,
            actor=a,
            method=d["method"],
            contacted=d["contacted"],
            solved=d["solved"],
            satisfaction=d["satisfaction"],
            note=d.get("note", ""),
        ),
        primary=True,
    ),
    Action.REOPEN: CaseAction(
        case_forms.ReasonForm,
        lambda c, d, a: services.reopen_case(c, actor=a, reason=d["reason"]),
    ),
    Action.CLOSE: CaseAction(
        case_forms.EmptyActionForm,
        lambda c, d, a: services.close_case(c, actor=a),
        primary=True,
    ),
    Action.MERGE: CaseAction(case_forms.MergeForm, _merge),
    Action.INVALIDATE: CaseAction(
        case_forms.ReasonForm,
        lambda c, d, a: services.invalidate_case(c, actor=a, reason=d["reason"]),
        danger=True,
    ),
    Action.COMMENT: CaseAction(
        case_forms.CommentForm,
        lambda c, d, a: services.comment_case(c, actor=a, text=d["text"]),
    ),
}


def handling_units(case: Case) -> dict[int, str]:
    """{unit id: handler role} of the units active on the case."""
    return dict(CaseHandler.objects.filter(case=case, active=True).values_list("unit_id", "role"))


def offered_actions(case: Case, scope: Scope, units: dict[int, str] | None = None) -> list[str]:
    """The actions to draw for this user: allowed from the state, by the capability table and,
    for unit work, by the user's unit (lead for most, co-handler for the co-handler reply)."""
    units = handling_units(case) if units is None else units
    mine = {u: role for u, role in units.items() if scope.everything or u in scope.unit_ids}
    offered = []
    for action in workflow.allowed_actions(case.state):
        if action not in ACTIONS:
            continue
        capability = workflow.transition(action).capability
        if not scope.can(capability):
            continue
        if capability == "cases.handle" and not scope.everything:
            wanted = HandlerRole.CO if action == Action.CO_HANDLER_REPLY else HandlerRole.LEAD
            if wanted not in mine.values():
                continue
        offered.append(action)
    return offered


def blank_form(action: str, case: Case) -> forms.Form:
    return ACTIONS[action].form(initial={"version": case.version}, prefix=action)
