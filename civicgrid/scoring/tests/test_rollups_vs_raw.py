"""The rollups equal the figures computed from the raw cases, on randomised histories.

Hypothesis draws a sequence of steps (new cases, every transition, sweeps, the clock moving
on, incremental refreshes at random moments); the steps run through the real services, and
illegal ones are refused by the workflow and skipped. At the end the incrementally maintained
counts must equal one aggregate query over the cases (`raw.py`), and a full rebuild.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.cases import intake, services, sweeper
from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    Kind,
    ReturnReason,
    Satisfaction,
    Solved,
)
from civicgrid.cases.models import Case
from civicgrid.cases.tests.builders import build_policy, build_unit
from civicgrid.core import clock
from civicgrid.core.errors import ServiceError
from civicgrid.scoring import raw, rollups
from civicgrid.scoring.models import MEASURES, AreaDayCount, Role, RollupCount
from civicgrid.scoring.tests.stories import START

GRIDS = ["A1-1", "A1-2", "A2-1", "B1-1", "B2-2"]
WIDE = (dt.date(2026, 2, 1), dt.date(2026, 4, 30))

# "advance" moves a case along its usual path (dispatch, accept, resolve, callback, close),
# taking a side road (return, co-handler, partly solved, dissatisfied) by its variant; it is
# listed several times so that most histories go deep.
advance = st.tuples(st.just("advance"), st.integers(0, 3), st.integers(0, 5))
step = st.one_of(
    *[advance] * 24,
    st.tuples(st.just("dispatch"), st.integers(0, 3), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("accept"), st.integers(0, 3)),
    st.tuples(st.just("return"), st.integers(0, 3)),
    st.tuples(st.just("rule"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("reassign"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("co_reply"), st.integers(0, 3)),
    st.tuples(st.just("resolve"), st.integers(0, 3)),
    st.tuples(
        st.just("callback"),
        st.integers(0, 3),
        st.sampled_from(Solved.values),
        st.sampled_from(Satisfaction.values),
    ),
    st.tuples(st.just("close"), st.integers(0, 3)),
    st.tuples(st.just("invalidate"), st.integers(0, 3)),
    st.tuples(st.just("reopen"), st.integers(0, 3)),
    *[st.tuples(st.just("tick"), st.sampled_from([0.5, 3, 30, 200]))] * 4,
    st.tuples(st.just("sweep")),
    st.tuples(st.just("refresh")),
)


def _run(steps, town, officer, units) -> None:
    now = START

    slots: dict[int, Case] = {}

    def pick(i: int) -> Case:
        """The case in slot `i` (there are four), taken in now if the slot is still empty."""
        i %= 4
        if i not in slots:
            area = town.grids[GRIDS[i % len(GRIDS)]]
            lat, lon = town.centre(area)
            slots[i] = intake.receive_case(
                actor=officer,
                channel=Channel.PROACTIVE if i == 3 else Channel.HOTLINE,
                kind=Kind.COMPLAINT,
                title="占道经营",
                description="门口有人占道经营。",
                lat=lat,
                lon=lon,
                reporter_name="李先生",
                reporter_phone="13900000000",
            )
        case = slots[i]
        case.refresh_from_db()
        return case

    for s in steps:
        kind = s[0]
        with clock.frozen(now):
            try:
                if kind == "tick":
                    now += dt.timedelta(hours=s[1])
                elif kind == "sweep":
                    sweeper.sweep_deadlines(now=now)
                elif kind == "refresh":
                    rollups.refresh()
                elif kind == "advance":
                    _advance(pick(s[1]), s[2], units)
                else:
                    _act(kind, pick(s[1]), s, units)
            except ServiceError:
                pass  # an illegal step for the case's state: the workflow refused it
        # Keep the clock moving a little, so events are ordered and days change.
        now += dt.timedelta(minutes=7)


def _act(kind: str, case: Case, s: tuple, units) -> None:
    """One named transition of `case` (ServiceError when the workflow refuses it)."""
    if kind == "dispatch":
        co = [units[(s[2] + 1) % 3]] if s[3] else []
        services.dispatch_case(case, units[s[2]], actor=None, co_units=co)
    elif kind == "accept":
        services.accept_case(case, actor=None)
    elif kind == "return":
        services.return_case(
            case, actor=None, reason_code=ReturnReason.WRONG_AREA, reason="不在辖区"
        )
    elif kind == "rule":
        services.rule_on_return(case, units[s[2]], actor=None, note="职责清单")
    elif kind == "reassign":
        services.reassign_case(case, units[s[2]], actor=None, note="转派")
    elif kind == "co_reply":
        services.co_handler_reply(case, actor=None, reply="已配合")
    elif kind == "resolve":
        services.resolve_case(case, actor=None, reply="已处理")
    elif kind == "callback":
        services.record_callback(
            case,
            actor=None,
            method=CallbackMethod.PHONE,
            contacted=s[2] != Solved.NOT_SOLVED,
            solved=s[2],
            satisfaction=s[3],
        )
    elif kind == "close":
        services.close_case(case, actor=None)
    elif kind == "invalidate":
        services.invalidate_case(case, actor=None, reason="经审核为不合理诉求")
    elif kind == "reopen":
        services.reopen_case(case, actor=None, reason="群众不满意")


def _advance(case: Case, variant: int, units) -> None:
    state = case.state
    if state == "received":
        co = [units[(variant + 1) % 3]] if variant % 2 else []
        services.dispatch_case(case, units[variant % 3], actor=None, co_units=co)
    elif state == "dispatched":
        if variant == 5:
            services.return_case(
                case, actor=None, reason_code=ReturnReason.UNCLEAR_OWNERSHIP, reason="权属不清"
            )
        else:
            services.accept_case(case, actor=None)
    elif state == "returned":
        services.rule_on_return(case, units[variant % 3], actor=None, note="审定")
    elif state == "accepted":
        if variant == 4 and case.handlers.filter(role="co", replied_at__isnull=True).exists():
            services.co_handler_reply(case, actor=None, reply="已配合")
        else:
            services.resolve_case(case, actor=None, reply="已处理")
    elif state == "resolved":
        solved = [Solved.SOLVED, Solved.SOLVED, Solved.PARTLY, Solved.NOT_SOLVED][variant % 4]
        satisfaction = [
            Satisfaction.SATISFIED,
            Satisfaction.BASIC,
            Satisfaction.DISSATISFIED,
            Satisfaction.NO_ANSWER,
            Satisfaction.SATISFIED,
            Satisfaction.SATISFIED,
        ][variant]
        services.record_callback(
            case,
            actor=None,
            method=CallbackMethod.PHONE,
            contacted=variant != 3,
            solved=solved,
            satisfaction=satisfaction,
        )
    elif state == "callback_done":
        services.close_case(case, actor=None)


def _rollup_units(start, end) -> dict:
    return {
        (r["unit"], r["role"]): {m: r[m] for m in MEASURES}
        for r in rollups.counts(start=start, end=end, group_by=("unit", "role"), role=None)
    }


def _rollup_areas(start, end) -> dict:
    from civicgrid.scoring.models import CaseFacts

    by_area = {
        r["area"]: {m: r[m] for m in MEASURES}
        for r in rollups.counts(start=start, end=end, group_by=("area",), role=Role.LEAD)
    }
    paths = dict(CaseFacts.objects.values_list("area_id", "area_path").distinct())
    return {paths[a]: m for a, m in by_area.items()}


def _table_areas(model, start, end, *, by_day: bool = False) -> dict:
    """{area path (, day): measures} read straight from one count table's lead rows, leaving
    out keys that count nothing (a refresh may leave none, a rebuild never writes them)."""
    qs = model.objects.filter(day__gte=start, day__lte=end)
    if model is RollupCount:
        qs = qs.filter(role=Role.LEAD)
    keys = ("area_path", "day") if by_day else ("area_path",)
    rows = qs.order_by().values(*keys).annotate(**{f"s_{m}": Sum(m) for m in MEASURES})
    out = {}
    for r in rows:
        if r["s_total"]:
            out[tuple(r[k] for k in keys) if by_day else r["area_path"]] = {
                m: r[f"s_{m}"] for m in MEASURES
            }
    return out


def _check(start, end) -> None:
    assert _rollup_units(start, end) == raw.unit_measures(start, end)
    figures = raw.area_measures(start, end)
    assert _rollup_areas(start, end) == figures
    # Both tables that hold area rows, read directly: each must equal the raw figures, and the
    # area-day table must equal the fine table's lead rows day by day.
    assert _table_areas(AreaDayCount, start, end) == figures
    assert _table_areas(RollupCount, start, end) == figures
    assert _table_areas(AreaDayCount, start, end, by_day=True) == _table_areas(
        RollupCount, start, end, by_day=True
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=15, max_size=80))
def test_rollups_equal_raw_figures_on_random_histories(town, personas, steps):
    with transaction.atomic():
        build_policy(respond_hours=2, resolve_hours=72)
        units = [build_unit(f"单位{i}", areas=[town.district]) for i in range(3)]
        _run(steps, town, personas["district_officer"], units)
        rollups.refresh()
        _check(*WIDE)
        _check(dt.date(2026, 3, 2), dt.date(2026, 3, 3))
        before = _rollup_units(*WIDE)
        before_areas = _table_areas(AreaDayCount, *WIDE, by_day=True)
        rollups.rebuild()
        assert _rollup_units(*WIDE) == before
        assert _table_areas(AreaDayCount, *WIDE, by_day=True) == before_areas
        transaction.set_rollback(True)
