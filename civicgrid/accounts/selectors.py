"""Scoped reads for accounts, and the computation of a user's scope."""

from __future__ import annotations

from collections import defaultdict

from civicgrid.accounts.choices import CAPABILITIES, Role
from civicgrid.accounts.models import Unit
from civicgrid.core.scoping import Scope


def compute_scope(user) -> Scope:
    """Union of the user's role assignments: area subtrees, units, capabilities, and for each
    capability the areas where it was granted."""
    if user.is_superuser:
        return Scope(
            everything=True,
            roles=frozenset({Role.ADMINISTRATOR}),
            capabilities=CAPABILITIES[Role.ADMINISTRATOR],
        )
    roles: set[str] = set()
    paths: set[str] = set()
    role_paths: set[str] = set()
    unit_ids: set[int] = set()
    capabilities: set[str] = set()
    unit_capabilities: set[str] = set()
    cap_paths: dict[str, set[str]] = defaultdict(set)
    cap_role_paths: dict[str, set[str]] = defaultdict(set)
    everything = False
    # Only the columns the scope needs: every request computes it, and an area's row carries
    # its boundary (a district's runs to megabytes).
    assignments = list(
        user.role_assignments.values_list(
            "role", "area_id", "area__path", "area__valid_to", "unit_id", "unit__is_active"
        )
    )
    units = {u for _, _, _, _, u, active in assignments if u is not None and active}
    covered_by: dict[int, set[str]] = defaultdict(set)
    if units:
        through = Unit.areas.through.objects.filter(unit_id__in=units, area__valid_to__isnull=True)
        for unit_id, path in through.values_list("unit_id", "area__path"):
            covered_by[unit_id].add(path)
    for role, area_id, area_path, area_valid_to, unit_id, unit_active in assignments:
        granted = CAPABILITIES.get(role, frozenset())
        roles.add(role)
        capabilities |= granted
        if role == Role.ADMINISTRATOR:
            everything = True
        if area_id is not None and area_valid_to is None:
            paths.add(area_path)
            role_paths.add(area_path)
            for capability in granted:
                cap_paths[capability].add(area_path)
                cap_role_paths[capability].add(area_path)
        if unit_id is not None and unit_active:
            unit_ids.add(unit_id)
            unit_capabilities |= granted
            covered = covered_by[unit_id]
            paths |= covered
            for capability in granted:
                cap_paths[capability] |= covered
    return Scope(
        everything=everything,
        area_paths=tuple(sorted(paths)),
        role_area_paths=tuple(sorted(role_paths)),
        unit_ids=tuple(sorted(unit_ids)),
        roles=frozenset(roles),
        capabilities=frozenset(capabilities),
        capability_paths={c: tuple(sorted(p)) for c, p in cap_paths.items()},
        capability_role_paths={c: tuple(sorted(p)) for c, p in cap_role_paths.items()},
        unit_capabilities=frozenset(unit_capabilities),
    )
