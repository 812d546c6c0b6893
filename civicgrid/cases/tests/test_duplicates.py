"""duplicates.find_candidates: nearby, recent, open cases ranked by place, time and text."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.cases import duplicates
from civicgrid.cases.choices import State
from civicgrid.cases.tests.builders import build_case, build_category
from civicgrid.core import clock

pytestmark = pytest.mark.django_db

# About 111 m of latitude.
STEP = 0.001


@pytest.fixture
def spot(town):
    return town.centre(town.grids["A1-1"])


@pytest.fixture
def categories(town):
    parent = build_category("市容环境")
    return build_category("占道经营", parent=parent), build_category("噪声扰民", parent=parent)


def near(town, spot, dlat=0.0, **kwargs):
    case = build_case(town, **kwargs)
    case.lat, case.lon = spot[0] + dlat, spot[1]
    case.save(update_fields=["lat", "lon"])
    return case


def test_bigram_jaccard():
    assert duplicates.text_similarity("路灯不亮", "路灯不亮") == 1.0
    assert duplicates.text_similarity("路灯不亮", "井盖丢失") == 0.0
    # 路灯, 灯不, 不亮 vs 路灯, 灯坏, 坏了: 1 shared of 5
    assert duplicates.text_similarity("路灯不亮", "路灯坏了") == pytest.approx(0.2)
    assert duplicates.text_similarity("", "路灯") == 0.0


def test_same_category_and_similar_text_rank_first(town, spot, categories):
    stall, noise = categories
    text = "菜市场门口有人占道摆摊"
    best = near(town, spot, STEP * 0.5, category=stall, title="占道摆摊", description=text)
    other_text = near(town, spot, STEP * 0.2, category=stall, title="井盖", description="井盖丢了")
    other_category = near(
        town, spot, STEP * 0.2, category=noise, title="占道摆摊", description=text
    )
    found = duplicates.find_candidates(lat=spot[0], lon=spot[1], text=text, category=stall)
    assert [c.case for c in found][:3] == [best, other_category, other_text]
    assert "same category" in found[0].reasons
    assert any(r.startswith("text ") and r.endswith("% similar") for r in found[0].reasons)
    assert found[0].distance_m == pytest.approx(55.6, abs=1)
    assert "56 m away" in found[0].reasons
    assert "related category" in found[1].reasons
    assert 0 <= found[-1].score < found[0].score <= 1


def test_far_old_closed_and_excluded_cases_are_left_out(town, spot, categories):
    stall, _ = categories
    text = "占道摆摊"
    kept = near(town, spot, category=stall, title=text)
    near(town, spot, STEP * 3, category=stall, title=text)  # ~330 m
    near(town, spot, category=stall, title=text, received_at=clock.now() - dt.timedelta(days=8))
    near(town, spot, category=stall, title=text, state=State.CLOSED)
    this = near(town, spot, category=stall, title=text)
    found = duplicates.find_candidates(
        lat=spot[0], lon=spot[1], text=text, category=stall, exclude=this
    )
    assert [c.case for c in found] == [kept]
    assert duplicates.find_candidates(lat=None, lon=None, text=text) == []


def test_radius_and_window_come_from_settings(town, spot, settings):
    near(town, spot, STEP * 3, title="占道摆摊")
    assert duplicates.find_candidates(lat=spot[0], lon=spot[1], text="占道摆摊") == []
    settings.DUPLICATE_RADIUS_M = 500
    assert len(duplicates.find_candidates(lat=spot[0], lon=spot[1], text="占道摆摊")) == 1


def fixed_score(features):
    return 0.5 if features.same_category else 0.25


def test_the_scorer_is_a_seam(town, spot, settings, categories):
    stall, _ = categories
    near(town, spot, title="完全不同的事", category=stall)
    settings.DUPLICATE_SCORER = f"{__name__}.fixed_score"
    found = duplicates.find_candidates(lat=spot[0], lon=spot[1], text="占道", category=stall)
    assert [c.score for c in found] == [0.5]
