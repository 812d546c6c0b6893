"""Each scorecard rule on a small hand-made history, with the expected numbers written out.

Time-limit policy in every test: respond within 2 hours, resolve within 72 hours. Cases are
received on Monday 2 March 2026 at 09:00 (see stories.START); the month is March 2026.
"""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.cases.choices import Channel, Satisfaction, Solved
from civicgrid.cases.tests.builders import Desk, build_policy, build_unit, unit_handler
from civicgrid.scoring import presets, rollups, scorecards
from civicgrid.scoring.models import PeriodKind, Subject
from civicgrid.scoring.scorecards import component_score, period
from civicgrid.scoring.tests.stories import Story

MARCH = period(PeriodKind.MONTH, dt.date(2026, 3, 15))


@pytest.fixture
def desk(town):
    build_policy(respond_hours=2, resolve_hours=72)
    return Desk(town)


def zhungeer() -> dict:
    return presets.get("zhungeer").definition


def metrics() -> dict:
    return presets.get("metrics").definition


def unit_row(card: dict, unit) -> dict:
    return next(r for r in card["rows"] if r["id"] == unit.pk)


def test_three_rates_weighted_30_35_35_with_invalid_excluded_and_a_proactive_bonus(
    town, personas, desk
):
    d, h, u = personas["district_officer"], desk.handler, desk.unit
    # a: accepted on time (1 h), resolved in 10 h, solved and satisfied.
    Story(town, d).dispatch(u).accept(h, 1).resolve(h, 10).callback(11)
    # b: accepted late (5 h > 2 h), resolved in 20 h, partly solved, basically satisfied.
    Story(town, d).dispatch(u).accept(h, 5).resolve(h, 20).callback(
        21, solved=Solved.PARTLY, satisfaction=Satisfaction.BASIC
    )
    # c: accepted on time, resolved late (100 h > 72 h), solved and satisfied.
    Story(town, d).dispatch(u).accept(h, 1).resolve(h, 100).callback(101)
    # d: closed as invalid after review (核减): in no rate.
    Story(town, d).dispatch(u).accept(h, 1).invalidate(2)
    # e: proactive work (未诉先办), resolved: out of the 三率, a bonus of 0.5.
    Story(town, d, channel=Channel.PROACTIVE).dispatch(u).accept(h, 1).resolve(h, 3)
    rollups.refresh()

    row = unit_row(scorecards.compute(zhungeer(), MARCH, Subject.UNIT), u)
    c = row["counts"]
    assert (c["total"], c["invalid"], c["proactive"], c["scored"]) == (5, 1, 1, 3)
    assert (c["response_due"], c["responded_on_time"]) == (3, 2)
    assert (c["resolve_due"], c["resolved_on_time"]) == (3, 2)
    r = row["rates"]
    assert r["response_rate"] == pytest.approx(2 / 3, abs=1e-6)
    # (2 solved + 0.5 × 1 partly) / 3 rated; (2 satisfied + 0.8 × 1 basic) / 3 rated.
    assert r["resolution_rate"] == pytest.approx(2.5 / 3, abs=1e-6)
    assert r["satisfaction_rate"] == pytest.approx(2.8 / 3, abs=1e-6)
    assert r["resolved_on_time"] == pytest.approx(2 / 3, abs=1e-6)
    # 30 × 2/3 + 35 × 2.5/3 + 35 × 2.8/3 = 20 + 29.1667 + 32.6667 = 81.83; + 0.5 bonus.
    assert row["base"] == 81.83
    assert row["bonus"] == 0.5
    assert row["deduction"] == 0
    assert row["total"] == 82.33
    assert row["rank"] == 1


def test_unjustified_returns_are_deducted_from_the_unit_that_returned(town, personas, desk):
    d, h, u, other = personas["district_officer"], desk.handler, desk.unit, desk.other_unit
    # f: the unit returns it, the dispatcher rules it is theirs (unjustified): -1.
    Story(town, d).dispatch(u).give_back(h, 1).rule(u, 1.2).accept(h, 1.5).resolve(h, 5).callback(6)
    # g: the unit returns it, the dispatcher gives it to the other unit (justified): no
    # deduction, and the return counts for nobody (the other unit did not return it).
    Story(town, d).dispatch(u).give_back(h, 1).rule(other, 2)
    rollups.refresh()

    card = scorecards.compute(zhungeer(), MARCH, Subject.UNIT)
    row = unit_row(card, u)
    assert (row["counts"]["returns"], row["counts"]["returns_unjustified"]) == (1, 1)
    assert row["deduction"] == 1.0
    # f: accepted at 1.5 h (within 2 h of receipt), solved and satisfied: 100 − 1.
    assert row["base"] == 100.0 and row["total"] == 99.0
    assert row["rates"]["return_rate"] == 1.0
    other_row = unit_row(card, other)
    assert other_row["counts"]["returns"] == 0 and other_row["deduction"] == 0


