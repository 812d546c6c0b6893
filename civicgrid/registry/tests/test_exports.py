"""Excel exports (masked unless revealed, always audited) and the import command."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.registry import exports, importers
from civicgrid.registry.idnumbers import make_id_number
from civicgrid.registry.models import Household, Resident
from tests.builders import build_household, build_resident

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
ID_A = make_id_number("510106", dt.date(1980, 5, 17), 31, "male")


@pytest.fixture
def registry(town):
    home = build_household(
        town.grids["A1-1"], address="幸福路1号", contact_name="张三丰", contact_phone="13812345678"
    )
    build_resident(
        home,
        name="张三丰",
        id_number=ID_A,
        phone="13812345678",
        relation="head",
        tags=",low_income,drug_use,",
    )
    other = build_household(town.grids["A1-2"], address="幸福路2号")
    build_resident(other, name="李四", birth_date=dt.date(1950, 1, 1))
    build_resident(build_household(town.grids["B1-1"]), name="隔壁街")
    return home


def rows_of(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return list(sheet.iter_rows(values_only=True))


def test_masked_resident_export(town, personas, registry):
    dispatcher = personas["street_dispatcher"]  # street A: may export, may not reveal
    rows = rows_of(exports.export_residents_xlsx(dispatcher, Resident.objects.all()))
    assert rows[0] == tuple(exports.RESIDENT_EXPORT_HEADERS)
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"张**", "李*"}  # street B's resident is not in scope
    zhang = dict(zip(rows[0], by_name["张**"], strict=True))
    assert zhang["身份证号"] == "5101**********" + ID_A[-4:]
    assert zhang["联系电话"] == "138****5678"
    assert zhang["与户主关系"] == "户主"
    assert zhang["标签"] == "低保"  # the sensitive tag is left out for this role
    assert zhang["地址"] == "幸福路1号"
    li = dict(zip(rows[0], by_name["李*"], strict=True))
    assert li["标签"] == "60岁以上老人"
    entry = AuditEntry.objects.get(action=Action.EXPORT)
    assert (entry.actor, entry.fields) == (dispatcher, {"rows": 2, "revealed": False})
    assert entry.area_path == town.communities["A1"].path  # the deepest path shared by the rows
    assert not AuditEntry.objects.filter(action=Action.REVEAL).exists()


def test_unmasked_export_needs_reveal_and_a_reason(town, personas, registry):
    worker = personas["grid_worker"]
    with pytest.raises(ServiceError) as exc:
        exports.export_residents_xlsx(worker, Resident.objects.all(), reveal=True)
    assert exc.value.field == "reason"
    data = exports.export_residents_xlsx(
        worker, Resident.objects.all(), reveal=True, reason="低保年审"
    )
    rows = rows_of(data)
    assert len(rows) == 2  # the header and the one resident of grid A1-1
    zhang = dict(zip(rows[0], rows[1], strict=True))
    assert (zhang["姓名"], zhang["身份证号"], zhang["联系电话"]) == ("张三丰", ID_A, "13812345678")
    assert zhang["标签"] == "低保、吸毒"
    reveal = AuditEntry.objects.get(action=Action.REVEAL)
    assert (reveal.actor, reveal.reason, reveal.fields["rows"]) == (worker, "低保年审", 1)
    assert reveal.area_path == town.grids["A1-1"].path
    assert AuditEntry.objects.get(action=Action.EXPORT).fields == {"rows": 1, "revealed": True}


def test_export_refusals(town, personas, registry):
    with pytest.raises(PermissionDeniedError):
        exports.export_residents_xlsx(
            personas["street_dispatcher"], Resident.objects.all(), reveal=True, reason="x"
        )
    for persona in ("outsider", "auditor", "hotline_operator"):
        with pytest.raises(PermissionDeniedError):
            exports.export_residents_xlsx(personas[persona], Resident.objects.all())
        with pytest.raises(PermissionDeniedError):
            exports.export_households_xlsx(personas[persona], Household.objects.all())
    assert not AuditEntry.objects.filter(action__in=[Action.EXPORT, Action.REVEAL]).exists()


def test_household_export_counts_members_and_masks_contacts(town, personas, registry):
    rows = rows_of(
        exports.export_households_xlsx(personas["community_worker"], Household.objects.all())
    )
    assert rows[0] == tuple(exports.HOUSEHOLD_EXPORT_HEADERS)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["地址"] == "幸福路1号"
    assert (first["联系人"], first["联系电话"]) == ("张**", "138****5678")
    assert (first["网格编码"], first["人数"], first["住房用途"]) == (
        town.grids["A1-1"].code,
        1,
        "自住",
    )
    assert len(rows) == 3


def test_unmasked_export_can_be_imported_again(town, personas, registry):
    admin = personas["admin"]
    data = exports.export_residents_xlsx(
        admin, Resident.objects.filter(name="张三丰"), reveal=True, reason="迁移"
    )
    Resident.objects.filter(name="张三丰").delete()
    job = importers.create_import_job(
        actor=admin,
        kind="residents",
        area=town.district,
        file_name="r.xlsx",
        data=data,
        dry_run=False,
    )
    job = importers.run_import(job, data)
    assert job.status == "succeeded", job.errors
    again = Resident.objects.get(id_number=ID_A)
    assert (again.household, again.tags, again.relation) == (
        registry,
        ",low_income,drug_use,",
        "head",
    )


# --- the import command ------------------------------------------------------------------


def test_import_command_reports_rows(town, personas, tmp_path):
    build_household(town.grids["A1-1"], address="幸福路5号")
    good = tmp_path / "居民.csv"
    good.write_text("姓名,身份证号,地址\n王五," + ID_A + ",幸福路5号\n", encoding="utf-8-sig")
    out = io.StringIO()
    call_command(
        "import_registry",
        str(good),
        kind="residents",
        area=town.grids["A1-1"].code,
        user="grid_worker",
        dry_run=True,
        stdout=out,
    )
    assert "1 rows checked, 0 written" in out.getvalue()
    assert not Resident.objects.exists()
    call_command(
        "import_registry",
        str(good),
        kind="residents",
        area=town.grids["A1-1"].code,
        user="grid_worker",
        stdout=out,
    )
    assert Resident.objects.get().name == "王五"

    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,身份证号,地址\n赵六,123,幸福路5号\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command(
            "import_registry",
            str(bad),
            kind="residents",
            area=town.grids["A1-1"].code,
            user="grid_worker",
            stdout=out,
        )
    assert "     2  身份证号  ID number must be 17 digits" in out.getvalue()


def test_import_command_refuses_bad_arguments(town, personas, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("姓名,身份证号,地址\n王五," + ID_A + ",幸福路5号\n", encoding="utf-8")
    area = town.grids["B1-1"].code
    with pytest.raises(CommandError, match="outside your area"):
        call_command("import_registry", str(path), kind="residents", area=area, user="grid_worker")
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_registry", str(path), kind="residents", area=area, user="nobody")
    with pytest.raises(CommandError, match="No current area"):
        call_command("import_registry", str(path), kind="residents", area="0", user="admin")
