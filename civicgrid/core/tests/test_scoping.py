"""The one scoping rule: each persona sees its own subtree; the outsider sees nothing."""

import pytest
from django.http import Http404

from civicgrid.accounts.choices import Role, UnitKind
from civicgrid.accounts.models import RoleAssignment, Unit
from civicgrid.areas.models import Area
from civicgrid.core import audit
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import forget_scope, get_visible_or_404, scope_of
from civicgrid.registry.models import Household, Resident
from tests.builders import build_household, build_resident, build_user

pytestmark = pytest.mark.django_db


def codes(qs):
    return {a.code for a in qs}


def test_each_persona_sees_its_subtree(town, personas):
    all_codes = codes(Area.objects.all())
    assert codes(Area.objects.visible_to(personas["district_officer"])) == all_codes
    street = codes(Area.objects.visible_to(personas["street_dispatcher"]))
    assert town.streets["A"].code in street
    assert town.grids["A2-1"].code in street
    assert town.streets["B"].code not in street
    assert town.district.code not in street  # ancestors are not part of the subtree
    assert codes(Area.objects.visible_to(personas["grid_worker"])) == {town.grids["A1-1"].code}
    assert codes(Area.objects.visible_to(personas["admin"])) == all_codes


def test_outsider_sees_nothing_and_gets_404(town, personas):
    outsider = personas["outsider"]
    assert not Area.objects.visible_to(outsider).exists()
    with pytest.raises(Http404):
        get_visible_or_404(Area.objects.all(), outsider, pk=town.grids["A1-1"].pk)


def test_hidden_and_missing_objects_look_the_same(town, personas):
    worker = personas["grid_worker"]
    with pytest.raises(Http404):
        get_visible_or_404(Area.objects.all(), worker, pk=town.grids["B1-1"].pk)
    with pytest.raises(Http404):
        get_visible_or_404(Area.objects.all(), worker, pk=999_999)
    with pytest.raises(Http404):
        get_visible_or_404(Area.objects.all(), worker, pk="not-a-number")


def test_personal_data_needs_the_registry_capability(town, personas):
    mine = build_household(town.grids["A1-1"])
    build_resident(mine)
    neighbour = build_household(town.grids["B1-1"])
    build_resident(neighbour, name="李四")
    assert list(Household.objects.visible_to(personas["grid_worker"])) == [mine]
    assert Resident.objects.visible_to(personas["district_officer"]).count() == 2
    # The hotline operator covers the district but may not list residents; the auditor neither.
    assert not Resident.objects.visible_to(personas["hotline_operator"]).exists()
    assert not Household.objects.visible_to(personas["auditor"]).exists()
    assert not Resident.objects.visible_to(personas["resident"]).exists()


def test_unit_role_sees_the_areas_its_unit_covers(town):
    unit = Unit.objects.create(code="U1", name="城管局", kind=UnitKind.DEPARTMENT)
    unit.areas.add(town.streets["B"])
    handler = build_user("handler", role=Role.DEPARTMENT_HANDLER, unit=unit)
    visible = codes(Area.objects.visible_to(handler))
    assert town.grids["B2-2"].code in visible
    assert town.grids["A1-1"].code not in visible
    assert scope_of(handler).unit_ids == (unit.pk,)


def test_scope_is_the_union_of_assignments(town, personas):
    worker = personas["grid_worker"]
    RoleAssignment.objects.create(user=worker, role=Role.GRID_WORKER, area=town.grids["B1-1"])
    forget_scope(worker)
    assert codes(Area.objects.visible_to(worker)) == {
        town.grids["A1-1"].code,
        town.grids["B1-1"].code,
    }


def test_retired_area_grants_nothing(town, personas):
    worker = personas["grid_worker"]
    Area.objects.filter(pk=town.grids["A1-1"].pk).update(valid_to="2020-01-01")
    forget_scope(worker)
    assert scope_of(worker).is_empty


def test_audit_entries_are_scoped_by_area_path(town, personas):
    audit.record(personas["admin"], AuditEntry.Action.UPDATE, town.grids["A1-1"])
    audit.record(personas["admin"], AuditEntry.Action.UPDATE, town.grids["B1-1"])
    street_b = build_user("auditor_b", role=Role.AUDITOR, area=town.streets["B"])
    entries = AuditEntry.objects.visible_to(street_b).filter(action=AuditEntry.Action.UPDATE)
    assert [e.object_id for e in entries] == [str(town.grids["B1-1"].pk)]
    assert not AuditEntry.objects.visible_to(personas["grid_worker"]).exists()


def test_capabilities_hold_only_where_they_were_granted(town, personas):
    from civicgrid.core.errors import PermissionDeniedError
    from civicgrid.registry.services import check_capability

    # A community worker of A1 who also audits the whole district.
    user = build_user("two_hats", role=Role.COMMUNITY_WORKER, area=town.communities["A1"])
    RoleAssignment.objects.create(user=user, role=Role.AUDITOR, area=town.district)
    forget_scope(user)
    mine = build_household(town.grids["A1-1"])
    build_household(town.grids["B1-1"])
    assert list(Household.objects.visible_to(user)) == [mine]
    audit.record(personas["admin"], AuditEntry.Action.UPDATE, town.grids["B1-1"])
    assert AuditEntry.objects.visible_to(user).filter(action="update").exists()
    check_capability(user, "registry.edit", town.grids["A1-2"])
    with pytest.raises(PermissionDeniedError):
        check_capability(user, "registry.edit", town.grids["B1-1"])
    assert scope_of(user).covers_path(town.grids["B1-1"].path)  # visible as an area
    assert not scope_of(user).covers_path(town.grids["B1-1"].path, "registry.view")
