"""Scoped reads for accounts, and the computation of a user's scope."""

from __future__ import annotations

from collections import defaultdict

from civicgrid.accounts.choices import CAPABILITIES, Role
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
    assignments = user.role_assignments.select_related("area", "unit").prefetch_related(
        "unit__areas"
    )
    for assignment in assignments:
        granted = CAPABILITIES.get(assignment.role, frozenset())
        roles.add(assignment.role)
        capabilities |= granted
        if assignment.role == Role.ADMINISTRATOR:
            everything = True
        if assignment.area is not None and assignment.area.valid_to is None:
            path = assignment.area.path
            paths.add(path)
            role_paths.add(path)
            for capability in granted:
                cap_paths[capability].add(path)
                cap_role_paths[capability].add(path)
        if assignment.unit is not None and assignment.unit.is_active:
            unit_ids.add(assignment.unit_id)
            unit_capabilities |= granted
            covered = {a.path for a in assignment.unit.areas.all() if a.valid_to is None}
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
