"""The one scoping rule: a user sees their own subtree and nothing else.

Every model that holds scoped data uses `ScopedQuerySet` and names, in `scope_path_field`, the
lookup that reaches the materialised path of the area it belongs to (`"path"` on Area,
`"area__path"` on a household). A role assignment on an area grants that area's subtree; a role
assignment on a handling unit grants the areas the unit covers. Models may also require a
capability (`scope_capability = "registry.view"`): roles without it see nothing.

Views and API handlers never filter by hand: they call `Model.objects.visible_to(user)` and
`get_visible_or_404`, so a hidden object is indistinguishable from a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q
from django.http import Http404


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    area_paths: tuple[str, ...] = ()
    # The part of area_paths granted by area roles (not by the areas a unit covers). Work items
    # owned by units (cases) use these plus the unit ids: a department sees its own cases, not
    # every case in the areas it serves.
    role_area_paths: tuple[str, ...] = ()
    unit_ids: tuple[int, ...] = ()
    roles: frozenset[str] = field(default_factory=frozenset)
    capabilities: frozenset[str] = field(default_factory=frozenset)
    # Capabilities are tied to where they were granted: a community worker in one community
    # who also audits the district may read the district's audit log, not edit its residents.
    capability_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    capability_role_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unit_capabilities: frozenset[str] = field(default_factory=frozenset)

    def can(self, capability: str) -> bool:
        return self.everything or capability in self.capabilities

    def paths_for(self, capability: str | None) -> tuple[str, ...]:
        """Area paths where `capability` holds (all of the scope when None)."""
        if capability is None:
            return self.area_paths
        return self.capability_paths.get(capability, ())

    def covers_path(self, path: str, capability: str | None = None) -> bool:
        """True when an object at area path `path` lies inside this scope (where `capability`
        was granted, when one is named)."""
        return self.everything or any(path.startswith(p) for p in self.paths_for(capability))

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.area_paths and not self.unit_ids


NOBODY = Scope()


def scope_of(user) -> Scope:
    """The scope of `user`, computed once per request and cached on the user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOBODY
    cached = getattr(user, "_civicgrid_scope", None)
    if cached is not None:
        return cached
    from civicgrid.accounts.selectors import compute_scope

    scope = compute_scope(user)
    user._civicgrid_scope = scope
    return scope


def forget_scope(user) -> None:
    """Drop the cached scope (after a role assignment changed)."""
    if hasattr(user, "_civicgrid_scope"):
        del user._civicgrid_scope


def _minimal_paths(paths) -> tuple[str, ...]:
    """Drop paths already covered by a shorter one, so the SQL stays small."""
    result: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path.startswith(p) for p in result):
            result.append(path)
    return tuple(result)


def scope_filter(scope: Scope, path_field: str, capability: str | None = None) -> Q | None:
    """A Q selecting rows whose `path_field` lies in the scope; None means 'everything'."""
    if scope.everything:
        return None
    return _paths_q(_minimal_paths(scope.paths_for(capability)), path_field)


def _paths_q(paths: tuple[str, ...], path_field: str) -> Q:
    """Rows under any of `paths`.

    For a path reached through a foreign key (`area__path`), filter the key by a subquery on
    the areas (`area_id IN (SELECT id FROM area WHERE path LIKE '/1/7/%')`): both sides are
    indexed, where a join on the path would scan every row of a big table on SQLite.
    """
    if not paths:
        return Q(pk__in=[])
    if "__" not in path_field:
        q = Q()
        for path in paths:
            q |= Q(**{f"{path_field}__startswith": path})
        return q
    fk, column = path_field.rsplit("__", 1)
    from civicgrid.areas.models import Area

    inner = Q()
    for path in paths:
        inner |= Q(**{f"{column}__startswith": path})
    return Q(**{f"{fk}__in": Area.objects.filter(inner).values("id")})


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user, capability: str | None = None):
        """Rows of this queryset that `user` may see (optionally: and act on with `capability`).

        Models may add two more grounds besides the area subtree:
        - `scope_unit_q(unit_ids) -> Q` (classmethod): rows owned by the user's handling units;
          such models ignore the areas a unit covers and count only area-role subtrees;
        - `scope_owner_field`: rows the user reported themselves (a resident's own cases),
          visible whatever the capabilities.
        """
        scope = scope_of(user)
        model = self.model
        required = capability or getattr(model, "scope_capability", None)
        owner_field = getattr(model, "scope_owner_field", None)
        unit_q = getattr(model, "scope_unit_q", None)
        own = Q(**{owner_field: user}) if owner_field and scope is not NOBODY else None
        if required and not scope.can(required):
            return self.filter(own) if own is not None and capability is None else self.none()
        if scope.everything:
            return self
        if unit_q is None:
            return self.filter(scope_filter(scope, model.scope_path_field, required))
        role_paths = (
            scope.capability_role_paths.get(required, ()) if required else scope.role_area_paths
        )
        q = _paths_q(_minimal_paths(role_paths), model.scope_path_field)
        if scope.unit_ids and (required is None or required in scope.unit_capabilities):
            q |= unit_q(scope.unit_ids)
        if own is not None:
            q |= own
        return self.filter(q)


def get_visible_or_404(queryset, user, capability: str | None = None, **lookup):
    """Fetch one object the user may see; anything else (missing or hidden) is a 404."""
    try:
        return queryset.visible_to(user, capability).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
