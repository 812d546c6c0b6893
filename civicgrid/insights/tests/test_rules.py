"""The hotspot rule and the mining pipeline on hand-made inputs, with the expected results
written out. No database."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.insights import hotspots, mining
from civicgrid.insights.hotspots import RiseRule, judge, poisson_tail, weekly_rises

RULE = RiseRule(baseline_weeks=8, min_count=5, alpha=0.01)
WEEK = dt.date(2026, 11, 9)  # a Monday


def weeks_before(counts: list[int]) -> dict[dt.date, int]:
    """counts[0] is 8 weeks before WEEK, counts[-1] is WEEK itself."""
    n = len(counts) - 1
    return {WEEK - dt.timedelta(weeks=n - i): c for i, c in enumerate(counts)}


def test_poisson_tail_values():
    assert poisson_tail(0, 2.0) == 1.0
    # P(X >= 1 | 2) = 1 - e^-2
    assert poisson_tail(1, 2.0) == pytest.approx(0.864665, abs=1e-6)
    # P(X >= 5 | 1) = 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24)
    assert poisson_tail(5, 1.0) == pytest.approx(0.003660, abs=1e-6)


@pytest.mark.parametrize(
    ("history", "count", "flagged"),
    [
        # steady 2 a week, then 9: P(X>=9 | 2) = 0.00024 < 0.01 -> a rise
        ([2, 2, 2, 2, 2, 2, 2, 2], 9, True),
        # steady 2 a week, then 5: P(X>=5 | 2) = 0.053 -> not significant
        ([2, 2, 2, 2, 2, 2, 2, 2], 5, False),
        # nothing before, then 5: λ floor 0.5, P(X>=5 | 0.5) = 0.00017 -> a rise
        ([0, 0, 0, 0, 0, 0, 0, 0], 5, True),
        # nothing before, then 4: below the minimum count of 5 -> never a rise
        ([0, 0, 0, 0, 0, 0, 0, 0], 4, False),
        # a busy series (mean 10), 16: P(X>=16 | 10) = 0.049 -> not significant
        ([10, 10, 10, 10, 10, 10, 10, 10], 16, False),
        # a busy series (mean 10), 20: P(X>=20 | 10) = 0.0035 -> a rise
        ([10, 10, 10, 10, 10, 10, 10, 10], 20, True),
        # a falling week is never a rise, however unlikely
        ([30, 30, 30, 30, 30, 30, 30, 30], 6, False),
    ],
)
def test_rise_rule(history, count, flagged):
    assert judge(count, history, RULE)[0] is flagged


def test_weekly_rises_reads_only_the_baseline_weeks_and_sorts_by_p_value():
    series = {
        # category 1 in area 10: 1 a week, then 8; a burst 9 weeks back is outside the baseline
        (1, 10): {**weeks_before([1, 1, 1, 1, 1, 1, 1, 1, 8]), WEEK - dt.timedelta(weeks=9): 50},
        # category 2 in area 10: 0 then 6
        (2, 10): weeks_before([0, 0, 0, 0, 0, 0, 0, 0, 6]),
        # category 1 in area 11: steady 4, then 5: no rise
        (1, 11): weeks_before([4, 4, 4, 4, 4, 4, 4, 4, 5]),
        # category 3: nothing this week at all
        (3, 12): weeks_before([5, 5, 5, 5, 5, 5, 5, 5, 0]),
    }
    rises = weekly_rises(series, WEEK + dt.timedelta(days=3), RULE)
    # P(X>=8 | 1) = 1.0e-5 comes before P(X>=6 | 0.5) = 1.4e-5
    assert [(r.category_id, r.area_id) for r in rises] == [(1, 10), (2, 10)]
    first, second = rises
    assert first.count == 8 and first.baseline_mean == 1.0 and first.history == [1] * 8
    assert first.p_value == pytest.approx(1.02e-5, rel=0.01)
    assert second.count == 6 and second.baseline_mean == 0 and second.ratio == 12.0
    assert second.p_value == pytest.approx(1.42e-5, rel=0.01)
    everything = weekly_rises(series, WEEK, RULE, flagged_only=False)
    assert {(r.category_id, r.area_id): r.flagged for r in everything} == {
        (2, 10): True,
        (1, 10): True,
        (1, 11): False,
    }


def test_clusters_group_nearby_cases_of_one_category():
    at = dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)
    lat, lon = 30.67, 104.05
    metre = 1 / 110_540
    near = [
        hotspots.Point(i, lat + i * 20 * metre, lon, 7, at, "一环路1号", "/1/2/") for i in range(5)
    ]
    # same place, other category: not part of category 7's cluster and too few on its own
    other = [hotspots.Point(10 + i, lat, lon, 8, at) for i in range(3)]
    # category 7 but 2 km away
    far = [hotspots.Point(20, lat + 2000 * metre, lon, 7, at)]
    found = hotspots.clusters(near + other + far, radius_m=50, min_cases=4)
    assert len(found) == 1
    cluster = found[0]
    assert cluster.category_id == 7
    assert cluster.case_ids == [0, 1, 2, 3, 4]
    assert cluster.radius_m == pytest.approx(40, abs=1)  # 80 m long, centre in the middle
    assert cluster.address == "一环路1号"
    assert hotspots.clusters(near, radius_m=10, min_cases=4) == []


def _doc(i: int, title: str, text: str, day: int, **kw) -> mining.Doc:
    return mining.Doc(
        id=str(i),
        title=title,
        text=text,
        at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC) + dt.timedelta(days=day),
        **kw,
    )


def fixture_docs() -> list[mining.Doc]:
    docs = []
    for i in range(8):
        docs.append(
            _doc(
                i,
                "丽发新城小区附近搅拌站噪音扰民",
                f"丽发新城小区旁边的搅拌站晚上施工,噪音和粉尘严重,第{i}次反映",
                50 + i,
                reporter="u1" if i < 2 else f"r{i}",
                resolved=False,
            )
        )
    for i in range(8, 14):
        docs.append(
            _doc(
                i,
                "公交线路发车间隔太长",
                "公交车站等车要半小时,公交线路发车间隔太长,希望增加班次",
                i,
                reporter=f"r{i}",
                resolved=True,
            )
        )
    for i, (t, x) in enumerate(
        [
            ("咨询住房公积金", "公积金贷款额度怎么算"),
            ("路灯不亮", "路口路灯坏了"),
            ("宠物狗伤人", "小区遛狗不牵绳"),
        ],
        start=14,
    ):
        docs.append(_doc(i, t, x, i))
    return docs


def test_mining_groups_the_fixture_and_ranks_by_the_formula():
    groups = mining.mine(fixture_docs(), mining.Weights(docs_per_group=4, min_size=3))
    by_ids = {frozenset(g.doc_ids): g for g in groups}
    noise = frozenset({"14", "15", "16"})
    assert frozenset(str(i) for i in range(8)) in by_ids
    assert frozenset(str(i) for i in range(8, 14)) in by_ids
    assert all(not (set(g.doc_ids) & noise) for g in groups)
    mixer = by_ids[frozenset(str(i) for i in range(8))]
    bus = by_ids[frozenset(str(i) for i in range(8, 14))]
    # the mixer group: 8 docs all in the last 60 days (growth clamped at 3), two of them from
    # one reporter (R = 1 + 2/8), none resolved (U = 1)
    assert mixer.volume == 8
    assert mixer.growth == 3.0
    assert mixer.repeat_rate == 1.25
    assert mixer.unresolved == 1.0
    assert mixer.score == pytest.approx(8 * 3.0 * 1.25 * 1.0)
    # the bus group: 6 docs before the last 60 days (growth (0+1)/(expected+1) clamped at 0.5),
    # nobody repeats, all resolved (U = 0.5)
    assert bus.unresolved == 0.5 and bus.repeat_rate == 1.0
    assert groups[0] is mixer
    assert any("搅拌站" in phrase for phrase in mixer.key_phrases)
    assert "丽发新城" in mixer.place
    assert mixer.description == "丽发新城小区附近搅拌站噪音扰民"


def test_mining_too_little_text_gives_no_groups():
    assert mining.mine([]) == []
    assert mining.mine(fixture_docs()[14:]) == []


def test_heat_weighs_votes_with_diminishing_effect():
    assert mining.heat(0, 0) == 1.0
    assert mining.heat(1, 0) == pytest.approx(1.693, abs=1e-3)
    assert mining.heat(-5, 0) == 1.0
