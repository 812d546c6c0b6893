"""Time limits (时限): due times, deadline status and the next check, as pure functions.

Every function takes `now` as an argument and never saves: the caller (a service, intake or
the sweeper) writes the case in its own transaction. The only database reads are the
policy's rules and the working-day overrides.

- The response clock (respond by) runs while the unit has not acknowledged the case
  (`workflow.awaiting_response`); the resolution clock (resolve by) while the case is open.
  Suspending a case pauses both; resuming shifts both due times by the pause.
- Both clocks start when the case is received, and start again from `now` when the case is
  reopened (重办: `reopen_count` went up since they last started).
- A running deadline is near due once less than `policy.near_due_fraction` of its span
  (from the clock start to the due time) is left, and overdue once passed. The case's
  status is the worst of its running deadlines; `next_check_at` is the next moment that
  status can change (a near-due threshold or a due time), which the sweeper polls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from civicgrid.cases import rawsql, workdays, workflow
from civicgrid.cases.choices import Complexity, DeadlineStatus, TimeUnit
from civicgrid.cases.models import Case, Category, SlaPolicy, SlaRule

_SEVERITY = {DeadlineStatus.ON_TIME: 0, DeadlineStatus.NEAR_DUE: 1, DeadlineStatus.OVERDUE: 2}
# For ranking equally specific rules by strictness only: a working day counts as a day.
_APPROX_HOURS = {TimeUnit.HOURS: 1, TimeUnit.CALENDAR_DAYS: 24, TimeUnit.WORKING_DAYS: 24}


def active_policy() -> SlaPolicy | None:
    """The active policy (at most one), with its rules read in the same query."""
    rules = _active_rules()
    if not rules:
        return SlaPolicy.objects.filter(is_active=True).first()
    policy = rules[0].policy
    for rule in rules:
        rule.policy = policy
    policy._sla_rules = rules  # `_rules` answers from these while the instance lives
    return policy


def _active_rules() -> list[SlaRule]:
    """`SlaRule.objects.filter(policy__is_active=True).select_related("policy")`, written out
    (see `rawsql`): every case intake takes in starts its clocks from the active policy."""
    r, p = SlaRule, SlaPolicy
    sql = (
        f"SELECT {rawsql.columns(r, 'r')}, {rawsql.columns(p, 'p')} "
        f"FROM {rawsql.table(r)} r INNER JOIN {rawsql.table(p)} p "
        f"ON p.{rawsql.column(p, 'id')} = r.{rawsql.column(r, 'policy')} "
        f"WHERE p.{rawsql.column(p, 'is_active')} = %s"
    )
    rules = []
    for row in rawsql.fetch(sql, [True]):
        rule, at = rawsql.instances(r, row)
        rule.policy, _end = rawsql.instances(p, row, at)
        rules.append(rule)
    return rules


def _category_chain(category: Category | None) -> list[int]:
    """The category's id, then its ancestors' ids, nearest first."""
    chain: list[int] = []
    while category is not None:
        chain.append(category.pk)
        category = category.parent
    return chain


def _rules(policy: SlaPolicy) -> list[SlaRule]:
    # A policy has a handful of rules: reading them all and ranking in Python is one query
    # (none when `active_policy` read them along with the policy).
    rules = getattr(policy, "_sla_rules", None)
    return list(rules) if rules is not None else list(policy.rules.all())


def rule_for(policy: SlaPolicy, case: Case) -> SlaRule | None:
    """The most specific rule of `policy` that matches the case, or None.

    A rule matches when each of its set matchers equals the case's value: kind, urgency,
    complexity (of the case's category; ordinary without one), and category (the case's
    category or one of its ancestors). The rule with the most matchers set wins; among
    those, a rule on a nearer category; then the stricter (shorter resolve limit), so that,
    e.g., an emergency about water is held to the emergency limit; then the older rule.
    """
    chain = _category_chain(case.category)
    complexity = case.category.complexity if case.category else Complexity.ORDINARY
    best: tuple | None = None
    best_rule: SlaRule | None = None
    for rule in _rules(policy):
        if rule.kind and rule.kind != case.kind:
            continue
        if rule.urgency and rule.urgency != case.urgency:
            continue
        if rule.complexity and rule.complexity != complexity:
            continue
        if rule.category_id is not None and rule.category_id not in chain:
            continue
        matchers = sum(
            bool(x) for x in (rule.kind, rule.urgency, rule.complexity, rule.category_id)
        )
        closeness = -chain.index(rule.category_id) if rule.category_id is not None else 0
        strictness = -rule.resolve_value * _APPROX_HOURS[rule.resolve_unit]
        key = (matchers, closeness, strictness, -rule.pk)
        if best is None or key > best:
            best, best_rule = key, rule
    return best_rule


def add_limit(start: dt.datetime, value: int, unit: str) -> dt.datetime:
    """`start` plus a limit expressed in hours, calendar days or working days."""
    if unit == TimeUnit.HOURS:
        return workdays.add_hours(start, value)
    if unit == TimeUnit.WORKING_DAYS:
        return workdays.add_working_days(start, value)
    if unit == TimeUnit.CALENDAR_DAYS:
        return workdays.add_calendar_days(start, value)
    raise ValueError(f"unknown time unit {unit!r}")


def due_times(
    case: Case, policy: SlaPolicy | None, start: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(respond_due, resolve_due) for the case under `policy`, counted from `start`.

    (None, None) when there is no policy or no rule matches.
    """
    rule = rule_for(policy, case) if policy is not None else None
    if rule is None:
        return None, None
    return (
        add_limit(start, rule.respond_value, rule.respond_unit),
        add_limit(start, rule.resolve_value, rule.resolve_unit),
    )


