"""Registry writes: validation, scope, capabilities, and the audit row written with each."""

import datetime as dt

import pytest
from django.http import Http404

from civicgrid.accounts.choices import Role
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.registry import services
from civicgrid.registry.idnumbers import make_credit_code, make_id_number
from civicgrid.registry.models import GridAssignment, Household, Resident
from tests.builders import ORIGIN_LAT, ORIGIN_LON, build_household, build_resident, build_user

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action


def idn(seq: int, birth=dt.date(1985, 3, 9), gender="female") -> str:
    return make_id_number("510106", birth, seq, gender)


def audit_rows(action, obj):
    return AuditEntry.objects.filter(
        action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk)
    )


# --- residents ---------------------------------------------------------------------------


def test_grid_worker_registers_a_resident_in_their_grid(town, personas):
    worker = personas["grid_worker"]
    household = build_household(town.grids["A1-1"])
    resident = services.create_resident(
        actor=worker,
        name=" 王芳 ",
        id_number=idn(7),
        household=household,
        phone="138 1234 5678",
        relation="spouse",
        tags=["low_income", "disabled"],
    )
    assert resident.area == household.area
    assert resident.birth_date == dt.date(1985, 3, 9)
    assert resident.gender == "female"
    assert resident.name == "王芳"
    assert resident.phone == "13812345678"
    assert resident.tags == ",disabled,low_income,"  # in the order of ResidentTag
    entry = audit_rows(Action.CREATE, resident).get()
    assert entry.actor == worker
    assert entry.area_path == household.area.path
    # The audit log is read by auditors: no personal data in clear.
    assert entry.fields["id_number"] == "5101**********" + idn(7)[-4:]
    assert entry.fields["phone"] == "138****5678"


def test_resident_without_household_needs_an_area(town, personas):
    with pytest.raises(ServiceError) as exc:
        services.create_resident(actor=personas["grid_worker"], name="王芳", id_number=idn(1))
    assert exc.value.field == "area"
    resident = services.create_resident(
        actor=personas["grid_worker"], name="王芳", id_number=idn(1), area=town.grids["A1-1"]
    )
    assert resident.household is None


def test_every_bad_field_is_reported_at_once(town, personas):
    with pytest.raises(ServiceError) as exc:
        services.create_resident(
            actor=personas["grid_worker"],
            name="",
            id_number="510106198503090001",  # wrong check digit
            area=town.grids["A1-1"],
            phone="12345",
            relation="cousin",
            tags=["vip"],
        )
    assert set(exc.value.errors) == {"name", "id_number", "phone", "relation", "tags"}
    assert "check digit" in exc.value.errors["id_number"]
    assert not Resident.objects.exists()
    assert not AuditEntry.objects.filter(object_type="registry.resident").exists()


def test_duplicate_id_number_is_refused_clearly(town, personas):
    build_resident(build_household(town.grids["B1-1"]), id_number=idn(3))
    with pytest.raises(ServiceError) as exc:
        services.create_resident(
            actor=personas["grid_worker"], name="李四", id_number=idn(3), area=town.grids["A1-1"]
        )
    assert exc.value.field == "id_number"
    assert "already registered" in exc.value.message
    assert Resident.objects.count() == 1


def test_derived_elderly_tag_may_not_be_stored(town, personas):
    with pytest.raises(ServiceError, match="derived from the birth date"):
        services.create_resident(
            actor=personas["grid_worker"],
            name="李四",
            id_number=idn(2, birth=dt.date(1940, 1, 1)),
            area=town.grids["A1-1"],
            tags=["elderly_60"],
        )


def test_resident_lives_in_the_area_of_their_household(town, personas):
    household = build_household(town.grids["A1-1"])
    with pytest.raises(ServiceError) as exc:
        services.create_resident(
            actor=personas["community_worker"],
            name="李四",
            id_number=idn(4),
            household=household,
            area=town.grids["A1-2"],
        )
    assert exc.value.field == "area"


