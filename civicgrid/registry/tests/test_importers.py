"""Spreadsheet imports: good files, broken rows, refused files, all-or-nothing writes."""

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.registry import importers, services
from civicgrid.registry.choices import ImportStatus
from civicgrid.registry.idnumbers import make_id_number
from civicgrid.registry.importers import create_import_job, run_import
from civicgrid.registry.models import Household, ImportJob, Resident
from tests.builders import build_household, build_resident

pytestmark = pytest.mark.django_db

RESIDENT_HEADER = ["姓名", "身份证号", "联系电话", "与户主关系", "人口类型", "标签", "地址", "民族"]


def idn(seq: int, birth=dt.date(1975, 6, 1), gender="male") -> str:
    return make_id_number("510106", birth, seq, gender)


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    lines = [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def start(actor, area, data, *, kind="residents", name="居民.csv", dry_run=False):
    return create_import_job(
        actor=actor, kind=kind, area=area, file_name=name, data=data, dry_run=dry_run
    )


@pytest.fixture
def homes(town):
    """Two households in grid A1-1 and one in A1-2 (all in community A1)."""
    return {
        "幸福路1号": build_household(town.grids["A1-1"], address="幸福路1号"),
        "幸福路2号": build_household(town.grids["A1-1"], address="幸福路2号"),
        "和平路3号": build_household(town.grids["A1-2"], address="和平路3号"),
    }


GOOD_ROWS = [
    RESIDENT_HEADER,
    ["王大明", idn(1), "13812340001", "户主", "户籍", "", "幸福路1号", "汉族"],
    ["李秀英", idn(2, gender="female"), "", "配偶", "户籍", "低保、残疾人", "幸福路 1 号", ""],
    ["王小明", idn(3, birth=dt.date(2012, 3, 4)), "", "子女", "流动", "留守儿童", "和平路3号", ""],
]


def test_good_csv_is_imported_in_one_go(town, personas, homes):
    worker = personas["community_worker"]
    job = start(worker, town.communities["A1"], csv_bytes(GOOD_ROWS))
    assert job.status == ImportStatus.PENDING
    job = run_import(job, csv_bytes(GOOD_ROWS))
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert (job.total_rows, job.processed_rows, job.written_rows) == (3, 3, 3)
    assert job.errors == []
    wife = Resident.objects.get(name="李秀英")
    assert wife.household == homes["幸福路1号"]  # the address matched despite the spaces
    assert wife.area == town.grids["A1-1"]
    assert (wife.relation, wife.gender, wife.tags) == ("spouse", "female", ",disabled,low_income,")
    child = Resident.objects.get(name="王小明")
    assert (child.area, child.population_type) == (town.grids["A1-2"], "floating")
    assert child.birth_date == dt.date(2012, 3, 4)
    # Rows inserted by the importer read and filter like rows saved through the ORM.
    assert Resident.objects.filter(birth_date__year=2012).get() == child
    assert child.created_at.tzinfo is not None
    assert Resident.objects.filter(created_at__lte=clock.now(), arrived_on=None).count() == 3
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.actor == worker
    assert entry.fields["rows"] == 3
    assert entry.area_path == town.communities["A1"].path


def test_good_xlsx_with_numbers_typed_as_numbers(town, personas, homes):
    rows = [
        ["序号", *RESIDENT_HEADER],
        [1, "赵四", idn(4), 13812340004, "其他", "户籍", None, "幸福路2号", None],
        [2, "钱五", idn(5), "028-85123456", None, None, "退休", "幸福路2号", "回族"],
        [None] * 9,  # a blank row at the end, as Excel often leaves
    ]
    data = xlsx_bytes(rows)
    job = run_import(start(personas["grid_worker"], town.grids["A1-1"], data, name="r.xlsx"), data)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.total_rows == 2
    zhao = Resident.objects.get(name="赵四")
    assert zhao.phone == "13812340004"
    assert zhao.relation == "other"
    assert Resident.objects.get(name="钱五").ethnicity == "回族"


def test_short_rows_and_stray_cells_beyond_the_header(town, personas, homes):
    rows = [
        ["姓名", "身份证号", "地址", "标签"],
        ["周九", idn(60), "幸福路1号"],  # no 标签 cell at all
        ["吴十", idn(61), "幸福路2号", "", "多余", "低保"],  # cells with no header
    ]
    data = csv_bytes(rows)
    job = run_import(start(personas["admin"], town.district, data), data)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert Resident.objects.get(name="周九").tags == ""
    assert Resident.objects.get(name="吴十").tags == ""


def test_dry_run_checks_everything_and_writes_nothing(town, personas, homes):
    data = csv_bytes(GOOD_ROWS)
    job = run_import(start(personas["admin"], town.district, data, dry_run=True), data)
    assert job.status == ImportStatus.CHECKED
    assert job.written_rows == 0
    assert "3 rows" in job.message
    assert not Resident.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).exists()


