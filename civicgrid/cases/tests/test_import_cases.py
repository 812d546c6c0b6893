"""import_cases: legacy hotline CSV through intake, all or nothing, with a row report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from civicgrid.cases import importers
from civicgrid.cases.choices import Action
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tests.builders import build_category
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry

pytestmark = pytest.mark.django_db

HEADER = "工单编号,受理时间,诉求类型,分类编码,标题,内容,地址,经度,纬度,来电人,联系电话,是否保密"


def csv_bytes(town, rows, encoding="utf-8-sig") -> bytes:
    lat, lon = town.centre(town.grids["A2-1"])
    lines = [HEADER]
    for row in rows:
        values = {
            "number": "GD0001",
            "time": "2024-05-01 08:30",
            "kind": "投诉",
            "code": "",
            "title": "噪声扰民",
            "text": "楼下烧烤店营业到凌晨两点。",
            "address": "",
            "lon": str(lon),
            "lat": str(lat),
            "name": "赵六",
            "phone": "13812345678",
            "secret": "否",
        }
        values.update(row)
        lines.append(",".join(values.values()))
    return ("\n".join(lines) + "\n").encode(encoding)


def test_rows_keep_their_time_and_legacy_number(town, personas):
    leaf = build_category("噪声扰民", parent=build_category("环境"), code="06028")
    data = csv_bytes(
        town,
        [{"code": "06028"}, {"number": "GD0002", "kind": "咨询", "secret": "是"}],
        encoding="gbk",
    )
    report = importers.import_cases(
        data, actor=personas["hotline_operator"], channel="hotline", file_name="old.csv"
    )
    assert report.ok and (report.rows, report.imported) == (2, 2)
    first = Case.objects.get(number=report.numbers[0])
    assert first.received_at == timezone.make_aware(dt.datetime(2024, 5, 1, 8, 30))
    assert first.number == "2024050100001"
    assert first.category == leaf and first.kind == "complaint"
    assert first.grid == town.grids["A2-1"]
    event = first.events.get(action=Action.RECEIVE)
    assert event.data["legacy_number"] == "GD0001"
    second = Case.objects.get(number=report.numbers[1])
    assert second.anonymous and second.kind == "inquiry"
    assert AuditEntry.objects.filter(action="import", object_repr="old.csv").count() == 1


def test_one_bad_row_imports_nothing_and_every_problem_is_listed(town, personas):
    data = csv_bytes(
        town,
        [
            {},
            {"number": "GD0002", "time": "yesterday", "kind": "抱怨"},
            {"number": "GD0003", "lat": "", "lon": "", "text": ""},
            {"number": "GD0001"},
            {"number": "GD0005", "code": "99999", "phone": "12"},
        ],
    )
    before = (Case.objects.count(), CaseEvent.objects.count())
    report = importers.import_cases(data, actor=personas["hotline_operator"], channel="hotline")
    problems = {(e.row, e.column) for e in report.errors}
    assert problems == {
        (3, "受理时间"),
        (3, "诉求类型"),
        (4, "内容"),
        (5, "工单编号"),
        (6, "分类编码"),
    }
    assert report.imported == 0 and report.numbers == []
    assert (Case.objects.count(), CaseEvent.objects.count()) == before


def test_intake_refusals_are_reported_by_column(town, personas):
    data = csv_bytes(town, [{"phone": "12"}, {"number": "GD0002", "lat": "", "lon": ""}])
    report = importers.import_cases(data, actor=personas["hotline_operator"], channel="hotline")
    assert {(e.row, e.column) for e in report.errors} == {(2, "联系电话"), (3, "地址")}
    assert Case.objects.count() == 0


def test_dry_run_checks_and_writes_nothing(town, personas):
    report = importers.import_cases(
        csv_bytes(town, [{}]), actor=personas["hotline_operator"], channel="hotline", dry_run=True
    )
    assert report.ok and report.imported == 1 and report.numbers == []
    assert Case.objects.count() == 0


def test_importing_the_same_file_twice_adds_nothing(town, personas):
    data = csv_bytes(town, [{}, {"number": "GD0002"}])
    operator = personas["hotline_operator"]
    assert importers.import_cases(data, actor=operator, channel="hotline").imported == 2
    again = importers.import_cases(data, actor=operator, channel="hotline")
    assert (again.imported, again.already) == (0, 2)
    assert Case.objects.count() == 2


def test_header_and_role_are_checked_first(town, personas):
    with pytest.raises(ServiceError, match="Missing columns"):
        importers.import_cases(
            "标题,内容\n a,b\n".encode(), actor=personas["hotline_operator"], channel="hotline"
        )
    with pytest.raises(PermissionDeniedError):
        importers.import_cases(csv_bytes(town, [{}]), actor=personas["resident"], channel="hotline")


def test_command(town, personas, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(town, [{}]))
    call_command("import_cases", str(good), "--user", "hotline_operator", "--dry-run")
    assert "would import 1" in capsys.readouterr().out
    assert Case.objects.count() == 0
    call_command("import_cases", str(good), "--channel", "hotline", "--user", "hotline_operator")
    assert Case.objects.count() == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(town, [{"number": "X1", "kind": "?"}]))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_cases", str(bad), "--user", "hotline_operator")
    assert "row 2\t诉求类型" in capsys.readouterr().err
