"""The rollups follow the cases: live after each transition, by the command, and rebuilt."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from civicgrid.cases.choices import Channel, Satisfaction, Solved
from civicgrid.cases.models import Case
from civicgrid.cases.tests.builders import Desk, build_case, build_policy
from civicgrid.scoring import rollups
from civicgrid.scoring.models import AreaDayCount, CaseFacts, RollupCount, UnitDayCount
from civicgrid.scoring.tests.stories import START, Story

MARCH = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 31)}


@pytest.fixture
def desk(town):
    build_policy(respond_hours=2, resolve_hours=72)
    return Desk(town)


def test_refresh_counts_a_full_story(town, personas, desk):
    d = personas["district_officer"]
    Story(town, d).dispatch(desk.unit).accept(desk.handler, 1).resolve(desk.handler, 10).callback(
        20
    ).close(21)
    result = rollups.refresh()
    assert result["changed"] == 1
    t = rollups.totals(**MARCH)
    assert t["total"] == 1 and t["scored"] == 1
    assert t["response_due"] == 1 and t["responded_on_time"] == 1
    assert t["resolved"] == 1 and t["resolved_on_time"] == 1
    assert t["rated"] == 1 and t["solved"] == 1 and t["satisfied"] == 1
    # A second refresh finds nothing new to count.
    assert rollups.refresh()["changed"] == 0
    assert rollups.totals(**MARCH)["total"] == 1


def test_a_change_moves_counts_instead_of_adding(town, personas, desk):
    d = personas["district_officer"]
    story = Story(town, d).dispatch(desk.unit).accept(desk.handler, 1)
    rollups.refresh()
    assert rollups.totals(**MARCH)["resolved"] == 0
    story.resolve(desk.handler, 5)
    rollups.refresh()
    t = rollups.totals(**MARCH)
    assert (t["total"], t["resolved"]) == (1, 1)
    story.callback(6, solved=Solved.PARTLY, satisfaction=Satisfaction.BASIC)
    rollups.refresh()
    t = rollups.totals(**MARCH)
    assert (t["partly"], t["basic"], t["solved"]) == (1, 1, 0)
    assert RollupCount.objects.count() == 1 and UnitDayCount.objects.count() == 1


def test_bulk_written_cases_are_picked_up_by_the_command(town, desk):
    build_case(town, lead_unit=desk.unit, received_at=START)
    call_command("refresh_rollups", verbosity=0)
    assert CaseFacts.objects.count() == 1
    assert rollups.totals(**MARCH)["total"] == 1


def test_full_rebuild_matches_incremental(town, personas, desk):
    d = personas["district_officer"]
    Story(town, d).dispatch(desk.unit, co_units=[desk.other_unit]).accept(desk.handler, 1)
    Story(town, d, channel=Channel.PROACTIVE).dispatch(desk.unit).accept(desk.handler, 1)
    Story(town, d).invalidate(1)
    rollups.refresh()
    before = rollups.counts(group_by=("unit", "role"), role=None, **MARCH)
    call_command("refresh_rollups", "--full", verbosity=0)
    assert rollups.counts(group_by=("unit", "role"), role=None, **MARCH) == before
    assert Case.objects.count() == 3


def test_the_publish_command_publishes_once_for_the_area_of_the_cases(town, personas, desk):
    from civicgrid.scoring.models import Scorecard

    # Cases in both streets: the bulletin is for the district that holds them all.
    for grid in ("A1-1", "B1-1"):
        Story(town, personas["district_officer"], grid=grid).dispatch(desk.unit).accept(
            desk.handler, 1
        )
    call_command("refresh_rollups", verbosity=0)
    for _ in range(2):
        call_command("publish_scorecard", "--date", "2026-03-05", verbosity=0)
    card = Scorecard.objects.get()
    assert card.scope_path == town.district.path
    assert (card.period_start, card.period_end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert [r["id"] for r in card.rows] == [desk.unit.pk]
    assert Scorecard.objects.visible_to(personas["district_officer"]).count() == 1
    assert Scorecard.objects.visible_to(personas["outsider"]).count() == 0


def test_a_key_whose_cases_moved_away_is_dropped(town, personas, desk):
    from civicgrid.cases import services

    story = Story(town, personas["district_officer"]).dispatch(desk.unit)
    rollups.refresh()
    assert set(UnitDayCount.objects.values_list("unit_id", flat=True)) == {desk.unit.pk}
    services.reassign_case(story.refresh(), desk.other_unit, actor=None, note="不属本单位")
    rollups.refresh()
    assert set(UnitDayCount.objects.values_list("unit_id", flat=True)) == {desk.other_unit.pk}
    assert set(RollupCount.objects.values_list("unit_id", flat=True)) == {desk.other_unit.pk}


def test_area_queries_read_the_area_day_table_and_unit_scopes_the_fine_one(town, personas, desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from civicgrid.core.scoping import scope_of

    d = personas["district_officer"]
    Story(town, d).dispatch(desk.unit).accept(desk.handler, 1)
    Story(town, d).dispatch(desk.other_unit)
    rollups.refresh()
    assert AreaDayCount.objects.count() == 1 and RollupCount.objects.count() == 2

    def read(scope):
        with CaptureQueriesContext(connection) as queries:
            rows = rollups.counts(group_by=("day", "area"), scope=scope, **MARCH)
        return rows, queries.captured_queries[-1]["sql"]

    rows, sql = read(scope_of(d))
    assert "scoring_areadaycount" in sql
    assert [r["total"] for r in rows] == [2]
    # A unit's scope counts by unit, which only the fine table has: its own case, not the other.
    rows, sql = read(scope_of(desk.handler))
    assert "scoring_rollupcount" in sql
    assert [r["total"] for r in rows] == [1]


def test_a_units_staff_read_the_unit_rankings_their_unit_is_ranked_in(town, personas, desk, client):
    from civicgrid.scoring.models import Scorecard

    Story(town, personas["district_officer"], grid="A1-1").dispatch(desk.unit).accept(
        desk.handler, 1
    )
    call_command("refresh_rollups", verbosity=0)
    call_command("publish_scorecard", "--date", "2026-03-05", verbosity=0)
    card = Scorecard.objects.get()
    # Published for the street's area: the unit's staff hold no area role there.
    assert card.subject == "unit" and [r["id"] for r in card.rows] == [desk.unit.pk]
    assert list(Scorecard.objects.visible_to(desk.handler)) == [card]
    # A unit the bulletin does not rank does not get it.
    assert Scorecard.objects.visible_to(desk.other_handler).count() == 0
    client.force_login(desk.handler)
    assert client.get(f"/scoring/published/{card.pk}/").status_code == 200
    assert client.get(f"/api/v1/scoring/published/{card.pk}").status_code == 200
    client.force_login(desk.other_handler)
    assert client.get(f"/scoring/published/{card.pk}/").status_code == 404
    assert client.get(f"/api/v1/scoring/published/{card.pk}").status_code == 404
