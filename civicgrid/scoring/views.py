"""Scorecard pages: the live scorecard, publishing, published scorecards, the cases behind a
figure, and the bulletin workbook. Reads go through `selectors` (the caller's scope); the one
write goes through `services.publish_scorecard`."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.exports import xlsx_response
from civicgrid.core.scoping import get_visible_or_404, scope_of
from civicgrid.scoring import exports, rollups, selectors, services
from civicgrid.scoring.forms import PublishForm, ScorecardForm
from civicgrid.scoring.models import Scorecard, Subject
from civicgrid.scoring.scorecards import METRIC_PARTS

PAGE_SIZE = 50


def _require_view(request: HttpRequest) -> None:
    if not selectors.can_view(request.user):
        raise Http404


def _explain_base(card: dict, area) -> dict:
    """Query parameters every "show me the cases" link of a card shares."""
    params = {"start": card["period"]["start"], "end": card["period"]["end"]}
    params["subject"] = card["subject"]
    if area is not None:
        params["area"] = area.pk
    return params


def _table_context(card: dict, area, preset_definition: dict) -> dict:
    return {
        "card": card,
        "components": card["components"],
        "rate_metrics": ["response_rate", "resolution_rate", "satisfaction_rate"],
        "explain_base": urlencode(_explain_base(card, area)),
        "red_rows": [r for r in card["rows"] if r["id"] in set(card["red"])],
        "black_rows": [
            next(r for r in card["rows"] if r["id"] == pk)
            for pk in card["black"]
            if any(r["id"] == pk for r in card["rows"])
        ],
        "definition": preset_definition,
    }


@login_required
def scorecard(request: HttpRequest) -> HttpResponse:
    """The live scorecard of the caller's scope, with filters, rankings and links to cases."""
    _require_view(request)
    form = ScorecardForm(request.GET, user=request.user)
    context = {"form": form, "card": None}
    if form.is_valid():
        preset, per, subject, area = form.resolved()
        card = selectors.compute_for(request.user, preset, per, subject, area)
        context.update(_table_context(card, area, preset.definition))
        context.update(
            preset=preset,
            area=area,
            query=request.GET.urlencode(),
            can_publish=scope_of(request.user).can(services.PUBLISH),
            publish_form=PublishForm(initial={"title": services.default_title(per, subject, area)}),
            refreshed=rollups.last_refresh(),
        )
    return render(request, "scoring/scorecard.html", context)


@login_required
def scorecard_xlsx(request: HttpRequest) -> HttpResponse:
    """The live scorecard as a bulletin workbook."""
    _require_view(request)
    form = ScorecardForm(request.GET, user=request.user)
    if not form.is_valid():
        raise Http404
    preset, per, subject, area = form.resolved()
    card = selectors.compute_for(request.user, preset, per, subject, area)
    title = services.default_title(per, subject, area)
    data = exports.scorecard_workbook(
        card,
        title=title,
        preset_label=f"{preset.name} v{preset.version}",
        subject_label=str(Subject(subject).label),
    )
    return xlsx_response(data, exports.filename(card))


@login_required
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """Publish the scorecard the filters describe (通报); the figures are frozen."""
    _require_view(request)
    form = ScorecardForm(request.POST, user=request.user)
    title_form = PublishForm(request.POST)
    if form.is_valid() and title_form.is_valid():
        preset, per, subject, area = form.resolved()
        # "All my areas" publishes for the one area where the caller may publish.
        area = area or selectors.home_area(request.user, services.PUBLISH)
        try:
            card = services.publish_scorecard(
                actor=request.user,
                preset=preset,
                per=per,
                subject=subject,
                area=area,
                title=title_form.cleaned_data["title"],
            )
        except PermissionDeniedError as exc:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(exc.message) from exc
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("scoring:published", pk=card.pk)
    return render(request, "scoring/scorecard.html", {"form": form, "card": None}, status=422)


@login_required
def published_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    page_obj = Paginator(selectors.published_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "scoring/published_list.html", {"page_obj": page_obj})


def _published(request: HttpRequest, pk: int) -> Scorecard:
    _require_view(request)
    return get_visible_or_404(Scorecard.objects.select_related("preset"), request.user, pk=pk)


@login_required
def published(request: HttpRequest, pk: int) -> HttpResponse:
    card_row = _published(request, pk)
    card = selectors.card_of(card_row)
    area = None
    if card_row.scope_path:
        from civicgrid.areas.models import Area

        area = Area.objects.filter(path=card_row.scope_path).first()
    context = {"scorecard": card_row, **_table_context(card, area, card_row.definition)}
    return render(request, "scoring/published.html", context)


@login_required
def published_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    card_row = _published(request, pk)
    card = selectors.card_of(card_row)
    data = exports.scorecard_workbook(
        card,
        title=card_row.title,
        preset_label=f"{card_row.preset.name} v{card_row.preset_version}",
        subject_label=str(Subject(card_row.subject).label),
        note=_("Published %(at)s by %(by)s")
        % {
            "at": card_row.published_at.strftime("%Y-%m-%d %H:%M"),
            "by": card_row.published_by or "—",
        },
    )
    return xlsx_response(data, exports.filename(card))


def _date(value: str | None, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise Http404 from None


@login_required
def explain(request: HttpRequest) -> HttpResponse:
    """The cases behind one figure (numerator or denominator), as the caller may see them."""
    _require_view(request)
    g = request.GET
    metric = g.get("metric", "")
    part = g.get("part", "denominator")
    if part not in {"numerator", "denominator"}:
        raise Http404
    start, end = _date(g.get("start"), "start"), _date(g.get("end"), "end")
    subject = g.get("subject", Subject.UNIT)
    if subject not in {*Subject.values, "unit_co"}:
        raise Http404
    try:
        subject_id = int(g["id"]) if g.get("id") else None
        area_id = int(g["area"]) if g.get("area") else None
    except ValueError:
        raise Http404 from None
    area = selectors.area_or_404(request.user, area_id)
    cases = selectors.explain(
        request.user,
        metric,
        part,
        start=start,
        end=end,
        subject=subject,
        subject_id=subject_id,
        area=area,
    ).order_by("-received_at", "-id")
    page_obj = Paginator(cases, PAGE_SIZE).get_page(g.get("page"))
    numerator, denominator = selectors.parts(metric)
    other = "denominator" if part == "numerator" else "numerator"
    return render(
        request,
        "scoring/explain.html",
        {
            "page_obj": page_obj,
            "metric": metric,
            "part": part,
            "measures": numerator if part == "numerator" else (denominator,),
            "is_rate": metric in METRIC_PARTS,
            "start": start,
            "end": end,
            "other_url": reverse("scoring:explain") + "?" + urlencode({**g.dict(), "part": other}),
            "back": request.headers.get("Referer", ""),
        },
    )
