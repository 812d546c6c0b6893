"""The coverage report (格不漏户、户不漏人) on a small hand-made street, figures written out."""

import io

import pytest
from django.http import Http404
from openpyxl import load_workbook

from civicgrid.core.errors import PermissionDeniedError
from civicgrid.registry import services
from civicgrid.registry.coverage import coverage_report, coverage_xlsx, distribution
from tests.builders import build_household, build_resident, build_user

pytestmark = pytest.mark.django_db


def households(area, n, residents_each=0):
    for _ in range(n):
        home = build_household(area)
        for _ in range(residents_each):
            build_resident(home)


def post(grid, *workers):
    for worker in workers:
        services.assign_grid_worker(actor=None, grid=grid, worker=worker)


@pytest.fixture
def street_a(town, settings):
    """Street A: grids A1-1, A1-2, A2-1, A2-2 (communities A1, A2). Staff between 2 and 3.

    | grid  | households | residents                 | staff |
    | A1-1  | 3 (2+1+0)  | 3 + 1 without a household | 2     |
    | A1-2  | 1          | 4                         | 0     |
    | A2-1  | 0          | 0                         | 1     |
    | A2-2  | 12         | 12                        | 4     |
    Community A1 holds 2 households not placed in a grid (1 resident); community A2 holds one
    resident without a household. Street B has 5 households and 1 staff the report must skip.
    """
    settings.COVERAGE_MIN_STAFF = 2
    settings.COVERAGE_MAX_STAFF = 3
    g = town.grids
    first = build_household(g["A1-1"])
    build_resident(first)
    build_resident(first)
    build_resident(build_household(g["A1-1"]))
    build_household(g["A1-1"])
    build_resident(area=g["A1-1"])
    households(g["A1-2"], 1, residents_each=4)
    households(g["A2-2"], 12, residents_each=1)
    households(town.communities["A1"], 1, residents_each=1)
    households(town.communities["A1"], 1)
    build_resident(area=town.communities["A2"])
    households(g["B1-1"], 5, residents_each=1)
    shared = build_user("两格网格员")
    post(g["A1-1"], shared, build_user())
    post(g["A2-1"], shared)
    post(g["A2-2"], *[build_user() for _ in range(4)])
    post(g["B1-1"], build_user())
    return town.streets["A"]


def test_coverage_figures(town, personas, street_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        report = coverage_report(personas["street_dispatcher"], street_a)
    g = town.grids
    rows = {r.code: (r.households, r.residents, r.staff) for r in report.grids}
    assert rows == {
        g["A1-1"].code: (3, 4, 2),
        g["A1-2"].code: (1, 4, 0),
        g["A2-1"].code: (0, 0, 1),
        g["A2-2"].code: (12, 12, 4),
    }
    assert [r.community for r in report.grids] == ["A1社区", "A1社区", "A2社区", "A2社区"]
    assert report.households == 18  # 3 + 1 + 0 + 12 in grids, 2 in community A1
    assert report.residents == 22  # 4 + 4 + 0 + 12 in grids, 1 in A1, 1 in A2
    assert report.households_without_grid == 2
    assert {h.area_name for h in report.households_without_grid_rows} == {"A1社区"}
    assert report.residents_without_household == 2
    assert [r.area_name for r in report.residents_without_household_rows] == ["第1网格", "A2社区"]
    assert report.residents_without_household_rows[0].name == "张*"  # 张三, masked
    assert report.postings == 7
    assert report.workers == 6  # one worker holds two grids
    assert [r.code for r in report.grids_without_staff] == [g["A1-2"].code]
    assert [r.code for r in report.understaffed] == [g["A2-1"].code]
    assert [r.code for r in report.overstaffed] == [g["A2-2"].code]
    assert not report.complete

    d = report.distribution
    assert (d.grids, d.minimum, d.median, d.maximum, d.mean, d.empty) == (4, 0, 2.0, 12, 4.0, 1)
    assert [(b.label, b.grids) for b in d.buckets] == [
        ("0–1", 2),
        ("2–3", 1),
        ("4–5", 0),
        ("6–7", 0),
        ("8–9", 0),
        ("10–11", 0),
        ("12–13", 1),
    ]


def test_report_covers_only_the_visible_part(town, personas, street_a):
    # Asked for the whole district, the street dispatcher of A gets street A only.
    report = coverage_report(personas["street_dispatcher"], town.district)
    assert len(report.grids) == 4
    assert report.households == 18
    everything = coverage_report(personas["district_officer"], town.district)
    assert len(everything.grids) == 8
    assert everything.households == 23
    mine = coverage_report(personas["grid_worker"], town.grids["A1-1"])
    assert (mine.households, mine.residents, mine.residents_without_household) == (3, 4, 1)


def test_report_refuses_outsiders_and_roles_without_registry(town, personas, street_a):
    with pytest.raises(Http404):
        coverage_report(personas["grid_worker"], town.streets["B"])
    with pytest.raises(Http404):
        coverage_report(personas["outsider"], street_a)
    with pytest.raises(PermissionDeniedError):
        coverage_report(personas["auditor"], street_a)


def test_query_count_does_not_grow_with_grids(town, personas, django_assert_max_num_queries):
    # The empty town has 8 grids; a report over it costs the same handful of queries.
    with django_assert_max_num_queries(10):
        report = coverage_report(personas["district_officer"], town.district)
    assert report.complete is False  # no grid has staff
    assert len(report.grids_without_staff) == 8


def test_distribution_buckets_widen_with_the_largest_grid():
    d = distribution([0, 480, 535, 610, 1200])
    assert (d.minimum, d.median, d.maximum) == (0, 535.0, 1200)
    assert d.buckets[0].label == "0–199"
    assert sum(b.grids for b in d.buckets) == 5
    assert len(d.buckets) == 7
    assert distribution([]).grids == 0


def test_distribution_starts_at_the_smallest_grid():
    # Demo-like grids of 375..695 households: 50-household buckets from 350, none below.
    d = distribution([375, 420, 538, 610, 695])
    assert [(b.label, b.grids) for b in d.buckets] == [
        ("350–399", 1),
        ("400–449", 1),
        ("450–499", 0),
        ("500–549", 1),
        ("550–599", 0),
        ("600–649", 1),
        ("650–699", 1),
    ]
    assert d.empty == 0


def test_coverage_workbook_has_a_sheet_per_section(town, personas, street_a):
    report = coverage_report(personas["street_dispatcher"], street_a)
    book = load_workbook(io.BytesIO(coverage_xlsx(report)))
    assert book.sheetnames == [
        "概览",
        "网格明细",
        "未入格住户",
        "未入户居民",
        "无网格员网格",
        "网格员不足网格",
        "网格员超配网格",
        "户数分布",
    ]
    summary = {row[0]: row[1] for row in book["概览"].iter_rows(min_row=2, values_only=True)}
    assert summary["户数"] == 18
    assert summary["未入格户数"] == 2
    assert summary["网格员不足2人的网格数"] == 1
    assert summary["格不漏户、户不漏人"] == "否"
    grids = list(book["网格明细"].iter_rows(values_only=True))
    assert grids[0] == ("网格编码", "网格名称", "所属社区", "户数", "人数", "网格员数")
    assert grids[1] == (town.grids["A1-1"].code, "第1网格", "A1社区", 3, 4, 2)
    homeless = list(book["未入户居民"].iter_rows(values_only=True))
    assert len(homeless) == 3
    assert homeless[1][1] == "张*"
    assert homeless[1][2].startswith("5101**********")