def test_co_handlers_are_scored_on_their_part_at_their_weight(town, personas, desk):
    d, h, u = personas["district_officer"], desk.handler, desk.unit
    co = build_unit("园林绿化局", areas=[town.district])
    co_handler = unit_handler(co)
    # Both cases are co-handled; the co-handling unit replies on the first only.
    Story(town, d).dispatch(u, co_units=[co]).accept(h, 1).co_reply(co_handler, 2).resolve(
        h, 3
    ).callback(4)
    Story(town, d).dispatch(u, co_units=[co]).accept(h, 1).resolve(h, 3).callback(
        4, solved=Solved.PARTLY, satisfaction=Satisfaction.BASIC
    )
    rollups.refresh()

    card = scorecards.compute(zhungeer(), MARCH, Subject.UNIT)
    lead = unit_row(card, u)
    assert lead["counts"]["scored"] == 2 and lead["counts"]["co_replied"] == 0
    part = unit_row(card, co)
    # Each co-handled case weighs 0.5; its "response" is the reply: 0.5 of 1.0.
    assert part["counts"]["scored"] == 1.0
    assert (part["counts"]["response_due"], part["counts"]["responded_on_time"]) == (1.0, 0.5)
    assert part["rates"]["response_rate"] == 0.5
    # The outcome is shared: (1 + 0.5 × 1) / 2 solved, (1 + 0.8 × 1) / 2 satisfied.
    assert part["rates"]["resolution_rate"] == 0.75
    assert part["rates"]["satisfaction_rate"] == 0.9
    # 30 × 0.5 + 35 × 0.75 + 35 × 0.9 = 15 + 26.25 + 31.5 = 72.75.
    assert part["total"] == 72.75
    # The area counts each case once, whoever handled it.
    assert rollups.totals(start=MARCH.start, end=MARCH.end)["scored"] == 2


def test_redo_rate_and_the_threshold_preset(town, personas, desk):
    d, h, u = personas["district_officer"], desk.handler, desk.unit
    # A callback "not solved" reopens the case (重办); it is accepted again within the clock
    # restarted at the reopening, resolved again and called back solved.
    Story(town, d).dispatch(u).accept(h, 1).resolve(h, 5).callback(
        6, solved=Solved.NOT_SOLVED, satisfaction=Satisfaction.DISSATISFIED
    ).accept(h, 8).resolve(h, 9).callback(10)
    for _ in range(3):
        Story(town, d).dispatch(u).accept(h, 1).resolve(h, 5).callback(6)
    rollups.refresh()

    row = unit_row(scorecards.compute(metrics(), MARCH, Subject.UNIT), u)
    r = row["rates"]
    assert r["redo_rate"] == 0.25  # 1 reopened of 4 resolved
    assert r["on_time_acceptance"] == 1.0
    assert r["first_contact"] == 1.0
    assert r["resolved_on_time"] == 1.0
    assert r["return_rate"] == 0.0
    assert r["satisfaction_rate"] == 1.0  # the latest callback counts
    # 20 + 10 + 20 + 10 (no returns) + 0 (redo 25% is above every threshold) + 30 × 1.0.
    assert row["scores"] == {
        "on_time_acceptance": 20.0,
        "first_contact": 10.0,
        "resolved_on_time": 20.0,
        "return_rate": 10.0,
        "redo_rate": 0.0,
        "satisfaction_rate": 30.0,
    }
    assert row["total"] == 90.0


def test_component_scores_linear_and_by_threshold():
    higher = {"metric": "on_time_acceptance", "points": 20, "thresholds": [[0.98, 20], [0.9, 12]]}
    assert component_score(higher, 0.99) == 20
    assert component_score(higher, 0.98) == 20
    assert component_score(higher, 0.95) == 12
    assert component_score(higher, 0.5) == 0
    assert component_score(higher, None) is None
    lower = {"metric": "return_rate", "points": 10, "thresholds": [[0.02, 10], [0.05, 7]]}
    assert component_score(lower, 0.0) == 10
    assert component_score(lower, 0.03) == 7
    assert component_score(lower, 0.2) == 0
    assert component_score({"metric": "satisfaction_rate", "points": 35}, 0.9) == 31.5
    assert component_score({"metric": "redo_rate", "points": 10}, 0.1) == 9.0


def test_missing_rates_are_left_out_and_the_rest_scaled(town, personas, desk):
    d, h, u = personas["district_officer"], desk.handler, desk.unit
    # Accepted on time, not resolved yet: only the response rate exists (1.0 → 30 of 30),
    # scaled to 100.
    Story(town, d).dispatch(u).accept(h, 1)
    rollups.refresh()
    row = unit_row(scorecards.compute(zhungeer(), MARCH, Subject.UNIT), u)
    assert row["rates"]["satisfaction_rate"] is None
    assert row["scores"]["satisfaction_rate"] is None
    assert row["total"] == 100.0


def test_overdue_unaccepted_cases_count_as_late_responses(town, personas, desk):
    d, u = personas["district_officer"], desk.unit
    # Dispatched, never accepted; the sweeper marks it overdue at 3 h.
    Story(town, d).dispatch(u).sweep(3)
    # Dispatched 10 minutes ago: not yet due, not in the response figures.
    Story(town, d, start=Story.later(3)).dispatch(u)
    rollups.refresh()
    t = rollups.totals(start=MARCH.start, end=MARCH.end)
    assert (t["scored"], t["response_due"], t["responded_on_time"]) == (2, 1, 0)


def test_periods_and_the_previous_period():
    assert period(PeriodKind.MONTH, dt.date(2026, 3, 15)).previous() == period(
        PeriodKind.MONTH, dt.date(2026, 2, 1)
    )
    q = period(PeriodKind.QUARTER, dt.date(2026, 5, 20))
    assert (q.start, q.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert q.previous().start == dt.date(2026, 1, 1)
    w = period(PeriodKind.WEEK, dt.date(2026, 3, 4))
    assert (w.start, w.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    r = period(PeriodKind.RANGE, dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    assert (r.previous().start, r.previous().end) == (dt.date(2026, 2, 19), dt.date(2026, 2, 28))
    y = period(PeriodKind.YEAR, dt.date(2026, 7, 1))
    assert (y.start, y.end, y.previous().start) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
        dt.date(2025, 1, 1),
    )