@pytest.mark.parametrize(
    "persona", ["street_dispatcher", "district_officer", "outsider", "auditor"]
)
def test_roles_without_registry_edit_cannot_register(town, personas, persona):
    with pytest.raises(PermissionDeniedError):
        services.create_resident(
            actor=personas[persona], name="李四", id_number=idn(5), area=town.grids["A1-1"]
        )
    assert not Resident.objects.exists()


def test_grid_worker_cannot_register_in_another_grid(town, personas):
    with pytest.raises(PermissionDeniedError, match="outside your area"):
        services.create_resident(
            actor=personas["grid_worker"], name="李四", id_number=idn(6), area=town.grids["B1-1"]
        )


def test_update_resident_rederives_from_a_corrected_id_number(town, personas):
    resident = build_resident(
        build_household(town.grids["A1-1"]),
        id_number=idn(8),
        birth_date=dt.date(1985, 3, 9),
        gender="female",
    )
    corrected = idn(9, birth=dt.date(1979, 12, 1), gender="male")
    services.update_resident(
        resident, actor=personas["grid_worker"], id_number=corrected, tags=["veteran"]
    )
    resident.refresh_from_db()
    assert (resident.birth_date, resident.gender) == (dt.date(1979, 12, 1), "male")
    assert resident.tags == ",veteran,"
    entry = audit_rows(Action.UPDATE, resident).get()
    assert set(entry.fields) == {"id_number", "birth_date", "gender", "tags"}
    assert entry.fields["tags"] == ["", ",veteran,"]


def test_update_resident_refuses_unknown_fields_and_hidden_areas(town, personas):
    resident = build_resident(build_household(town.grids["B1-1"]))
    with pytest.raises(ServiceError, match="Unknown fields"):
        services.update_resident(resident, actor=personas["admin"], household=None)
    with pytest.raises(PermissionDeniedError):
        services.update_resident(resident, actor=personas["grid_worker"], name="改名")


def test_move_resident_into_a_household_takes_its_area(town, personas):
    worker = personas["community_worker"]
    resident = services.create_resident(
        actor=worker, name="李四", id_number=idn(10), area=town.communities["A1"]
    )
    household = build_household(town.grids["A1-2"])
    services.move_resident(resident, household, actor=worker)
    resident.refresh_from_db()
    assert (resident.household, resident.area) == (household, town.grids["A1-2"])
    assert audit_rows(Action.UPDATE, resident).get().fields["household"] == [None, household.pk]
    # A grid worker of A1-1 may not move someone out of A1-2.
    with pytest.raises(PermissionDeniedError):
        services.move_resident(
            resident, build_household(town.grids["A1-1"]), actor=personas["grid_worker"]
        )


# --- households and buildings ------------------------------------------------------------


def test_household_in_a_building_takes_the_building_grid(town, personas):
    worker = personas["community_worker"]
    lat, lon = town.centre(town.grids["A1-2"])
    building = services.create_building(
        actor=worker, address="幸福路 1 号 3 栋", lat=lat, lon=lon, floors=6
    )
    assert building.grid == town.grids["A1-2"]
    assert building.address == "幸福路1号3栋"  # stored as the locator compares addresses
    household = services.create_household(
        actor=worker, building=building, entrance="2单元", room="501", contact_phone="028-85123456"
    )
    assert household.area == town.grids["A1-2"]
    assert household.address == "幸福路1号3栋2单元501"
    with pytest.raises(ServiceError) as exc:
        services.create_household(actor=worker, building=building, entrance="2单元", room="501")
    assert exc.value.field == "room"
    assert audit_rows(Action.CREATE, household).exists()


def test_building_outside_every_grid_is_refused(town, personas):
    with pytest.raises(ServiceError, match="outside every grid"):
        services.create_building(
            actor=personas["admin"], address="远方路1号", lat=ORIGIN_LAT - 1, lon=ORIGIN_LON
        )


