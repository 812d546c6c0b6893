"""Routing: category × area → handling unit, from the dispatch catalogue (派单目录).

The rule whose category is the case's own category or its nearest ancestor wins; among rules of
that category, the one whose area is the case's grid or its nearest ancestor. Several units at
the same best rank make the answer ambiguous: the case waits for a dispatcher, who sees the
candidates. Only an unambiguous rule marked `auto_dispatch` dispatches without a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases import rawsql
from civicgrid.cases.models import Category, DispatchRule

# The category tree has three levels; the loop guard only protects against a corrupt cycle.
MAX_CATEGORY_DEPTH = 10


@dataclass(frozen=True)
class RouteResult:
    units: list[Unit] = field(default_factory=list)
    rule: DispatchRule | None = None
    ambiguous: bool = False
    auto: bool = False

    @property
    def unit(self) -> Unit | None:
        """The one unit the catalogue names, or None (no rule, or several candidates)."""
        return self.units[0] if len(self.units) == 1 else None


NO_ROUTE = RouteResult()


def category_chain(category: Category) -> list[int]:
    """Ids of `category` and its ancestors, nearest first."""
    ids: list[int] = []
    node: Category | None = category
    while node is not None and len(ids) < MAX_CATEGORY_DEPTH:
        ids.append(node.pk)
        node = node.parent if node.parent_id else None
    return ids


def route(category: Category | None, grid: Area | None) -> RouteResult:
    """The units the dispatch catalogue names for `category` in `grid` (any area works: a case
    outside every grid is routed by the area it was filed under). See the module docstring."""
    if category is None or grid is None:
        return NO_ROUTE
    category_ids = category_chain(category)
    area_ids = [grid.pk, *reversed(grid.ancestor_ids())]  # nearest first
    category_rank = {pk: i for i, pk in enumerate(category_ids)}
    area_rank = {pk: i for i, pk in enumerate(area_ids)}
    rules = _rules(category_ids, area_ids)
    if not rules:
        return NO_ROUTE
    ranked = sorted(
        rules, key=lambda r: (category_rank[r.category_id], area_rank[r.area_id], r.unit.code)
    )
    best = (category_rank[ranked[0].category_id], area_rank[ranked[0].area_id])
    top = [r for r in ranked if (category_rank[r.category_id], area_rank[r.area_id]) == best]
    units = list({r.unit_id: r.unit for r in top}.values())
    if len(units) > 1:
        return RouteResult(units=units, rule=None, ambiguous=True, auto=False)
    rule = top[0]
    return RouteResult(units=units, rule=rule, ambiguous=False, auto=rule.auto_dispatch)


def _rules(category_ids: list[int], area_ids: list[int]) -> list[DispatchRule]:
    """The active units' rules for any of the categories in any of the areas, each with its
    unit: `DispatchRule.objects.filter(category_id__in=..., area_id__in=...,
    unit__is_active=True).select_related("unit")`, written out (see `rawsql`): intake routes
    every case it takes in."""
    r, u = DispatchRule, Unit
    sql = (
        f"SELECT {rawsql.columns(r, 'r')}, {rawsql.columns(u, 'u')} "
        f"FROM {rawsql.table(r)} r INNER JOIN {rawsql.table(u)} u "
        f"ON u.{rawsql.column(u, 'id')} = r.{rawsql.column(r, 'unit')} "
        f"WHERE r.{rawsql.column(r, 'category')} IN ({', '.join(['%s'] * len(category_ids))}) "
        f"AND r.{rawsql.column(r, 'area')} IN ({', '.join(['%s'] * len(area_ids))}) "
        f"AND u.{rawsql.column(u, 'is_active')} = %s"
    )
    rules = []
    for row in rawsql.fetch(sql, [*category_ids, *area_ids, True]):
        rule, at = rawsql.instances(r, row)
        rule.unit, _end = rawsql.instances(u, row, at)
        rules.append(rule)
    return rules
