"""Template helpers of the case pages: deadline countdowns and the labels of stored codes."""

from __future__ import annotations

from django import template

from civicgrid.cases import workflow
from civicgrid.cases.choices import Action, DeadlineStatus, State

register = template.Library()


def running_deadline(case) -> tuple[str, object] | None:
    """("respond" | "resolve", due time) of the clock that runs now, or None.

    Before the unit accepts, the response clock is the one that counts; afterwards the
    resolution clock. A suspended or finished case shows no countdown.
    """
    if not workflow.clock_running(case.state):
        return None
    if workflow.awaiting_response(case.state) and case.respond_due_at:
        return "respond", case.respond_due_at
    if case.resolve_due_at:
        return "resolve", case.resolve_due_at
    return None


@register.inclusion_tag("cases/_countdown.html")
def countdown(case) -> dict:
    """A coloured countdown (green / amber / red by the stored deadline status) that
    cases.js keeps up to date."""
    running = running_deadline(case)
    status = case.deadline_status or DeadlineStatus.ON_TIME
    return {
        "case": case,
        "kind": running[0] if running else "",
        "due": running[1] if running else None,
        "status": status,
        "status_label": DeadlineStatus(status).label,
    }


@register.filter
def state_label(code: str) -> str:
    try:
        return State(code).label
    except ValueError:
        return code


@register.filter
def action_label(code: str) -> str:
    try:
        return Action(code).label
    except ValueError:
        return code
