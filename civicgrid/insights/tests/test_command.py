"""`manage.py mine_topics` on a CSV and on an area's cases, and the refusals."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from civicgrid.cases.tests.builders import build_case
from civicgrid.insights.models import MiningRun
from tests.builders import build_user


def write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "点赞数", "反对数"]
        )
        writer.writerows(rows)


@pytest.fixture
def messages(tmp_path):
    path = tmp_path / "messages.csv"
    rows = [
        [
            i,
            f"U{i % 3}",
            "丽发新城小区附近搅拌站噪音扰民",
            f"2019-12-{i + 1:02d} 10:00:00",
            "\n\t\t搅拌站夜间施工,噪音粉尘严重\u3000",
            i,
            0,
        ]
        for i in range(6)
    ]
    rows += [
        [
            10 + i,
            f"V{i}",
            "公交站台没有遮雨棚",
            f"2019-06-{i + 1:02d} 09:00:00",
            "下雨天等车淋雨,公交站台没有遮雨棚",
            0,
            0,
        ]
        for i in range(4)
    ]
    rows.append([99, "W", "时间不对", "昨天", "这一行没有可读的时间", 0, 0])
    write_csv(path, rows)
    return path


def test_csv_prints_the_top_problems_and_writes_markdown(messages, tmp_path):
    out = io.StringIO()
    page = tmp_path / "example.md"
    call_command(
        "mine_topics",
        "--csv",
        str(messages),
        "--text-cols",
        "留言主题,留言详情",
        "--time-col",
        "留言时间",
        "--top",
        "5",
        "--markdown",
        str(page),
        stdout=out,
    )
    text = out.getvalue()
    assert text.startswith("10 messages (1 skipped), 2 groups shown")
    lines = [line for line in text.splitlines() if line.startswith("| 1 ")]
    assert "2019-12-01 | 2019-12-06 | 6 |" in lines[0] and "丽发新城" in lines[0]
    assert "搅拌站" in lines[0]
    markdown = page.read_text(encoding="utf-8")
    assert "manage.py mine_topics" in markdown and "| 2 |" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text-cols", "标题", "--time-col", "留言时间"], "--text-cols: no column 标题"),
        (["--text-cols", "留言主题", "--time-col", "时间"], "--time-col: no column 时间"),
        (["--text-cols", "", "--time-col", "留言时间"], "--text-cols: name at least one"),
        (["--text-cols", "留言主题", "--time-col", "留言时间", "--top", "0"], "--top"),
    ],
)
def test_csv_refusals_name_the_option(messages, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("mine_topics", "--csv", str(messages), *args, stdout=io.StringIO())


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "mine_topics",
            "--csv",
            str(tmp_path / "none.csv"),
            "--text-cols",
            "a",
            "--time-col",
            "b",
            stdout=io.StringIO(),
        )


@pytest.mark.django_db
def test_area_cases_can_be_mined_and_saved(town):
    build_user("root", is_superuser=True)
    now = timezone.now()
    for i in range(4):
        build_case(
            town,
            title="公交站台没有遮雨棚",
            description="下雨天等车淋雨",
            received_at=now - dt.timedelta(days=i + 1),
        )
    out = io.StringIO()
    call_command("mine_topics", "--area", town.streets["A"].code, "--save", stdout=out)
    assert "saved mining run" in out.getvalue() and "4 messages" in out.getvalue()
    assert MiningRun.objects.get().candidates.count() == 1
    with pytest.raises(CommandError, match="--area: no area"):
        call_command("mine_topics", "--area", "nowhere", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--since"):
        call_command(
            "mine_topics",
            "--area",
            town.streets["A"].code,
            "--since",
            "soon",
            stdout=io.StringIO(),
        )
