"""The transition table itself, and the case builders it is tested with."""

from __future__ import annotations

import pytest

from civicgrid.cases import workflow
from civicgrid.cases.choices import Action, State
from civicgrid.cases.tests.builders import build_case, build_category, build_unit, unit_handler
from civicgrid.core.scoping import scope_of


def test_builders_make_a_dispatched_case_with_its_lead_handler(town):
    unit = build_unit(areas=[town.streets["A"]])
    handler = unit_handler(unit)
    case = build_case(town, state=State.DISPATCHED, lead_unit=unit, category=build_category())
    assert case.area_path == town.grids["A1-1"].path
    assert case.handlers.get().unit == unit
    assert unit.pk in scope_of(handler).unit_ids


@pytest.mark.parametrize("action", list(workflow.TRANSITIONS))
def test_every_source_state_is_accepted_and_every_other_refused(action):
    t = workflow.TRANSITIONS[action]
    for state in State.values:
        if state in t.sources:
            assert workflow.check(action, state) == (t.target or state)
        else:
            with pytest.raises(workflow.IllegalTransition):
                workflow.check(action, state)


def test_unknown_action_is_illegal():
    with pytest.raises(workflow.IllegalTransition):
        workflow.check("teleport", State.RECEIVED)


def test_merged_and_invalid_cases_allow_only_comments_and_closed_ones_may_reopen():
    for state in (State.MERGED, State.INVALID):
        assert workflow.allowed_actions(state) == [Action.COMMENT]
    assert set(workflow.allowed_actions(State.CLOSED)) == {Action.REOPEN, Action.COMMENT}
