"""Registry pages: household and resident search and detail, the audited reveal, coverage,
imports and Excel exports; buildings; households and residents by hand; grid staffing.
Reads go through registry.selectors; writes through services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.areas.choices import Level
from civicgrid.areas.locator import normalise_address
from civicgrid.areas.models import Area
from civicgrid.areas.views import render_area_detail, staff_context
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.exports import xlsx_response
from civicgrid.core.forms import add_service_errors
from civicgrid.core.htmx import is_htmx, redirect_to
from civicgrid.core.scoping import get_visible_or_404, scope_of
from civicgrid.registry import exports, importers, selectors, services
from civicgrid.registry.choices import ImportKind, ImportStatus
from civicgrid.registry.coverage import coverage_report, coverage_xlsx
from civicgrid.registry.forms import (
    NO_HOUSEHOLD,
    BuildingForm,
    BuildingSearchForm,
    CoverageForm,
    HouseholdForm,
    HouseholdSearchForm,
    ImportForm,
    MoveResidentForm,
    ResidentForm,
    ResidentSearchForm,
    RevealForm,
    StaffForm,
)
from civicgrid.registry.models import Building, GridAssignment, Household, ImportJob, Resident

PAGE_SIZE = 50
FINISHED = {ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CHECKED}


def _require(request: HttpRequest, capability: str) -> None:
    # A page the role has no use for does not exist for it (like a hidden object).
    if not scope_of(request.user).can(capability):
        raise Http404


def _posted(request: HttpRequest):
    """The posted data, or None on GET (an empty POST is still a post, with errors)."""
    return request.POST if request.method == "POST" else None


def _require_action(request: HttpRequest, capability: str) -> None:
    # An action on something the user may see, which their roles do not allow: a 403.
    if not scope_of(request.user).can(capability):
        raise PermissionDenied(_("Your role may not do this (needs %s).") % capability)


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
    if is_htmx(request):
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
    if is_htmx(request):
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
    return xlsx_response(coverage_xlsx(report), f"coverage-{area.code}.xlsx")


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
                add_service_errors(form, exc)
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


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_visible_or_404(ImportJob.objects.select_related("area"), request.user, pk=pk)
    template = (
        "registry/_import_progress.html" if is_htmx(request) else "registry/import_detail.html"
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
    return xlsx_response(content, filename)


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


# --- buildings -----------------------------------------------------------------------------


def _building_results(request: HttpRequest):
    form = BuildingSearchForm(request.GET or None, user=request.user)
    buildings = (
        Building.objects.visible_to(request.user)
        .select_related("grid")
        .annotate(household_total=Count("households"))
        .order_by("address", "id")
    )
    if form.is_bound and not form.is_valid():
        return form, buildings.none()
    data = form.cleaned_data if form.is_bound else {}
    if data.get("area") is not None:
        buildings = buildings.filter(grid__path__startswith=data["area"].path)
    q = (data.get("q") or "").strip()
    if q:
        buildings = buildings.filter(
            Q(address__icontains=normalise_address(q)) | Q(estate__icontains=q)
        )
    return form, buildings


@login_required
def building_list(request: HttpRequest) -> HttpResponse:
    """Buildings of the user's scope (no personal data), searchable, with an Excel export."""
    scope = scope_of(request.user)
    if not (scope.can("registry.view") or scope.can("buildings.view")):
        raise Http404
    form, buildings = _building_results(request)
    page_obj = Paginator(buildings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "registry/building_list.html", {"form": form, "page_obj": page_obj})


@login_required
def building_export(request: HttpRequest) -> HttpResponse:
    """The building search (same filters as the list) as Excel; audited as EXPORT."""
    _require_action(request, "registry.export")
    form, buildings = _building_results(request)
    try:
        content = exports.export_buildings_xlsx(request.user, buildings)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("registry:building_list") + _query(request))
    return xlsx_response(content, "buildings.xlsx")


def _query(request: HttpRequest) -> str:
    return f"?{request.GET.urlencode()}" if request.GET else ""


@login_required
def building_new(request: HttpRequest) -> HttpResponse:
    """Register a building in a grid (or wherever its coordinates lie)."""
    _require_action(request, "registry.edit")
    if request.method == "POST":
        form = BuildingForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                building = form.save()
            except PermissionDeniedError as exc:
                raise PermissionDenied(exc.message) from None
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Building %s registered.") % building.address)
                return redirect("areas:detail", pk=building.grid_id)
    else:
        form = BuildingForm(initial={"grid": request.GET.get("grid")}, user=request.user)
    return _form_page(request, form, _("Register a building"))


def _form_page(request, form, title: str, *, subject=None, back: str = "", status=None):
    """A page holding one write form (household, resident, building, move)."""
    if status is None:
        status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": title, "subject": subject, "back": back},
        status=status,
    )


# --- households and residents by hand ------------------------------------------------------


def _save(request: HttpRequest, form):
    """Save a valid form through its service; a refusal lands on the form's fields."""
    try:
        return form.save()
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    except ServiceError as exc:
        add_service_errors(form, exc)
        return None


@login_required
def household_new(request: HttpRequest) -> HttpResponse:
    """Register a household in a grid (or, unplaced, in a community) or in a building."""
    _require_action(request, "registry.edit")
    if request.method == "POST":
        form = HouseholdForm(request.POST, user=request.user)
        if form.is_valid():
            household = _save(request, form)
            if household is not None:
                messages.success(request, _("Household %s registered.") % household.address)
                return redirect("registry:household_detail", pk=household.pk)
    else:
        initial = {"area": request.GET.get("area")}
        building_id = request.GET.get("building", "")
        if building_id.isdigit():
            building = Building.objects.visible_to(request.user).filter(pk=building_id).first()
            if building is not None:
                initial["building"] = building.address
        form = HouseholdForm(initial=initial, user=request.user)
    return _form_page(request, form, _("Register a household"))


