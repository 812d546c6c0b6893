"""Scoped reads for accounts, and the computation of a user's scope."""

from __future__ import annotations

from civicgrid.accounts.choices import CAPABILITIES, Role
from civicgrid.core.scoping import Scope


def compute_scope(user) -> Scope:
    """Union of the user's role assignments: area subtrees, units, capabilities."""
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
    everything = False
    assignments = user.role_assignments.select_related("area", "unit").prefetch_related(
        "unit__areas"
    )
    for assignment in assignments:
        roles.add(assignment.role)
        capabilities |= CAPABILITIES.get(assignment.role, frozenset())
        if assignment.role == Role.ADMINISTRATOR:
            everything = True
        if assignment.area is not None and assignment.area.valid_to is None:
            paths.add(assignment.area.path)
            role_paths.add(assignment.area.path)
        if assignment.unit is not None and assignment.unit.is_active:
            unit_ids.add(assignment.unit_id)
            paths.update(a.path for a in assignment.unit.areas.all() if a.valid_to is None)
    return Scope(
        everything=everything,
        area_paths=tuple(sorted(paths)),
        role_area_paths=tuple(sorted(role_paths)),
        unit_ids=tuple(sorted(unit_ids)),
        roles=frozenset(roles),
        capabilities=frozenset(capabilities),
    )
