"""The scoring API: presets, live scorecards, published scorecards (通报) and their workbook,
the rollup counts dashboards read, and the cases behind any figure. Everything is scoped to
the caller (`cases.view`); an area outside the scope is a 404."""

from django.http import Http404
from ninja import Query, Router, Status
from ninja.pagination import paginate

from civicgrid.core.api import XLSX_RESPONSE, ErrorOut, Mapped, Page, invalid
from civicgrid.core.exports import xlsx_response
from civicgrid.core.scoping import get_visible_or_404, scope_of
from civicgrid.scoring import exports, presets, rollups, scorecards, selectors, services
from civicgrid.scoring.forms import last_month
from civicgrid.scoring.models import Scorecard, Subject
from civicgrid.scoring.schemas import (
    CaseRef,
    CountsQuery,
    ExplainQuery,
    PresetOut,
    PublishedDetail,
    PublishedOut,
    PublishIn,
    ScorecardOut,
    ScorecardQuery,
)

router = Router(tags=["scoring"])
ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _viewer(request) -> None:
    if not selectors.can_view(request.user):
        raise Http404


def _resolve(request, q: ScorecardQuery):
    preset = presets.get(q.preset, q.version)
    per = scorecards.period(q.period, q.date or last_month(), q.end)
    area = selectors.area_or_404(request.user, q.area)
    return preset, per, area


def _card_out(card: dict, preset_code: str, version: int) -> dict:
    return {**card, "preset": preset_code, "preset_version": version}


@router.get(
    "/scoring/presets", response=list[PresetOut], summary="Scorecard presets (newest versions)"
)
def list_presets(request):
    _viewer(request)
    return presets.latest()


@router.get(
    "/scoring/scorecard",
    response={200: ScorecardOut, **ERRORS},
    summary="A live scorecard (三率) of units or areas for a period, in the caller's scope",
)
def live_scorecard(request, q: Query[ScorecardQuery]):
    _viewer(request)
    preset, per, area = _resolve(request, q)
    card = selectors.compute_for(request.user, preset, per, q.subject, area)
    return _card_out(card, preset.code, preset.version)


@router.get(
    "/scoring/scorecard.xlsx",
    response={200: None, **ERRORS},
    summary="A live scorecard as a bulletin workbook (通报)",
    openapi_extra=XLSX_RESPONSE,
)
def live_scorecard_xlsx(request, q: Query[ScorecardQuery]):
    _viewer(request)
    preset, per, area = _resolve(request, q)
    card = selectors.compute_for(request.user, preset, per, q.subject, area)
    data = exports.scorecard_workbook(
        card,
        title=services.default_title(per, q.subject, area),
        preset_label=f"{preset.name} v{preset.version}",
        subject_label=str(Subject(q.subject).label),
    )
    return xlsx_response(data, exports.filename(card))


def _published_out(s: Scorecard) -> dict:
    return {
        "id": s.pk,
        "title": s.title,
        "preset": s.preset_code,
        "preset_version": s.preset_version,
        "subject": s.subject,
        "period_kind": s.period_kind,
        "period_start": s.period_start,
        "period_end": s.period_end,
        "area_path": s.scope_path,
        "area_name": s.scope_name,
        "published_at": s.published_at,
        "published_by": s.published_by.username if s.published_by else None,
    }


@router.get(
    "/scoring/published", response=list[PublishedOut], summary="Published scorecards in scope"
)
@paginate(Page)
def list_published(request):
    _viewer(request)
    return Mapped(selectors.published_for(request.user), _published_out)


@router.post(
    "/scoring/published",
    response={201: PublishedDetail, **ERRORS},
    summary="Publish a scorecard (needs cases.supervise in the area; the figures are frozen)",
)
def publish(request, payload: PublishIn):
    _viewer(request)
    try:
        preset, per, area = _resolve(request, payload)
    except Http404:
        raise invalid("area", "Not found.", "body") from None
    card = services.publish_scorecard(
        actor=request.user,
        preset=preset,
        per=per,
        subject=payload.subject,
        area=area,
        title=payload.title,
    )
    return Status(201, _published_detail(card))


def _published_detail(s: Scorecard) -> dict:
    return {
        **_published_out(s),
        "definition": s.definition,
        "scorecard": _card_out(selectors.card_of(s), s.preset_code, s.preset_version),
    }


@router.get(
    "/scoring/published/{scorecard_id}",
    response={200: PublishedDetail, **ERRORS},
    summary="One published scorecard, as published",
)
def get_published(request, scorecard_id: int):
    _viewer(request)
    s = get_visible_or_404(
        Scorecard.objects.select_related("published_by"), request.user, pk=scorecard_id
    )
    return _published_detail(s)


@router.get(
    "/scoring/published/{scorecard_id}/xlsx",
    response={200: None, **ERRORS},
    summary="One published scorecard as a bulletin workbook (通报)",
    openapi_extra=XLSX_RESPONSE,
)
def get_published_xlsx(request, scorecard_id: int):
    _viewer(request)
    s = get_visible_or_404(
        Scorecard.objects.select_related("preset"), request.user, pk=scorecard_id
    )
    card = selectors.card_of(s)
    data = exports.scorecard_workbook(
        card,
        title=s.title,
        preset_label=f"{s.preset.name} v{s.preset_version}",
        subject_label=str(Subject(s.subject).label),
    )
    return xlsx_response(data, exports.filename(card))


@router.get(
    "/scoring/counts",
    response={200: list[dict], **ERRORS},
    summary="Rollup counts (the figures dashboards chart), grouped, in the caller's scope",
)
def counts(request, q: Query[CountsQuery]):
    _viewer(request)
    group_by = tuple(g for g in (q.group_by or "").split(",") if g)
    for g in group_by:
        if g not in rollups.GROUP_BY:
            raise invalid("group_by", f"Unknown grouping {g!r}.")
    if (q.end - q.start).days > scorecards.MAX_RANGE_DAYS or q.end < q.start:
        raise invalid("end", "The range must end after it starts and cover at most three years.")
    area = selectors.area_or_404(request.user, q.area)
    scope = scope_of(request.user)
    rows = rollups.counts(
        start=q.start,
        end=q.end,
        group_by=group_by,
        scope=None if scope.everything else scope,
        area_path=area.path if area else None,
        unit_ids=[q.unit] if q.unit else None,
        role=None if q.role == "all" else q.role,
        categories=[q.category] if q.category else None,
        channels=[q.channel] if q.channel else None,
        kinds=[q.kind] if q.kind else None,
    )
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows
    ]


@router.get(
    "/scoring/cases",
    response={200: list[CaseRef], **ERRORS},
    summary="The cases behind a figure (a rate's numerator or denominator, or a count)",
)
@paginate(Page)
def explain(request, q: Query[ExplainQuery]):
    _viewer(request)
    area = selectors.area_or_404(request.user, q.area)
    cases = selectors.explain(
        request.user,
        q.metric,
        q.part,
        start=q.start,
        end=q.end,
        subject=q.subject,
        subject_id=q.id,
        area=area,
    ).order_by("-received_at", "-id")
    return Mapped(cases, _case_ref)


def _case_ref(c) -> dict:
    return {
        "id": c.pk,
        "number": c.number,
        "title": c.title,
        "state": c.state,
        "channel": c.channel,
        "received_at": c.received_at,
        "lead_unit": c.lead_unit.name if c.lead_unit else None,
        "area_path": c.area_path,
    }