def test_every_bad_row_is_reported_and_nothing_is_written(town, personas, homes):
    build_resident(homes["和平路3号"], id_number=idn(40))
    bad_check = idn(30)[:-1] + ("0" if idn(30)[-1] != "0" else "1")
    rows = [
        RESIDENT_HEADER,
        ["好人", idn(31), "", "户主", "", "", "幸福路1号", ""],  # row 2: fine
        ["", bad_check, "12345", "表哥", "", "", "幸福路1号", ""],  # row 3
        ["甲", "510106199002300010", "", "", "常住人口", "", "幸福路1号", ""],  # row 4
        ["乙", idn(31), "", "", "", "老年人", "无名路9号", ""],  # row 5
        ["丙", idn(40), "", "", "", "贵宾", "", ""],  # row 6
    ]
    data = csv_bytes(rows)
    job = run_import(start(personas["admin"], town.district, data), data)
    assert job.status == ImportStatus.FAILED
    reported = [(e["row"], e["column"]) for e in job.errors]
    assert reported == [
        (3, "姓名"),
        (3, "身份证号"),
        (3, "联系电话"),
        (3, "与户主关系"),
        (4, "身份证号"),
        (4, "人口类型"),
        (5, "身份证号"),
        (5, "标签"),
        (5, "地址"),
        (6, "标签"),
        (6, "地址"),
        (6, "身份证号"),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "check digit" in messages[(3, "身份证号")]
    assert "impossible birth date" in messages[(4, "身份证号")]
    assert messages[(5, "身份证号")] == "The same ID number is on row 2."
    assert "derived from the birth date" in messages[(5, "标签")]
    assert "No household at this address" in messages[(5, "地址")]
    assert "already registered" in messages[(6, "身份证号")]
    assert "户主" in messages[(3, "与户主关系")]  # the message lists the allowed values
    assert "12 errors in 4 rows" in job.message
    assert Resident.objects.count() == 1  # only the one that was there before
    assert job.processed_rows == job.total_rows == 5


def test_id_number_mangled_by_excel_is_explained(town, personas, homes):
    rows = [RESIDENT_HEADER, ["孙七", float(idn(8)), "", "", "", "", "幸福路1号", ""]]
    data = xlsx_bytes(rows)
    job = run_import(start(personas["admin"], town.district, data, name="r.xlsx"), data)
    assert job.status == ImportStatus.FAILED
    assert job.errors == [
        {
            "row": 2,
            "column": "身份证号",
            "message": "Excel stored this ID number as a number and lost its last digits; "
            "format the column as text and type it again.",
        }
    ]


def test_households_from_a_gbk_csv(town, personas):
    admin = personas["admin"]
    lat, lon = town.centre(town.grids["A1-2"])
    building = services.create_building(actor=admin, address="幸福小区3栋", lat=lat, lon=lon)
    rows = [
        ["地址", "楼栋地址", "单元", "房号", "住房用途", "联系人", "联系电话", "网格编码"],
        ["幸福小区3栋1单元101", "幸福小区3栋", "1单元", "101", "出租", "周八", "13812345678", ""],
        ["幸福小区3栋1单元102", "幸福小区3栋", "1单元", "102", "", "", "", ""],
        ["解放路8号", "", "", "", "经营", "", "", town.grids["A1-1"].code],
        ["解放路9号", "", "", "", "空置", "", "", ""],
    ]
    data = csv_bytes(rows, encoding="gbk")
    job = start(
        personas["community_worker"], town.communities["A1"], data, kind="households", name="户.csv"
    )
    job = run_import(job, data)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    flat = Household.objects.get(address="幸福小区3栋1单元101")
    assert (flat.building, flat.area, flat.household_type) == (building, building.grid, "rented")
    assert flat.contact_name == "周八"
    assert Household.objects.get(address="幸福小区3栋1单元102").household_type == "owner"
    assert Household.objects.get(address="解放路8号").area == town.grids["A1-1"]
    # No grid code, no building: the household waits in the community for placement.
    assert Household.objects.get(address="解放路9号").area == town.communities["A1"]


def test_household_rows_with_clashes(town, personas):
    admin = personas["admin"]
    building = services.create_building(actor=admin, grid=town.grids["A1-1"], address="幸福小区1栋")
    services.create_household(actor=admin, building=building, entrance="1单元", room="101")
    build_household(town.grids["B1-1"], address="和平路1号")
    rows = [
        ["地址", "楼栋地址", "单元", "房号", "住房用途", "网格编码"],
        ["幸福小区1栋1单元101号", "幸福小区1栋", "1单元", "101", "", ""],  # row 2: room taken
        ["和平路1号", "", "", "", "", ""],  # row 3: address taken
        ["新街1号", "", "", "", "仓库", "999"],  # row 4: bad use, unknown grid
        ["新街2号", "", "", "", "", ""],  # row 5: fine
        ["新街2号", "无此楼", "", "", "", ""],  # row 6: repeated address, unknown building
    ]
    data = csv_bytes(rows)
    job = run_import(start(admin, town.communities["A1"], data, kind="households"), data)
    assert job.status == ImportStatus.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (2, "房号"),
        (3, "地址"),
        (4, "住房用途"),
        (4, "网格编码"),
        (6, "地址"),
        (6, "楼栋地址"),
    ]
    assert Household.objects.count() == 2


