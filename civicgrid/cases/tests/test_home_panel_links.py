"""Every number of the home page's case panel links to a list holding exactly those cases."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from civicgrid.cases.choices import DeadlineStatus, State
from civicgrid.cases.tests.builders import build_case, build_unit, unit_handler

pytestmark = pytest.mark.django_db

PANEL = re.compile(r'<section class="card" aria-labelledby="cases-heading">(.*?)</section>', re.S)
LINK = re.compile(r'<dt>([^<]*)</dt><dd><a href="([^"]*)">(\d+)</a></dd>')
ROW = re.compile(r'<tr class="deadline-[a-z_]*" data-case="([^"]+)"')


def cases(town):
    unit = build_unit("城管局", code="CG-LINKS", areas=[town.district])
    other = build_unit("水务局", code="SW-LINKS", areas=[town.district])
    numbers = {
        "received": build_case(town, grid="A1-1"),
        "near_due": build_case(
            town,
            grid="A1-2",
            state=State.DISPATCHED,
            lead_unit=unit,
            deadline_status=DeadlineStatus.NEAR_DUE,
        ),
        "accepted_overdue": build_case(
            town,
            grid="A2-1",
            state=State.ACCEPTED,
            lead_unit=unit,
            deadline_status=DeadlineStatus.OVERDUE,
        ),
        "returned": build_case(town, grid="A1-1", state=State.RETURNED, lead_unit=other),
        "other_dispatched": build_case(town, grid="A1-1", state=State.DISPATCHED, lead_unit=other),
        "closed": build_case(town, grid="A1-1", state=State.CLOSED, lead_unit=unit),
        "street_b": build_case(town, grid="B1-1", state=State.DISPATCHED, lead_unit=unit),
    }
    return unit, numbers


def panel_links(client) -> list[tuple[str, str, int]]:
    page = client.get(reverse("core:home"), headers={"Accept-Language": "en"})
    (panel,) = PANEL.findall(page.content.decode())
    return [(label, href.replace("&amp;", "&"), int(n)) for label, href, n in LINK.findall(panel)]


def listed(client, href: str) -> set[str]:
    page = client.get(href, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    return set(ROW.findall(page.content.decode()))


def test_every_link_of_a_dispatchers_panel_opens_the_matching_list(town, personas):
    _unit, made = cases(town)
    client = Client()
    client.force_login(personas["street_dispatcher"])
    links = panel_links(client)
    assert len(links) == 4  # open, near due, overdue, returned
    for label, href, count in links:
        assert len(listed(client, href)) == count, (label, href)
    by_label = {label: listed(client, href) for label, href, _n in links}
    assert by_label["Returned, awaiting a ruling"] == {made["returned"].number}
    assert by_label["Near due"] == {made["near_due"].number}


def test_awaiting_acceptance_opens_the_inbox_filtered_to_that_state(town, personas):
    unit, made = cases(town)
    client = Client()
    client.force_login(unit_handler(unit))
    links = panel_links(client)
    assert len(links) == 4  # open, near due, overdue, awaiting acceptance
    for label, href, count in links:
        assert len(listed(client, href)) == count, (label, href)
    (awaiting,) = [href for label, href, _n in links if "awaiting acceptance" in label]
    # Dispatched to the unit and not yet accepted; the accepted case stays in the full inbox.
    assert listed(client, awaiting) == {made["near_due"].number, made["street_b"].number}
    everything = listed(client, reverse("cases:inbox"))
    assert made["accepted_overdue"].number in everything - listed(client, awaiting)