def test_household_may_wait_in_its_community_but_not_in_a_street(town, personas):
    worker = personas["community_worker"]
    household = services.create_household(
        actor=worker, area=town.communities["A1"], address="幸福路2号"
    )
    assert household.area == town.communities["A1"]
    with pytest.raises(ServiceError) as exc:
        services.create_household(actor=personas["admin"], area=town.streets["A"], address="x")
    assert exc.value.field == "area"


def test_placing_a_household_in_a_grid_moves_its_residents(town, personas):
    worker = personas["community_worker"]
    household = services.create_household(
        actor=worker, area=town.communities["A1"], address="幸福路2号"
    )
    resident = services.create_resident(
        actor=worker, name="王五", id_number=idn(11), household=household
    )
    services.update_household(household, actor=worker, area=town.grids["A1-1"])
    resident.refresh_from_db()
    assert resident.area == town.grids["A1-1"]
    entry = audit_rows(Action.UPDATE, household).get()
    assert entry.fields["area"] == [town.communities["A1"].pk, town.grids["A1-1"].pk]
    # The grid worker of A1-1 cannot send it on to B1-1.
    with pytest.raises(PermissionDeniedError):
        services.update_household(household, actor=personas["grid_worker"], area=town.grids["B1-1"])


# --- reveal ------------------------------------------------------------------------------


def test_reveal_returns_unmasked_data_and_is_audited(town, personas):
    resident = build_resident(
        build_household(town.grids["A1-1"]), name="张三丰", id_number=idn(12), phone="13900001111"
    )
    worker = personas["grid_worker"]
    revealed = services.reveal_resident(resident, actor=worker, reason="入户走访核对")
    assert revealed == {"id_number": idn(12), "phone": "13900001111", "name": "张三丰"}
    entry = audit_rows(Action.REVEAL, resident).get()
    assert (entry.actor, entry.reason) == (worker, "入户走访核对")
    assert entry.area_path == town.grids["A1-1"].path
    assert entry.at is not None


def test_reveal_is_refused_without_the_capability(town, personas):
    resident = build_resident(build_household(town.grids["A1-1"]))
    # The street dispatcher sees the resident (masked) but may not unmask.
    with pytest.raises(PermissionDeniedError):
        services.reveal_resident(resident, actor=personas["street_dispatcher"], reason="x")
    assert not AuditEntry.objects.filter(action=Action.REVEAL).exists()


def test_reveal_of_a_hidden_resident_is_a_404(town, personas):
    resident = build_resident(build_household(town.grids["B1-1"]))
    for persona in ("grid_worker", "outsider", "resident"):
        with pytest.raises(Http404):
            services.reveal_resident(resident, actor=personas[persona])
    assert not AuditEntry.objects.filter(action=Action.REVEAL).exists()


def test_reveal_household_contact(town, personas):
    household = build_household(
        town.grids["A1-1"], contact_name="赵六", contact_phone="13700002222"
    )
    revealed = services.reveal_household(household, actor=personas["community_worker"])
    assert revealed == {"contact_name": "赵六", "contact_phone": "13700002222"}
    assert audit_rows(Action.REVEAL, household).count() == 1
    with pytest.raises(Http404):
        services.reveal_household(household, actor=personas["outsider"])


# --- staffing ----------------------------------------------------------------------------


def test_community_worker_posts_and_unposts_grid_staff(town, personas):
    staff = build_user("网格员甲", role=Role.GRID_WORKER, area=town.communities["A1"])
    assignment = services.assign_grid_worker(
        actor=personas["community_worker"], grid=town.grids["A1-1"], worker=staff, post="b"
    )
    assert assignment.post == "b"
    with pytest.raises(ServiceError, match="already posted"):
        services.assign_grid_worker(
            actor=personas["community_worker"], grid=town.grids["A1-1"], worker=staff
        )
    services.unassign_grid_worker(assignment, actor=personas["community_worker"])
    assert not GridAssignment.objects.exists()
    deleted = AuditEntry.objects.get(action=Action.DELETE)
    assert deleted.fields == {"worker": staff.pk, "post": "b"}


