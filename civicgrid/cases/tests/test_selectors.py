"""selectors: the scoped queue and inbox, the masked reporter, the board, tracking."""

from __future__ import annotations

import pytest
from django.http import Http404

from civicgrid.cases import selectors
from civicgrid.cases.choices import DeadlineStatus, State
from civicgrid.cases.tests.builders import build_case, build_unit, unit_handler
from civicgrid.core import clock
from civicgrid.core.scoping import scope_of

pytestmark = pytest.mark.django_db


def test_queue_is_scoped_and_filtered(town, personas):
    in_a = build_case(town, grid="A1-1", deadline_status=DeadlineStatus.OVERDUE)
    in_b = build_case(town, grid="B1-1")
    officer, worker = personas["district_officer"], personas["community_worker"]
    assert set(selectors.case_queue(officer)) == {in_a, in_b}
    assert list(selectors.case_queue(worker)) == [in_a]
    assert list(selectors.case_queue(officer, due="overdue")) == [in_a]
    assert list(selectors.case_queue(officer, area=town.streets["B"])) == [in_b]
    assert list(selectors.case_queue(officer, q=in_b.number)) == [in_b]
    assert list(selectors.case_queue(personas["outsider"])) == []


def test_inbox_lists_open_cases_of_the_users_units(town):
    unit, other = build_unit("城管"), build_unit("水务")
    lead = build_case(town, state=State.DISPATCHED, lead_unit=unit)
    co = build_case(town, state=State.ACCEPTED, lead_unit=other, co_units=[unit])
    build_case(town, state=State.CLOSED, lead_unit=unit)
    build_case(town, state=State.DISPATCHED, lead_unit=other)
    assert set(selectors.unit_inbox(unit_handler(unit))) == {lead, co}


def test_case_detail_hides_other_units_cases(town):
    unit, other = build_unit("城管"), build_unit("水务")
    theirs = build_case(town, state=State.DISPATCHED, lead_unit=other)
    with pytest.raises(Http404):
        selectors.case_detail(unit_handler(unit), theirs.pk)


def test_masked_reporter(town, personas):
    unit = build_unit("城管")
    handler = unit_handler(unit)
    case = build_case(
        town,
        state=State.DISPATCHED,
        lead_unit=unit,
        reporter_name="张三丰",
        reporter_phone="13812345678",
    )
    dispatcher = personas["street_dispatcher"]
    masked = selectors.masked_reporter(case, scope_of(dispatcher), user=dispatcher)
    assert (masked["name"], masked["phone"], masked["masked"]) == ("张**", "138****5678", True)
    handling = selectors.masked_reporter(case, scope_of(handler), user=handler)
    assert handling["phone"] == "13812345678"
    case.anonymous = True
    hidden = selectors.masked_reporter(case, scope_of(handler), user=handler)
    assert (hidden["name"], hidden["phone"]) == ("", "")
    still_masked = selectors.masked_reporter(case, scope_of(dispatcher), user=dispatcher)
    assert still_masked["phone"] == "138****5678"
    resident = personas["resident"]
    case.reporter = resident
    own = selectors.masked_reporter(case, scope_of(resident), user=resident)
    assert own["phone"] == "13812345678"


def test_board_rows_carry_no_personal_data(town):
    unit = build_unit("城管")
    done = build_case(
        town,
        state=State.CLOSED,
        lead_unit=unit,
        reporter_name="王小明",
        reporter_phone="13812345678",
        resolved_at=clock.now(),
        reply="已处理",
    )
    build_case(town, state=State.ACCEPTED, lead_unit=unit)
    build_case(town, state=State.INVALID, lead_unit=unit, resolved_at=clock.now())
    rows = selectors.board_rows(selectors.public_board())
    assert len(rows) == 1
    text = repr(rows)
    for secret in ("王小明", "13812345678", done.number, done.title, done.description):
        assert secret not in text
    assert rows[0]["community"] == "A1社区"


def test_track_case(town):
    case = build_case(town, reporter_phone="13812345678")
    assert selectors.track_case(case.number, "138 1234 5678") == case
    for number, phone in (
        (case.number, "13812345670"),
        ("nope", "13812345678"),
        (case.number, "x"),
    ):
        with pytest.raises(Http404):
            selectors.track_case(number, phone)