def test_empty_and_header_only_files_are_refused(town, personas):
    admin = personas["admin"]
    with pytest.raises(ServiceError, match="empty"):
        start(admin, town.district, b"")
    with pytest.raises(ServiceError, match="empty"):
        start(admin, town.district, b"\r\n\r\n,,,\r\n")
    with pytest.raises(ServiceError, match="no data rows"):
        start(admin, town.district, csv_bytes([RESIDENT_HEADER]))
    assert not ImportJob.objects.exists()


def test_a_50_mb_file_is_refused_before_parsing(town, personas, monkeypatch):
    def must_not_parse(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(importers, "iter_rows", must_not_parse)
    monkeypatch.setattr(importers, "detect_format", must_not_parse)
    data = bytes(50 * 1024 * 1024)
    with pytest.raises(ServiceError) as exc:
        start(personas["admin"], town.district, data, name="big.csv")
    assert exc.value.field == "file"
    assert exc.value.message == (
        "The file is 50.0 MB; the limit is 20.0 MB. Split it into smaller files."
    )
    assert not ImportJob.objects.exists()


def test_unknown_missing_and_repeated_headers_are_refused(town, personas):
    admin = personas["admin"]
    data = csv_bytes([["姓名", "身份证", "住址", "住址", "爱好"], ["甲", idn(1), "x", "x", "y"]])
    with pytest.raises(ServiceError) as exc:
        start(admin, town.district, data)
    message = exc.value.message
    assert "unknown columns: 身份证、爱好" in message
    assert "repeated columns: 住址" in message
    assert "missing columns: 身份证号" in message
    assert "Expected: 姓名、身份证号、联系电话" in message


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("people.pdf", b"%PDF-1.4", "Unknown file format"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + bytes(100), r"\.xls"),
        ("fake.xlsx", b"name,id\n", "not a valid .xlsx"),
        ("broken.xlsx", b"PK\x03\x04" + bytes(100), "cannot be read"),
    ],
)
def test_unknown_or_broken_formats_are_refused(town, personas, name, data, match):
    with pytest.raises(ServiceError, match=match):
        start(personas["admin"], town.district, data, name=name)


def test_csv_that_is_neither_utf8_nor_gbk(town, personas):
    with pytest.raises(ServiceError, match="neither UTF-8 nor GBK"):
        start(personas["admin"], town.district, b"\x80\xff" * 10)


