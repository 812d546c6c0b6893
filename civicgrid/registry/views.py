"""Registry pages: household and resident search and detail, the audited reveal, coverage,
imports and Excel exports. Reads go through registry.selectors; writes through services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.areas.models import Area
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.scoping import get_visible_or_404, scope_of
from civicgrid.registry import exports, importers, selectors, services
from civicgrid.registry.choices import ImportKind, ImportStatus
from civicgrid.registry.coverage import coverage_report, coverage_xlsx
from civicgrid.registry.forms import (
    CoverageForm,
    HouseholdSearchForm,
    ImportForm,
    ResidentSearchForm,
    RevealForm,
)
from civicgrid.registry.models import Household, ImportJob, Resident

PAGE_SIZE = 50
FINISHED = {ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CHECKED}


def _require(request: HttpRequest, capability: str) -> None:
    # A page the role has no use for does not exist for it (like a hidden object).
    if not scope_of(request.user).can(capability):
        raise Http404


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- households ----------------------------------------------------------------------------


def _household_results(request: HttpRequest):
    form = HouseholdSearchForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return form, Household.objects.none()
    data = form.cleaned_data if form.is_bound else {}
    households = selectors.search_households(request.user, data.get("q", ""), data.get("area"))
    return form, households


@login_required
def household_list(request: HttpRequest) -> HttpResponse:
    _require(request, "registry.view")
    form, households = _household_results(request)
    return _household_list_page(request, form, households, RevealForm())


def _household_list_page(request, form, households, export_form, status: int = 200):
    scope = scope_of(request.user)
    page_obj = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{**selectors.masked_household(h, scope), "area": h.area} for h in page_obj.object_list]
    return render(
        request,
        "registry/household_list.html",
        {"form": form, "page_obj": page_obj, "rows": rows, "export_form": export_form},
        status=status,
    )


def _household_context(request: HttpRequest, household: Household, *, revealed=None, form=None):
    scope = scope_of(request.user)
    residents = [
        selectors.masked_resident(r, scope) for r in selectors.residents_of(household, request.user)
    ]
    return {
        "household": household,
        "masked": selectors.masked_household(household, scope),
        "revealed": revealed,
        "residents": residents,
        "reveal_form": form or RevealForm(),
        "reveal_url": "registry:household_reveal",
    }


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_visible_or_404(
        Household.objects.select_related("area", "building"), request.user, pk=pk
    )
    return render(request, "registry/household_detail.html", _household_context(request, household))


@login_required
@require_POST
def household_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_visible_or_404(Household.objects.select_related("area"), request.user, pk=pk)
    form = RevealForm(request.POST)
    revealed = None
    if form.is_valid():
        try:
            revealed = services.reveal_household(
                household, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from None
    context = _household_context(request, household, revealed=revealed, form=form)
    if _is_htmx(request):
        return render(request, "registry/_household_contact.html", context)
    return render(request, "registry/household_detail.html", context)


# --- residents -----------------------------------------------------------------------------


def _resident_results(request: HttpRequest):
    form = ResidentSearchForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return form, Resident.objects.none()
    data = form.cleaned_data if form.is_bound else {}
    residents = selectors.search_residents(
        request.user,
        data.get("q", ""),
        data.get("area"),
        data.get("tag") or None,
        data.get("population_type") or None,
    )
    return form, residents


@login_required
def resident_list(request: HttpRequest) -> HttpResponse:
    _require(request, "registry.view")
    form, residents = _resident_results(request)
    return _resident_list_page(request, form, residents, RevealForm())


def _resident_list_page(request, form, residents, export_form, status: int = 200):
    scope = scope_of(request.user)
    page_obj = Paginator(residents, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{**selectors.masked_resident(r, scope), "area": r.area} for r in page_obj.object_list]
    return render(
        request,
        "registry/resident_list.html",
        {"form": form, "page_obj": page_obj, "rows": rows, "export_form": export_form},
        status=status,
    )


def _resident_context(request: HttpRequest, resident: Resident, *, revealed=None, form=None):
    scope = scope_of(request.user)
    return {
        "resident": resident,
        "masked": selectors.masked_resident(resident, scope),
        "revealed": revealed,
        "reveal_form": form or RevealForm(),
    }


@login_required
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = get_visible_or_404(
        Resident.objects.select_related("area", "household"), request.user, pk=pk
    )
    return render(request, "registry/resident_detail.html", _resident_context(request, resident))


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Reveal one resident's ID number, phone and name (audited by the service)."""
    resident = get_visible_or_404(
        Resident.objects.select_related("area", "household"), request.user, pk=pk
    )
    form = RevealForm(request.POST)
    revealed = None
    if form.is_valid():
        try:
            revealed = services.reveal_resident(
                resident, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from None
    context = _resident_context(request, resident, revealed=revealed, form=form)
    if _is_htmx(request):
        return render(request, "registry/_resident_personal.html", context)
    return render(request, "registry/resident_detail.html", context)


# --- coverage ------------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_BASE = 600, 220, 30


def histogram_bars(distribution) -> list[dict]:
    """Geometry of the inline SVG bar chart of households per grid (no chart library)."""
    buckets = distribution.buckets
    if not buckets:
        return []
    top = max(b.grids for b in buckets) or 1
    slot = CHART_WIDTH / len(buckets)
    plot = CHART_HEIGHT - CHART_BASE - 16
    bars = []
    for i, bucket in enumerate(buckets):
        height = round(plot * bucket.grids / top, 1)
        bars.append(
            {
                "x": round(i * slot + slot * 0.1, 1),
                "width": round(slot * 0.8, 1),
                "y": round(CHART_HEIGHT - CHART_BASE - height, 1),
                "height": height,
                "label_x": round(i * slot + slot / 2, 1),
                "bucket": bucket,
            }
        )
    return bars


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    """The coverage report (格不漏户、户不漏人) of an area of the user's scope."""
    _require(request, "registry.view")
    form = CoverageForm(request.GET or None, user=request.user)
    area = None
    if form.is_bound and form.is_valid():
        area = form.cleaned_data["area"]
    elif not form.is_bound:
        area = form.fields["area"].queryset.first()
        form = CoverageForm(initial={"area": area}, user=request.user)
    report = coverage_report(request.user, area) if area is not None else None
    return render(
        request,
        "registry/coverage.html",
        {
            "form": form,
            "report": report,
            "bars": histogram_bars(report.distribution) if report else [],
            "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT, "base": CHART_BASE},
        },
    )


@login_required
def coverage_export(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "registry.export")
    area = get_visible_or_404(Area.objects.current(), request.user, pk=pk)
    report = coverage_report(request.user, area)
    return _xlsx_response(coverage_xlsx(report), f"coverage-{area.code}.xlsx")


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- imports -------------------------------------------------------------------------------


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    """Upload a CSV/XLSX of households or residents; the import runs in the background."""
    _require(request, "registry.edit")
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read()
            try:
                job = importers.create_import_job(
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    area=form.cleaned_data["area"],
                    file_name=upload.name,
                    data=data,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ServiceError as exc:
                _add_service_errors(form, exc)
            else:
                importers.run_import_in_background(job, data)
                return redirect("registry:import_detail", pk=job.pk)
    else:
        form = ImportForm(user=request.user)
    recent = ImportJob.objects.visible_to(request.user).select_related("area")[:10]
    columns = [
        {
            "kind": ImportKind(kind).label,
            "headers": [(h, h in importers.REQUIRED[kind]) for h in importers.COLUMNS[kind]],
        }
        for kind in ImportKind.values
    ]
    return render(
        request,
        "registry/import_new.html",
        {"form": form, "recent": recent, "columns": columns},
    )


def _add_service_errors(form, exc: ServiceError) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    errors = exc.errors or {exc.field: exc.message}
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_visible_or_404(ImportJob.objects.select_related("area"), request.user, pk=pk)
    template = (
        "registry/_import_progress.html" if _is_htmx(request) else "registry/import_detail.html"
    )
    return render(request, template, {"job": job, "finished": job.status in FINISHED})


# --- exports -------------------------------------------------------------------------------


def _export(request: HttpRequest, export, rows, list_page, filename: str) -> HttpResponse:
    """Masked Excel on GET; unmasked on POST with a reason, for roles with registry.reveal.

    The export functions check the capabilities again and write the EXPORT audit row.
    """
    _require(request, "registry.export")
    reveal, reason = False, ""
    if request.method == "POST":
        if not scope_of(request.user).can("registry.reveal"):
            raise PermissionDenied(_("Your role may not export unmasked personal data."))
        export_form = RevealForm(request.POST)
        if not export_form.is_valid():
            return list_page(export_form)
        reveal, reason = True, export_form.cleaned_data["reason"]
    try:
        content = export(request.user, rows, reveal=reveal, reason=reason)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    return _xlsx_response(content, filename)


@login_required
def resident_export(request: HttpRequest) -> HttpResponse:
    """The resident search (same filters as the list) as Excel."""
    form, residents = _resident_results(request)
    return _export(
        request,
        exports.export_residents_xlsx,
        residents,
        lambda export_form: _resident_list_page(request, form, residents, export_form, 400),
        "residents.xlsx",
    )


@login_required
def household_export(request: HttpRequest) -> HttpResponse:
    """The household search (same filters as the list) as Excel."""
    form, households = _household_results(request)
    return _export(
        request,
        exports.export_households_xlsx,
        households,
        lambda export_form: _household_list_page(request, form, households, export_form, 400),
        "households.xlsx",
    )
