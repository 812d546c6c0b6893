"""Builders for case tests: categories, handling units, cases in any state, unit personas.

`build_case` writes a Case row directly (no intake, no routing, no deadlines) so a test can
start from any state; the transitions themselves always go through `cases.services`.
Other engineers append small builders here with targeted edits.
"""

from __future__ import annotations

import itertools

from civicgrid.accounts.choices import Role, UnitKind
from civicgrid.accounts.models import Unit
from civicgrid.cases.choices import Channel, HandlerRole, Kind, State, TimeUnit
from civicgrid.cases.models import Case, CaseHandler, Category, SlaPolicy, SlaRule, Taxonomy
from civicgrid.core import clock
from tests.builders import Town, build_user

_seq = itertools.count(1)


def build_taxonomy(*, version: str | None = None, active: bool = True) -> Taxonomy:
    """The active taxonomy (created once per test database), or a new inactive one."""
    if active:
        taxonomy = Taxonomy.objects.filter(is_active=True).first()
        if taxonomy is not None:
            return taxonomy
    n = next(_seq)
    return Taxonomy.objects.create(
        version=version or f"t{n}", name=f"taxonomy {n}", is_active=active
    )


def build_category(
    name: str | None = None,
    *,
    parent: Category | None = None,
    code: str | None = None,
    taxonomy: Taxonomy | None = None,
    keywords: str = "",
    **kwargs,
) -> Category:
    n = next(_seq)
    taxonomy = taxonomy or (parent.taxonomy if parent else build_taxonomy())
    return Category.objects.create(
        taxonomy=taxonomy,
        code=code or f"{parent.code if parent else 'C'}{n:04d}",
        name=name or f"category {n}",
        parent=parent,
        level=(parent.level + 1) if parent else 1,
        keywords=keywords,
        **kwargs,
    )


def build_unit(
    name: str | None = None,
    *,
    areas=(),
    kind: str = UnitKind.DEPARTMENT,
    code: str | None = None,
    parent: Unit | None = None,
) -> Unit:
    """An accounts.Unit covering `areas` (Area objects)."""
    n = next(_seq)
    unit = Unit.objects.create(
        code=code or f"U{n:05d}", name=name or f"unit {n}", kind=kind, parent=parent
    )
    if areas:
        unit.areas.set(areas)
    return unit


def unit_handler(unit: Unit, username: str | None = None):
    """A department handler (cases.view + cases.handle) of `unit`."""
    return build_user(username, role=Role.DEPARTMENT_HANDLER, unit=unit)


def build_case(
    town: Town,
    *,
    grid: str = "A1-1",
    state: str = State.RECEIVED,
    lead_unit: Unit | None = None,
    co_units=(),
    number: str | None = None,
    title: str = "路灯不亮",
    description: str = "小区门口的路灯坏了三天。",
    channel: str = Channel.HOTLINE,
    kind: str = Kind.REPORT,
    category: Category | None = None,
    **kwargs,
) -> Case:
    """A Case in `state` located in `town.grids[grid]`, with CaseHandler rows for its units.

    A lead unit gets an active lead CaseHandler row (as dispatch would have written).
    """
    n = next(_seq)
    area = town.grids[grid]
    lat, lon = town.centre(area)
    now = clock.now()
    dispatched = state not in (State.RECEIVED,) and lead_unit is not None
    case = Case.objects.create(
        number=number or f"T{now:%Y%m%d}{n:06d}",
        channel=channel,
        kind=kind,
        category=category,
        title=title,
        description=description,
        lat=lat,
        lon=lon,
        grid=area,
        area_path=area.path,
        state=state,
        lead_unit=lead_unit,
        received_at=kwargs.pop("received_at", now),
        dispatched_at=kwargs.pop("dispatched_at", now if dispatched else None),
        **kwargs,
    )
    if lead_unit is not None:
        CaseHandler.objects.create(case=case, unit=lead_unit, role=HandlerRole.LEAD)
    for unit in co_units:
        CaseHandler.objects.create(case=case, unit=unit, role=HandlerRole.CO)
    return case


def build_policy(
    *, respond_hours: int = 2, resolve_hours: int = 72, near_due_fraction: float = 0.2
) -> SlaPolicy:
    """An active time-limit policy with one catch-all rule in hours (calendar-free)."""
    n = next(_seq)
    policy = SlaPolicy.objects.create(
        code=f"P{n}", name=f"policy {n}", is_active=True, near_due_fraction=near_due_fraction
    )
    SlaRule.objects.create(
        policy=policy,
        respond_value=respond_hours,
        respond_unit=TimeUnit.HOURS,
        resolve_value=resolve_hours,
        resolve_unit=TimeUnit.HOURS,
    )
    return policy


class Desk:
    """Two departments serving the town, one handler each: `unit` (the usual lead unit) and
    `other_unit` (a unit that must never act on `unit`'s cases)."""

    def __init__(self, town: Town):
        self.unit = build_unit("城管执法局", areas=[town.district])
        self.handler = unit_handler(self.unit)
        self.other_unit = build_unit("水务局", areas=[town.district])
        self.other_handler = unit_handler(self.other_unit)


def build_preset(code: str = "jinniu", *, active: bool = True) -> SlaPolicy:
    """A shipped time-limit preset (cases/presets/<code>.json) loaded as a policy."""
    from civicgrid.cases import presets

    policy = presets.load(presets.read(code)).policy
    if active:
        SlaPolicy.objects.exclude(pk=policy.pk).update(is_active=False)
        SlaPolicy.objects.filter(pk=policy.pk).update(is_active=True)
        policy.is_active = True
    return policy