@login_required
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_visible_or_404(
        Household.objects.select_related("area", "building"), request.user, pk=pk
    )
    _require_action(request, "registry.edit")
    form = HouseholdForm(_posted(request), user=request.user, household=household)
    if form.is_bound and form.is_valid() and _save(request, form) is not None:
        messages.success(request, _("The household was changed."))
        return redirect("registry:household_detail", pk=household.pk)
    back = reverse("registry:household_detail", args=[household.pk])
    return _form_page(
        request, form, _("Change the household"), subject=household.address, back=back
    )


@login_required
def resident_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Register a resident in a household."""
    household = get_visible_or_404(Household.objects.select_related("area"), request.user, pk=pk)
    _require_action(request, "registry.edit")
    form = ResidentForm(_posted(request), user=request.user, household=household)
    if form.is_bound and form.is_valid():
        resident = _save(request, form)
        if resident is not None:
            messages.success(request, _("Resident registered."))
            return redirect("registry:resident_detail", pk=resident.pk)
    back = reverse("registry:household_detail", args=[household.pk])
    return _form_page(request, form, _("Register a resident"), subject=household.address, back=back)


def _resident(request: HttpRequest, pk: int) -> Resident:
    return get_visible_or_404(
        Resident.objects.select_related("area", "household"), request.user, pk=pk
    )


@login_required
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident(request, pk)
    _require_action(request, "registry.edit")
    form = ResidentForm(_posted(request), user=request.user, resident=resident)
    if form.is_bound and form.is_valid() and _save(request, form) is not None:
        messages.success(request, _("The resident was changed."))
        return redirect("registry:resident_detail", pk=resident.pk)
    masked = selectors.masked_resident(resident, scope_of(request.user))
    back = reverse("registry:resident_detail", args=[resident.pk])
    return _form_page(request, form, _("Change the resident"), subject=masked["name"], back=back)


@login_required
def resident_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a resident to another household, chosen from an address search, or out of any."""
    resident = _resident(request, pk)
    _require_action(request, "registry.edit")
    form = MoveResidentForm(_posted(request), user=request.user)
    if form.is_bound and form.is_valid():
        try:
            services.move_resident(resident, form.cleaned_data["household"], actor=request.user)
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from None
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The resident was moved."))
            return redirect("registry:resident_detail", pk=resident.pk)
    q = (request.POST if request.method == "POST" else request.GET).get("q", "")
    return render(
        request,
        "registry/resident_move.html",
        {
            "form": form,
            "resident": resident,
            "masked": selectors.masked_resident(resident, scope_of(request.user)),
            "no_household": NO_HOUSEHOLD,
            "q": q,
            "candidates": _household_candidates(request, q),
            "limit": PICK_LIMIT,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


PICK_LIMIT = 20


def _household_candidates(request: HttpRequest, q: str) -> list[Household]:
    q = q.strip()
    if len(q) < 2:
        return []
    rows = selectors.search_households(request.user, q).select_related("area")
    return list(rows[:PICK_LIMIT])


@login_required
def household_pick(request: HttpRequest) -> HttpResponse:
    """Households matching a search, as radio buttons for the move form (an htmx fragment)."""
    _require_action(request, "registry.edit")
    q = request.GET.get("q", "")
    return render(
        request,
        "registry/_household_pick.html",
        {"candidates": _household_candidates(request, q), "q": q, "limit": PICK_LIMIT},
    )


# --- grid staffing -------------------------------------------------------------------------


def _grid(request: HttpRequest, pk: int) -> Area:
    return get_visible_or_404(
        Area.objects.filter(level=Level.GRID).select_related("parent", "successor"),
        request.user,
        pk=pk,
    )


def _staff_answer(request: HttpRequest, grid: Area, form=None, notice: str = ""):
    """After a posting change: the staff block (htmx, with `notice` in it) or the grid page
    (`notice` as a message; a form with errors shown on the page)."""
    if is_htmx(request):
        context = {**staff_context(request, grid, form), "staff_notice": notice}
        return render(request, "registry/_grid_staff.html", context)
    if form is not None and form.errors:
        return render_area_detail(request, grid, staff_form=form, status=400)
    messages.success(request, notice)
    return redirect_to(request, reverse("areas:detail", args=[grid.pk]))


@login_required
@require_POST
def grid_staff_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Post a grid worker to the grid (staff.assign)."""
    grid = _grid(request, pk)
    _require_action(request, "staff.assign")
    form = StaffForm(request.POST, grid=grid, user=request.user)
    if form.is_valid():
        try:
            services.assign_grid_worker(
                actor=request.user,
                grid=grid,
                worker=form.cleaned_data["worker"],
                post=form.cleaned_data["post"],
            )
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from None
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            notice = _("%s was posted to the grid.") % form.cleaned_data["worker"]
            return _staff_answer(request, grid, notice=notice)
    return _staff_answer(request, grid, form)


@login_required
@require_POST
def grid_staff_remove(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    """End a posting (staff.assign); the audit row keeps who was posted where."""
    grid = _grid(request, pk)
    assignment = get_visible_or_404(
        GridAssignment.objects.filter(grid=grid).select_related("grid", "worker"),
        request.user,
        pk=assignment_pk,
    )
    _require_action(request, "staff.assign")
    try:
        services.unassign_grid_worker(assignment, actor=request.user)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    return _staff_answer(
        request, grid, notice=_("%s was removed from the grid.") % assignment.worker
    )