def evaluate(
    *,
    state: str,
    respond_due: dt.datetime | None,
    resolve_due: dt.datetime | None,
    started: dt.datetime | None,
    fraction: float,
    at: dt.datetime,
) -> tuple[str, dt.datetime | None]:
    """(deadline status, next check) of a case whose clocks run, at the instant `at`.

    The sweeper calls this on plain column values, so it touches no model instance.
    """
    deadlines: list[dt.datetime] = []
    if respond_due is not None and workflow.awaiting_response(state):
        deadlines.append(respond_due)
    if resolve_due is not None and workflow.is_open(state):
        deadlines.append(resolve_due)
    status = DeadlineStatus.ON_TIME
    checks: list[dt.datetime] = []
    for due in deadlines:
        span = (due - started) if started is not None and started < due else dt.timedelta(0)
        near = due - span * fraction
        if at >= due:
            current = DeadlineStatus.OVERDUE
        elif at >= near:
            current = DeadlineStatus.NEAR_DUE
            checks.append(due)
        else:
            current = DeadlineStatus.ON_TIME
            checks.append(near)
        if _SEVERITY[current] > _SEVERITY[status]:
            status = current
    return status, min(checks, default=None)


def _fraction(case: Case) -> float:
    return case.policy.near_due_fraction if case.policy is not None else 0.0


def status(case: Case, *, now: dt.datetime) -> str:
    """The case's deadline status at `now`.

    A suspended case is judged at the moment it was paused (its clocks are stopped); a
    resolved or closed case at the moment it was resolved (or closed), on its resolution
    deadline only.
    """
    at = now
    if case.paused_at is not None:
        at = min(now, case.paused_at)
    elif not workflow.is_open(case.state):
        stopped = case.resolved_at or case.closed_at
        if stopped is None or case.resolve_due_at is None:
            return case.deadline_status
        return DeadlineStatus.OVERDUE if stopped > case.resolve_due_at else DeadlineStatus.ON_TIME
    result, _ = evaluate(
        state=case.state,
        respond_due=case.respond_due_at,
        resolve_due=case.resolve_due_at,
        started=case.clock_started_at or case.received_at,
        fraction=_fraction(case),
        at=at,
    )
    return result


def apply_deadlines(case: Case, *, now: dt.datetime) -> Case:
    """Bring the case's clock fields up to date after a change. Does not save.

    Sets `policy` to the active policy if the case has none; starts the clocks when the case
    is first received (from `received_at`) or has been reopened (from `now`); then sets
    `deadline_status` and `next_check_at` (None while suspended, resolved or closed).
    """
    if case.policy_id is None:
        case.policy = active_policy()
    if workflow.is_open(case.state):
        reopened = case.reopen_count > case.clock_round
        if reopened or case.clock_started_at is None:
            start = now if reopened or case.reopen_count else case.received_at
            case.respond_due_at, case.resolve_due_at = due_times(case, case.policy, start)
            case.clock_started_at = start
            case.clock_round = case.reopen_count
            case.paused_at = None
    case.deadline_status = status(case, now=now)
    if workflow.clock_running(case.state) and case.paused_at is None:
        _, case.next_check_at = evaluate(
            state=case.state,
            respond_due=case.respond_due_at,
            resolve_due=case.resolve_due_at,
            started=case.clock_started_at,
            fraction=_fraction(case),
            at=now,
        )
    else:
        case.next_check_at = None
    return case


def pause(case: Case, *, now: dt.datetime) -> Case:
    """Stop the clocks (suspension). Does not save."""
    if case.paused_at is None:
        case.paused_at = now
    case.next_check_at = None
    return case


def resume(case: Case, *, now: dt.datetime, resolve_due_set_in_pause: bool = False) -> Case:
    """Restart the clocks, moving the due times (and the clock start) by the pause.

    A resolve-by time set while the case was suspended (an approved extension, a supervision's
    new deadline) was chosen as a date with the pause in view, so it stays where it was set
    (`resolve_due_set_in_pause`); only due times set before the pause move.
    """
    if case.paused_at is None:
        return case
    paused_for = max(now - case.paused_at, dt.timedelta(0))
    fields = ["respond_due_at", "clock_started_at"]
    if not resolve_due_set_in_pause:
        fields.append("resolve_due_at")
    for field in fields:
        value = getattr(case, field)
        if value is not None:
            setattr(case, field, value + paused_for)
    case.paused_at = None
    return case


def describe_rules(policy: SlaPolicy) -> Iterable[str]:
    """One line per rule, for the load command's summary."""
    for rule in policy.rules.select_related("category").order_by("pk"):
        matchers = [
            rule.kind or "*",
            rule.category.code if rule.category else "*",
            rule.urgency or "*",
            rule.complexity or "*",
        ]
        yield (
            f"{'/'.join(matchers)}: respond {rule.respond_value} {rule.respond_unit}, "
            f"resolve {rule.resolve_value} {rule.resolve_unit}"
        )
