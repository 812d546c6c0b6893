"""The case workflow: one table of allowed transitions. Nothing else compares state strings.

Each action names the states it may start from, the state it leads to (None: the state does
not change, the action is still an event on the timeline), and the capability it needs.
`services.py` calls `check(action, case.state)` before doing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicgrid.cases.choices import Action, State
from civicgrid.core.errors import ServiceError

OPEN_STATES = frozenset(
    {
        State.RECEIVED,
        State.DISPATCHED,
        State.ACCEPTED,
        State.RETURNED,
        State.SUSPENDED,
    }
)
# Resolved and callback-done cases are finished by the unit but not yet closed.
AWAITING_CLOSE = frozenset({State.RESOLVED, State.CALLBACK_DONE})
TERMINAL_STATES = frozenset({State.CLOSED, State.MERGED, State.INVALID})
# States in which the respond / resolve clocks run (suspended pauses them).
CLOCK_RUNNING = frozenset({State.RECEIVED, State.DISPATCHED, State.ACCEPTED, State.RETURNED})
# States in which the unit has not yet acknowledged the case (the response clock runs).
AWAITING_RESPONSE = frozenset({State.RECEIVED, State.DISPATCHED, State.RETURNED})

ANY_OPEN = OPEN_STATES


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change
    capability: str


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition(
            Action.DISPATCH, frozenset({State.RECEIVED}), State.DISPATCHED, "cases.dispatch"
        ),
        Transition(
            Action.REASSIGN, frozenset({State.DISPATCHED}), State.DISPATCHED, "cases.dispatch"
        ),
        Transition(Action.ACCEPT, frozenset({State.DISPATCHED}), State.ACCEPTED, "cases.handle"),
        Transition(
            Action.RETURN,
            frozenset({State.DISPATCHED, State.ACCEPTED}),
            State.RETURNED,
            "cases.handle",
        ),
        # 审定: the dispatcher rules on a return, fixing the unit (it may not return it again).
        Transition(Action.RULE, frozenset({State.RETURNED}), State.DISPATCHED, "cases.dispatch"),
        Transition(Action.REQUEST_EXTENSION, frozenset({State.ACCEPTED}), None, "cases.handle"),
        Transition(
            Action.APPROVE_EXTENSION,
            frozenset({State.ACCEPTED, State.SUSPENDED}),
            None,
            "cases.dispatch",
        ),
        Transition(
            Action.REFUSE_EXTENSION,
            frozenset({State.ACCEPTED, State.SUSPENDED}),
            None,
            "cases.dispatch",
        ),
        Transition(Action.SUSPEND, frozenset({State.ACCEPTED}), State.SUSPENDED, "cases.dispatch"),
        Transition(Action.RESUME, frozenset({State.SUSPENDED}), State.ACCEPTED, "cases.dispatch"),
        Transition(Action.SUPERVISE, ANY_OPEN, None, "cases.supervise"),
        Transition(Action.ADD_CO_HANDLER, ANY_OPEN, None, "cases.dispatch"),
        Transition(Action.CO_HANDLER_REPLY, frozenset({State.ACCEPTED}), None, "cases.handle"),
        Transition(Action.RESOLVE, frozenset({State.ACCEPTED}), State.RESOLVED, "cases.handle"),
        Transition(
            Action.CALLBACK, frozenset({State.RESOLVED}), State.CALLBACK_DONE, "cases.callback"
        ),
        # 重办: a dissatisfied or unsolved callback sends the case back to its unit.
        Transition(
            Action.REOPEN,
            frozenset({State.RESOLVED, State.CALLBACK_DONE, State.CLOSED}),
            State.DISPATCHED,
            "cases.dispatch",
        ),
        Transition(Action.CLOSE, AWAITING_CLOSE, State.CLOSED, "cases.dispatch"),
        Transition(
            Action.MERGE,
            frozenset({State.RECEIVED, State.DISPATCHED, State.ACCEPTED, State.RETURNED}),
            State.MERGED,
            "cases.dispatch",
        ),
        # 不合理诉求: closed with a reviewed reason; excluded from scorecards (核减).
        Transition(Action.INVALIDATE, ANY_OPEN | AWAITING_CLOSE, State.INVALID, "cases.dispatch"),
        Transition(Action.COMMENT, ANY_OPEN | AWAITING_CLOSE | TERMINAL_STATES, None, "cases.view"),
        Transition(Action.WHISTLE, ANY_OPEN, None, "cases.whistle"),
    ]
}


class IllegalTransition(ServiceError):
    """The action is not allowed from the case's current state."""


def transition(action: str) -> Transition:
    try:
        return TRANSITIONS[action]
    except KeyError:
        raise IllegalTransition(_("Unknown action %(action)s.") % {"action": action}) from None


def check(action: str, state: str) -> str:
    """The state `action` leads to from `state`; raises IllegalTransition if not allowed."""
    t = transition(action)
    if state not in t.sources:
        raise IllegalTransition(
            _("Cannot %(action)s a case that is %(state)s.")
            % {"action": Action(action).label, "state": State(state).label},
            field="action",
        )
    return t.target or state


def allowed_actions(state: str) -> list[str]:
    """Actions that may start from `state` (before capability and unit checks)."""
    return [a for a, t in TRANSITIONS.items() if state in t.sources]


def is_open(state: str) -> bool:
    return state in OPEN_STATES


def is_terminal(state: str) -> bool:
    return state in TERMINAL_STATES


def clock_running(state: str) -> bool:
    return state in CLOCK_RUNNING


def awaiting_response(state: str) -> bool:
    return state in AWAITING_RESPONSE
