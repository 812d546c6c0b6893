"""Fixtures for the Open311 tests: a small category tree and a partner system over the town."""

from __future__ import annotations

import pytest

from civicgrid.cases.tests.builders import build_category
from civicgrid.open311 import partners


@pytest.fixture(autouse=True)
def fresh_rate_counters():
    """Rate counters live in the cache, keyed by partner id; ids come round again after each
    test's rollback, so a counter left by one test must not throttle the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tree(db) -> dict:
    """城市管理 > 市政设施 > 污水井盖 (01002, with attributes in data/attributes.json) and
    路灯 (01037), plus 市容环境 > 占道经营 (06001, none)."""
    top = build_category("城市管理", code="02")
    facilities = build_category("市政设施", parent=top, code="0201")
    looks = build_category("市容环境", parent=top, code="0202")
    return {
        "top": top,
        "manhole": build_category(
            "污水井盖", parent=facilities, code="01002", keywords="井盖 窨井 污水井"
        ),
        "lamp": build_category("路灯", parent=facilities, code="01037", keywords="路灯不亮"),
        "stall": build_category("占道经营", parent=looks, code="06001", keywords="摆摊"),
    }


@pytest.fixture
def partner(town) -> tuple:
    """(partner system over the town's district, its api key)."""
    return partners.register_partner(
        name="随手拍 App", jurisdiction=town.district, rate_limit_per_minute=1000
    )
