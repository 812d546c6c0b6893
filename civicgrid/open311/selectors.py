"""Reads for GeoReport v2: services from the category tree, requests from cases.

Requests are cases that came in through Open311 (the partner channel). Without an api key
anyone may read them, as the specification intends; with a key, only those in the partner's
scope. Either way a row carries no personal data: no reporter name, phone or email, no
account, and the answers are read with the reporter columns deferred.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone, translation

from civicgrid.accounts.models import PartnerSystem
from civicgrid.areas.models import Area
from civicgrid.cases import workflow
from civicgrid.cases.choices import Action, Channel, State
from civicgrid.cases.models import Case, CaseEvent, Category
from civicgrid.open311 import attributes

MAX_ROWS = 1000
MAX_SPAN = dt.timedelta(days=90)
OPEN, CLOSED = "open", "closed"
# The Chinese state goes into status_notes whatever language the client asked for: it is
# what the hotline and the units call it.
NOTES_LANGUAGE = "zh-hans"
SERVICE_TYPE = "realtime"  # a case number comes back at once
# Where the lines of services.details_block (attribute answers) start in a description.
DETAILS_MARKER = "\n\n[Open311]\n"


def leaf_categories() -> list[tuple[Category, list[Category]]]:
    """(leaf, its ancestors from the top down) for every active leaf of the active taxonomy,
    by code. A leaf under a switched-off category is not offered."""
    nodes = list(Category.objects.filter(taxonomy__is_active=True, is_active=True).order_by("code"))
    by_id = {c.pk: c for c in nodes}
    parents = {c.parent_id for c in nodes if c.parent_id}
    out = []
    for category in nodes:
        if category.pk in parents:
            continue
        chain, node = [], category
        while node.parent_id and node.parent_id in by_id:
            node = by_id[node.parent_id]
            chain.append(node)
        if node.parent_id:
            continue
        out.append((category, list(reversed(chain))))
    return out


def service_row(category: Category, ancestors: list[Category]) -> dict:
    keywords = ", ".join(category.keywords.replace("，", " ").replace(",", " ").split())
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": " > ".join([a.name for a in ancestors] + [category.name]),
        "metadata": bool(attributes.for_category(category.code)),
        "type": SERVICE_TYPE,
        "keywords": keywords,
        "group": ancestors[0].name if ancestors else category.name,
    }


def services() -> list[dict]:
    """The service list: one service per active leaf category."""
    return [service_row(category, ancestors) for category, ancestors in leaf_categories()]


def service(code: str) -> Category | None:
    """The active leaf category with `code` in the active taxonomy, or None (also when an
    ancestor is switched off, as in the list). Two small queries, not the whole tree."""
    category = (
        Category.objects.filter(taxonomy__is_active=True, is_active=True, code=code[:16])
        .select_related("parent__parent")
        .first()
    )
    if category is None or category.children.filter(is_active=True).exists():
        return None
    node = category
    while node.parent_id:
        node = node.parent
        if not node.is_active:
            return None
    return category


def definition(category: Category) -> dict:
    return {"service_code": category.code, "attributes": attributes.for_category(category.code)}


def requests_visible(partner: PartnerSystem | None, jurisdiction: Area | None) -> QuerySet[Case]:
    """Cases received through Open311, in the partner's scope when a key came along."""
    cases = Case.objects.all() if partner is None else Case.objects.visible_to(partner.user)
    cases = cases.filter(channel=Channel.PARTNER)
    if jurisdiction is not None:
        cases = cases.filter(area_path__startswith=jurisdiction.path)
    return cases


def with_details(cases: QuerySet[Case]) -> QuerySet[Case]:
    """What a request row needs, in three queries whatever the number of rows; the reporter's
    columns are not even read."""
    receive = CaseEvent.objects.filter(action=Action.RECEIVE).only("case_id", "data")
    return (
        cases.select_related("category", "lead_unit")
        .defer("reporter_name", "reporter_phone", "reporter", "title")
        .annotate(updated_at=Max("events__at"))
        .prefetch_related(Prefetch("events", queryset=receive, to_attr="receive_events"))
    )


def request_list(
    cases: QuerySet[Case],
    *,
    ids: list[str] | None = None,
    codes: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: list[str] | None = None,
    now: dt.datetime,
) -> list[Case]:
    """At most MAX_ROWS requests, newest first. Ids override every other filter; otherwise
    the span is `start`..`end` (the last 90 days when neither is given)."""
    if ids:
        cases = cases.filter(number__in=ids)
    else:
        if start is None and end is None:
            end = now
        if start is None:
            start = end - MAX_SPAN
        if end is None:
            end = start + MAX_SPAN
        cases = cases.filter(received_at__gte=start, received_at__lte=end)
        if codes:
            cases = cases.filter(category__code__in=codes)
        if statuses and set(statuses) != {OPEN, CLOSED}:
            wanted = workflow.OPEN_STATES if OPEN in statuses else _closed_states()
            cases = cases.filter(state__in=wanted)
    return list(with_details(cases).order_by("-received_at", "-id")[:MAX_ROWS])


def _closed_states() -> set[str]:
    return {s for s in State.values if s not in workflow.OPEN_STATES}


def request_row(case: Case) -> dict:
    """One request as GeoReport v2 has it, with no personal data."""
    is_open = case.state in workflow.OPEN_STATES
    with translation.override(NOTES_LANGUAGE):
        notes = str(State(case.state).label)
    if case.reply:
        notes = f"{notes}：{case.reply}"
    extra: dict = {}
    events = getattr(case, "receive_events", None)
    if events is None:
        events = list(case.events.filter(action=Action.RECEIVE).only("data"))
    if events:
        extra = events[0].data.get("extra") or {}
    return {
        "service_request_id": case.number,
        "status": OPEN if is_open else CLOSED,
        "status_notes": notes,
        "service_name": case.category.name if case.category else "",
        "service_code": case.category.code if case.category else "",
        "description": case.description.split(DETAILS_MARKER)[0],
        "agency_responsible": case.lead_unit.name if case.lead_unit else "",
        "service_notice": "",
        "requested_datetime": case.received_at,
        "updated_datetime": getattr(case, "updated_at", None) or case.received_at,
        "expected_datetime": case.resolve_due_at,
        "address": case.address,
        "address_id": extra.get("address_id", ""),
        "zipcode": "",
        "lat": case.lat,
        "long": case.lon,
        "media_url": extra.get("media_url", ""),
    }


def aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value