def test_excel_unicode_text_is_utf16_with_tabs(town, personas, homes):
    text = "\r\n".join("\t".join(row) for row in GOOD_ROWS[:2]) + "\r\n"
    data = text.encode("utf-16")  # with its byte-order mark, as Excel writes it
    job = run_import(start(personas["admin"], town.district, data, name="居民.txt"), data)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert Resident.objects.get().name == "王大明"


def test_import_needs_registry_edit_over_the_area(town, personas):
    data = csv_bytes(GOOD_ROWS)
    with pytest.raises(PermissionDeniedError):
        start(personas["grid_worker"], town.grids["B1-1"], data)
    with pytest.raises(PermissionDeniedError):
        start(personas["street_dispatcher"], town.streets["A"], data)
    with pytest.raises(PermissionDeniedError):
        start(personas["outsider"], town.grids["A1-1"], data)


def test_grid_worker_import_only_matches_households_of_their_grid(town, personas, homes):
    rows = [RESIDENT_HEADER, ["王小明", idn(3), "", "", "", "", "和平路3号", ""]]
    data = csv_bytes(rows)
    job = run_import(start(personas["grid_worker"], town.grids["A1-1"], data), data)
    assert job.status == ImportStatus.FAILED
    assert job.errors[0]["column"] == "地址"  # 和平路3号 is in A1-2, not the worker's grid


def test_write_phase_failure_leaves_nothing_behind(town, personas, homes, monkeypatch):
    def audit_fails(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(importers.audit, "record", audit_fails)
    data = csv_bytes(GOOD_ROWS)
    job = run_import(start(personas["admin"], town.district, data), data)
    assert job.status == ImportStatus.FAILED
    assert "audit log unavailable" in job.message
    assert job.written_rows == 0
    assert not Resident.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED


def test_a_duplicate_that_slips_past_validation_rolls_the_whole_import_back(
    town, personas, homes, monkeypatch
):
    # As if another import registered the third person between our check and our write:
    # the unique index refuses the third row after the first two were inserted.
    build_resident(homes["和平路3号"], id_number=idn(3, birth=dt.date(2012, 3, 4)))
    monkeypatch.setattr(importers._ResidentRows, "check_database", lambda self: None)
    data = csv_bytes(GOOD_ROWS)
    job = run_import(start(personas["admin"], town.district, data), data)
    assert job.status == ImportStatus.FAILED
    assert job.message.startswith("Writing failed, nothing was written")
    assert Resident.objects.count() == 1
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).exists()


def test_a_job_runs_once(town, personas, homes):
    data = csv_bytes(GOOD_ROWS)
    job = run_import(start(personas["admin"], town.district, data), data)
    with pytest.raises(ServiceError, match="already been run"):
        run_import(job, data)
    assert Resident.objects.count() == 3


def test_progress_is_committed_in_steps(town, personas, monkeypatch):
    for i in range(30):
        build_household(town.grids["A1-1"], address=f"进度路{i}号")
    rows = [RESIDENT_HEADER] + [
        [f"居民{i}", idn(100 + i), "", "", "", "", f"进度路{i}号", ""] for i in range(30)
    ]
    monkeypatch.setattr(importers, "LOOKUP_BATCH", 10)
    monkeypatch.setattr(importers, "PROGRESS_ROWS", 10)
    seen = []
    original = importers._Report.progress

    def spy(self, done):
        original(self, done)
        seen.append(ImportJob.objects.get(pk=self.job.pk).processed_rows)

    monkeypatch.setattr(importers._Report, "progress", spy)
    data = csv_bytes(rows)
    job = run_import(start(personas["admin"], town.district, data), data)
    assert job.status == ImportStatus.SUCCEEDED
    assert seen == [10, 20, 30]


@pytest.mark.django_db(transaction=True)
def test_background_import_finishes_on_its_own_connection(town, personas, homes):
    data = csv_bytes(GOOD_ROWS)
    job = start(personas["admin"], town.district, data)
    thread = importers.run_import_in_background(job, data)
    thread.join(timeout=120)
    assert not thread.is_alive()
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED
    assert job.written_rows == 3
