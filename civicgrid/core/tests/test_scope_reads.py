"""How a scope is read: once per request, only the columns it needs (never an area's boundary),
the same answer for area roles, unit roles, inactive units and retired areas, and a change of
roles seen by the next request."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.choices import CAPABILITIES, Role, UnitKind
from civicgrid.accounts.models import RoleAssignment, Unit, User
from civicgrid.areas.models import Area
from civicgrid.core.scoping import forget_scope, scope_of
from tests.builders import build_user

pytestmark = pytest.mark.django_db


def fresh(user) -> User:
    """The user as the next request loads it (no scope remembered)."""
    return User.objects.get(pk=user.pk)


def test_a_scope_is_read_once_and_without_boundaries(town):
    unit = Unit.objects.create(code="U1", name="城管局", kind=UnitKind.DEPARTMENT)
    unit.areas.add(town.streets["B"], town.communities["A1"])
    user = build_user("both", role=Role.COMMUNITY_WORKER, area=town.communities["A2"])
    RoleAssignment.objects.create(user=user, role=Role.DEPARTMENT_HANDLER, unit=unit)
    user = fresh(user)
    with CaptureQueriesContext(connection) as ctx:
        scope = scope_of(user)
        assert scope_of(user) is scope
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 2  # the assignments, then the areas their units cover
    assert not [q for q in sql if "geometry" in q]
    street_b, a1, a2 = (
        a.path for a in (town.streets["B"], town.communities["A1"], town.communities["A2"])
    )
    assert scope.area_paths == tuple(sorted({street_b, a1, a2}))
    assert scope.role_area_paths == (a2,)
    assert scope.unit_ids == (unit.pk,)
    assert scope.roles == {Role.COMMUNITY_WORKER, Role.DEPARTMENT_HANDLER}
    assert scope.unit_capabilities == CAPABILITIES[Role.DEPARTMENT_HANDLER]
    for capability in CAPABILITIES[Role.DEPARTMENT_HANDLER] - CAPABILITIES[Role.COMMUNITY_WORKER]:
        assert scope.paths_for(capability) == tuple(sorted({street_b, a1}))
        assert capability not in scope.capability_role_paths


def test_an_area_role_needs_no_second_query(town, personas):
    worker = fresh(personas["grid_worker"])
    with CaptureQueriesContext(connection) as ctx:
        scope = scope_of(worker)
    assert len(ctx.captured_queries) == 1
    assert scope.area_paths == (town.grids["A1-1"].path,)


def test_an_inactive_unit_and_a_retired_covered_area_grant_nothing(town):
    unit = Unit.objects.create(code="U1", name="城管局", kind=UnitKind.DEPARTMENT)
    unit.areas.add(town.grids["B1-1"], town.grids["B2-2"])
    handler = build_user("handler", role=Role.DEPARTMENT_HANDLER, unit=unit)
    Area.objects.filter(pk=town.grids["B1-1"].pk).update(valid_to="2020-01-01")
    assert scope_of(fresh(handler)).area_paths == (town.grids["B2-2"].path,)
    Unit.objects.filter(pk=unit.pk).update(is_active=False)
    scope = scope_of(fresh(handler))
    assert scope.is_empty and scope.unit_ids == ()
    assert scope.roles == {Role.DEPARTMENT_HANDLER}


def test_forget_scope_reads_the_roles_again(town, personas):
    worker = personas["grid_worker"]
    assert not scope_of(worker).is_empty
    RoleAssignment.objects.filter(user=worker).delete()
    forget_scope(worker)
    assert scope_of(worker).is_empty


def test_a_role_removed_is_no_longer_allowed_in_the_next_request(town, personas):
    officer = personas["district_officer"]
    client = Client()
    client.force_login(officer)
    assert client.get("/api/v1/areas", headers={"Accept-Language": "en"}).status_code == 200
    RoleAssignment.objects.filter(user=officer).delete()
    response = client.get("/api/v1/areas", headers={"Accept-Language": "en"})
    assert response.status_code == 200 and response.json()["items"] == []