@pytest.mark.parametrize(
    ("persona", "grid"),
    [("grid_worker", "A1-1"), ("outsider", "A1-1"), ("community_worker", "B1-1")],
)
def test_posting_needs_staff_assign_over_the_grid(town, personas, persona, grid):
    with pytest.raises(PermissionDeniedError):
        services.assign_grid_worker(
            actor=personas[persona], grid=town.grids[grid], worker=build_user()
        )


def test_only_grid_workers_whose_role_covers_the_grid_in_the_actors_area_may_be_posted(
    town, personas
):
    grid = town.grids["A1-1"]
    on_grid = build_user("on_grid", role=Role.GRID_WORKER, area=grid)
    on_district = build_user("on_district", role=Role.GRID_WORKER, area=town.district)
    neighbour = build_user("neighbour", role=Role.GRID_WORKER, area=town.grids["A1-2"])
    clerk = build_user("clerk", role=Role.COMMUNITY_WORKER, area=grid)
    gone = build_user("gone", role=Role.GRID_WORKER, area=grid, is_active=False)
    community_worker = personas["community_worker"]
    # The district-wide worker lies above the community worker's scope; the administrator
    # and the system see every one.
    assert set(services.postable_workers(community_worker, grid)) == {
        on_grid,
        personas["grid_worker"],
    }
    assert set(services.postable_workers(personas["admin"], grid)) == {
        on_grid,
        on_district,
        personas["grid_worker"],
    }
    for worker in (on_district, neighbour, clerk):
        with pytest.raises(ServiceError, match="grid-worker role") as exc:
            services.assign_grid_worker(actor=community_worker, grid=grid, worker=worker)
        assert exc.value.field == "worker"
    with pytest.raises(ServiceError, match="active"):
        services.assign_grid_worker(actor=community_worker, grid=grid, worker=gone)
    services.assign_grid_worker(actor=community_worker, grid=grid, worker=on_grid)
    assert list(GridAssignment.objects.values_list("worker", flat=True)) == [on_grid.pk]


# --- organisations, places, facilities ---------------------------------------------------


def test_organisation_credit_code_is_checked(town, personas):
    worker = personas["community_worker"]
    good = make_credit_code("51510100MJ000123" + "4")
    org = services.create_organization(
        actor=worker,
        area=town.communities["A1"],
        name="夕阳红志愿服务社",
        kind="social",
        credit_code=good.lower(),
        rating="4A",
    )
    assert org.credit_code == good
    with pytest.raises(ServiceError) as exc:
        services.create_organization(
            actor=worker,
            area=town.communities["A1"],
            name="某物业公司",
            kind="property",
            credit_code=good[:-1] + ("0" if good[-1] != "0" else "1"),
            rating="5A",
        )
    assert set(exc.value.errors) == {"credit_code", "rating"}
    with pytest.raises(ServiceError, match="already registered|is registered"):
        services.create_organization(
            actor=worker, area=town.communities["A1"], name="同码", kind="social", credit_code=good
        )


def test_facility_code_is_generated_from_division_and_category(town, personas):
    worker = personas["grid_worker"]
    lat, lon = town.centre(town.grids["A1-1"])
    first = services.create_facility(
        actor=worker, name="路灯", category_code="01037", lat=lat, lon=lon
    )
    second = services.create_facility(
        actor=worker, name="路灯", category_code="01037", grid=town.grids["A1-1"]
    )
    assert (first.code, second.code) == ("51019901037000001", "51019901037000002")
    with pytest.raises(ServiceError) as exc:
        services.create_facility(actor=worker, name="井盖", category_code="1001", grid=first.grid)
    assert exc.value.field == "category_code"


def test_place_is_located_from_its_coordinates(town, personas):
    lat, lon = town.centre(town.grids["A1-2"])
    place = services.create_place(
        actor=personas["community_worker"], name="农贸市场", kind="market", lat=lat, lon=lon
    )
    assert place.grid == town.grids["A1-2"]
    with pytest.raises(PermissionDeniedError):
        services.create_place(
            actor=personas["grid_worker"], name="学校", kind="school", grid=town.grids["A2-1"]
        )
    assert Household.objects.count() == 0
