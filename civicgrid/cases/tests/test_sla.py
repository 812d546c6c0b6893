"""Time limits: rule matching, each preset's figures, clock states, pause/resume, reopening."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from civicgrid.cases import sla
from civicgrid.cases.choices import Complexity, DeadlineStatus, Kind, State, TimeUnit, Urgency
from civicgrid.cases.models import CalendarDay, Case, SlaPolicy, SlaRule
from civicgrid.cases.tests.builders import (
    build_case,
    build_category,
    build_policy,
    build_preset,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def received(town, when: dt.datetime, **kwargs) -> Case:
    """A case received at `when`, its clocks started as intake would."""
    case = build_case(town, received_at=when, **kwargs)
    sla.apply_deadlines(case, now=when)
    case.save()
    return case


# --- presets ----------------------------------------------------------------------------------


def test_jinniu_respond_2h_resolve_24h_complex_72h(town):
    policy = build_preset("jinniu")
    start = at(2026, 6, 13, 22)  # a Saturday night: hours run round the clock
    case = received(town, start)
    assert case.policy == policy
    assert (case.respond_due_at, case.resolve_due_at) == (start + 2 * H, start + 24 * H)
    hard = build_category("老旧小区改造", complexity=Complexity.COMPLEX)
    case = received(town, start, category=hard)
    assert case.resolve_due_at == start + 72 * H


@pytest.mark.parametrize(
    "urgency, category_code, resolve",
    [
        (Urgency.EMERGENCY, None, 2 * H),
        (Urgency.NORMAL, "0103", 24 * H),  # water, power, gas (a child of 0103)
        (Urgency.EMERGENCY, "0103", 2 * H),  # equally specific: the stricter wins
        (Urgency.NORMAL, None, dt.timedelta(days=7)),
        (Urgency.NORMAL, "complex", dt.timedelta(days=15)),
    ],
)
def test_beijing_limits(town, urgency, category_code, resolve):
    utilities = build_category("水电气供应", code="0103")
    water = build_category("供水", parent=utilities, code="010301")
    complex_ = build_category("拖欠工资", complexity=Complexity.COMPLEX)
    build_preset("beijing")
    category = {"0103": water, "complex": complex_, None: None}[category_code]
    start = at(2026, 9, 28, 10)
    case = received(town, start, urgency=urgency, category=category)
    assert case.resolve_due_at == start + resolve
    assert case.respond_due_at == start + min(resolve, 24 * H)


def test_beijing_without_utility_categories_falls_back_to_urgent(town):
    policy = build_preset("beijing")
    fallback = policy.rules.get(urgency=Urgency.URGENT)
    assert fallback.category is None and fallback.resolve_value == 24
    start = at(2026, 9, 28, 10)
    assert received(town, start, urgency=Urgency.URGENT).resolve_due_at == start + 24 * H


@pytest.mark.parametrize(
    "kind, due",
    [
        # Received Wednesday 30 Sep 2026 10:00; 1-7 Oct are the National Day holiday and
        # Saturday 10 Oct a make-up working day (调休).
        (Kind.INQUIRY, at(2026, 10, 9)),  # 2 working days: Thu 8, Fri 9
        (Kind.HELP, at(2026, 10, 20)),  # 10: 8, 9, 10(Sat), 12-16, 19, 20
        (Kind.SUGGESTION, at(2026, 10, 20)),
        (Kind.COMPLAINT, at(2026, 10, 27)),  # 15
        (Kind.REPORT, at(2026, 10, 27)),
        (Kind.PRAISE, at(2026, 10, 20)),  # other kinds: the help limit
    ],
)
def test_guangdong_working_days_across_national_day(town, kind, due):
    build_preset("guangdong")
    case = received(town, at(2026, 9, 30), kind=kind)
    assert case.resolve_due_at == due
    assert case.respond_due_at == at(2026, 10, 8)


def test_guangdong_counts_a_local_closure(town):
    build_preset("guangdong")
    CalendarDay.objects.create(day=dt.date(2026, 10, 9), is_workday=False, note="typhoon")
    case = received(town, at(2026, 9, 30), kind=Kind.INQUIRY)
    assert case.resolve_due_at == at(2026, 10, 10)


def test_loading_presets_is_idempotent_and_follows_the_file(town, capsys):
    call_command("load_sla_presets", verbosity=0)
    counts = {p.code: p.rules.count() for p in SlaPolicy.objects.all()}
    assert counts == {"beijing": 4, "guangdong": 6, "jinniu": 2}
    ids = set(SlaRule.objects.values_list("pk", flat=True))
    call_command("load_sla_presets", verbosity=0)
    assert set(SlaRule.objects.values_list("pk", flat=True)) == ids
    # An operator's edit in the database is put back to the file's figure.
    SlaRule.objects.filter(policy__code="jinniu", complexity="").update(resolve_value=48)
    call_command("load_sla_presets", "jinniu", verbosity=0)
    assert SlaRule.objects.get(policy__code="jinniu", complexity="").resolve_value == 24


def test_load_command_activates_one_policy(town):
    call_command("load_sla_presets", activate="guangdong", verbosity=0)
    call_command("load_sla_presets", activate="jinniu", verbosity=0)
    assert list(SlaPolicy.objects.filter(is_active=True).values_list("code", flat=True)) == [
        "jinniu"
    ]


# --- rule matching ----------------------------------------------------------------------------


def rule(policy, hours, **matchers) -> SlaRule:
    return SlaRule.objects.create(
        policy=policy,
        respond_value=1,
        respond_unit=TimeUnit.HOURS,
        resolve_value=hours,
        resolve_unit=TimeUnit.HOURS,
        **matchers,
    )


def test_rule_for_prefers_more_matchers_then_the_nearer_category(town):
    policy = SlaPolicy.objects.create(code="t", name="t")
    top = build_category("城市管理")
    mid = build_category("市容环境", parent=top)
    leaf = build_category("占道经营", parent=mid)
    other = build_category("教育")
    anything = rule(policy, 100)
    on_top = rule(policy, 90, category=top)
    on_mid = rule(policy, 80, category=mid)
    rule(policy, 10, category=other)
    complaint_on_top = rule(policy, 95, category=top, kind=Kind.COMPLAINT)
    case = Case(kind=Kind.REPORT, urgency=Urgency.NORMAL, category=leaf)
    assert sla.rule_for(policy, case) == on_mid
    case.kind = Kind.COMPLAINT
    assert sla.rule_for(policy, case) == complaint_on_top
    case.kind, case.category = Kind.REPORT, top
    assert sla.rule_for(policy, case) == on_top
    case.category = None
    assert sla.rule_for(policy, case) == anything


def test_no_policy_or_no_rule_means_no_deadlines(town):
    case = received(town, at(2026, 6, 10))
    assert case.policy is None
    assert (case.respond_due_at, case.resolve_due_at, case.next_check_at) == (None, None, None)
    assert case.deadline_status == DeadlineStatus.ON_TIME


# --- the clock ----------------------------------------------------------------------------------


def test_near_due_then_overdue_on_the_respond_clock_then_the_resolve_clock(town):
    build_policy(respond_hours=10, resolve_hours=100, near_due_fraction=0.2)
    start = at(2026, 6, 10, 0)
    case = received(town, start)
    assert case.deadline_status == DeadlineStatus.ON_TIME
    assert case.next_check_at == start + 8 * H  # 20% of 10 hours left
    assert sla.status(case, now=start + 8 * H - dt.timedelta(seconds=1)) == DeadlineStatus.ON_TIME
    sla.apply_deadlines(case, now=start + 8 * H)
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.NEAR_DUE, start + 10 * H)
    sla.apply_deadlines(case, now=start + 10 * H)
    assert case.deadline_status == DeadlineStatus.OVERDUE
    assert case.next_check_at == start + 80 * H  # the resolve clock still has a threshold
    # Accepting stops the response clock: only the resolve clock counts now.
    case.state = State.ACCEPTED
    sla.apply_deadlines(case, now=start + 11 * H)
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.ON_TIME, start + 80 * H)
    sla.apply_deadlines(case, now=start + 100 * H)
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.OVERDUE, None)


def test_a_late_import_is_overdue_at_once(town):
    build_policy(respond_hours=2, resolve_hours=24)
    case = build_case(town, received_at=at(2026, 6, 1))
    sla.apply_deadlines(case, now=at(2026, 6, 10))
    assert case.resolve_due_at == at(2026, 6, 2)
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.OVERDUE, None)


def test_pause_and_resume_shift_the_due_times(town):
    build_policy(respond_hours=2, resolve_hours=24)
    start = at(2026, 6, 10, 8)
    case = received(town, start, state=State.ACCEPTED)
    case.state = State.SUSPENDED
    sla.pause(case, now=start + 5 * H)
    sla.apply_deadlines(case, now=start + 5 * H)
    assert case.next_check_at is None and case.paused_at == start + 5 * H
    # Time passes while suspended: the status is judged at the pause.
    assert sla.status(case, now=start + 200 * H) == DeadlineStatus.ON_TIME
    case.state = State.ACCEPTED
    sla.resume(case, now=start + 53 * H)
    sla.apply_deadlines(case, now=start + 53 * H)
    assert case.paused_at is None
    assert case.resolve_due_at == start + 72 * H  # 24 h + 48 h suspended
    assert case.next_check_at == start + (48 + 24 - 24 * 0.2) * H
    assert case.deadline_status == DeadlineStatus.ON_TIME


def test_resolved_and_closed_cases_have_no_next_check(town):
    build_policy(respond_hours=2, resolve_hours=24)
    start = at(2026, 6, 10, 8)
    case = received(town, start, state=State.ACCEPTED)
    case.state, case.resolved_at = State.RESOLVED, start + 30 * H
    sla.apply_deadlines(case, now=start + 30 * H)
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.OVERDUE, None)
    case.state = State.CLOSED
    sla.apply_deadlines(case, now=start + 40 * H)
    assert case.next_check_at is None


def test_reopening_restarts_both_clocks_from_now_once(town):
    build_policy(respond_hours=2, resolve_hours=24)
    start = at(2026, 6, 10, 8)
    case = received(town, start, state=State.ACCEPTED)
    case.state, case.resolved_at = State.RESOLVED, start + 3 * H
    sla.apply_deadlines(case, now=start + 3 * H)
    reopened = start + 50 * H
    case.state, case.reopen_count = State.DISPATCHED, 1
    sla.apply_deadlines(case, now=reopened)
    assert (case.respond_due_at, case.resolve_due_at) == (reopened + 2 * H, reopened + 24 * H)
    assert case.deadline_status == DeadlineStatus.ON_TIME
    # A later step (acceptance) does not restart them again.
    case.state = State.ACCEPTED
    sla.apply_deadlines(case, now=reopened + 1 * H)
    assert case.resolve_due_at == reopened + 24 * H


def test_an_extension_moves_the_due_time_and_the_status_follows(town):
    build_policy(respond_hours=2, resolve_hours=24)
    start = at(2026, 6, 10, 8)
    case = received(town, start, state=State.ACCEPTED)
    sla.apply_deadlines(case, now=start + 25 * H)
    assert case.deadline_status == DeadlineStatus.OVERDUE
    case.resolve_due_at = start + 48 * H  # approved extension, set by the service
    sla.apply_deadlines(case, now=start + 25 * H)
    assert (case.deadline_status, case.next_check_at) == (DeadlineStatus.ON_TIME, start + 38.4 * H)
