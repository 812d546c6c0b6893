"""Staff pages of the loop: the dispatcher's console, the unit's inbox, the case page with its
action forms, the printable work order, the callback and supervision lists."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from civicgrid.cases import duplicates, selectors, services, workflow
from civicgrid.cases.choices import Action, ExtensionStatus, State
from civicgrid.cases.forms import BulkDispatchForm, DecideExtensionForm, QueueFilterForm
from civicgrid.cases.models import Attachment, Case, Extension
from civicgrid.cases.views.actions import (
    ACTIONS,
    blank_form,
    handling_units,
    offered_actions,
)
from civicgrid.cases.views.common import (
    PAGE_SIZE,
    add_service_errors,
    conflict_message,
    flash_conflict,
    is_htmx,
    redirect_to,
    require,
)
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of

# --- the dispatcher's console ------------------------------------------------------------------


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Cases of the scope with filters; dispatchers tick several and send them to one unit."""
    require(request, "cases.view")
    form = QueueFilterForm(request.GET or None, user=request.user)
    cases = (
        selectors.case_queue(request.user, **form.filters())
        if not form.is_bound or form.is_valid()
        else Case.objects.none()
    )
    page_obj = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    scope = scope_of(request.user)
    return render(
        request,
        "cases/queue.html",
        {
            "form": form,
            "page_obj": page_obj,
            "can_dispatch": scope.can("cases.dispatch"),
            "bulk_form": BulkDispatchForm(),
        },
    )


@login_required
@require_POST
def bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """Dispatch every ticked case to one unit; each one through services.dispatch_case."""
    require(request, "cases.dispatch")
    form = BulkDispatchForm(request.POST)
    back = reverse("cases:queue") + (
        f"?{request.POST['filters']}" if request.POST.get("filters") else ""
    )
    ids = [int(v) for v in request.POST.getlist("cases") if v.isdigit()]
    if not form.is_valid():
        messages.error(request, _("Choose the unit to dispatch to."))
        return redirect(back)
    if not ids:
        messages.error(request, _("Tick the cases to dispatch first."))
        return redirect(back)
    done, refused = 0, []
    for case in Case.objects.visible_to(request.user).filter(pk__in=ids).order_by("pk"):
        try:
            services.dispatch_case(
                case, form.cleaned_data["unit"], actor=request.user, note=form.cleaned_data["note"]
            )
            done += 1
        except services.ConflictError:
            refused.append(f"{case.number}: {conflict_message()}")
        except ServiceError as exc:
            refused.append(f"{case.number}: {exc.message}")
    if done:
        messages.success(
            request,
            ngettext(
                "%(count)d case dispatched to %(unit)s.",
                "%(count)d cases dispatched to %(unit)s.",
                done,
            )
            % {"count": done, "unit": form.cleaned_data["unit"]},
        )
    for line in refused:
        messages.error(request, line)
    return redirect(back)


@login_required
@require_GET
def duplicate_candidates(request: HttpRequest, pk: int) -> HttpResponse:
    """Possible duplicates of one case (an htmx fragment of the console and the case page)."""
    case = selectors.case_detail(request.user, pk)
    found = duplicates.find_candidates(
        lat=case.lat,
        lon=case.lon,
        text=f"{case.title} {case.description}",
        category=case.category,
        exclude=case,
        received_at=case.received_at,
    )
    visible = set(
        Case.objects.visible_to(request.user)
        .filter(pk__in=[c.case.pk for c in found])
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "cases/_duplicates.html",
        {
            "case": case,
            "candidates": [c for c in found if c.case.pk in visible],
            "can_merge": Action.MERGE in offered_actions(case, scope_of(request.user)),
        },
    )


# --- the unit's inbox --------------------------------------------------------------------------


# `?show=awaiting_acceptance`: only the cases dispatched to my unit that it has not accepted.
AWAITING_ACCEPTANCE = "awaiting_acceptance"


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Open cases of my unit(s), nearest deadline first, with the unit's next step inline."""
    require(request, "cases.handle")
    scope = scope_of(request.user)
    awaiting = request.GET.get("show") == AWAITING_ACCEPTANCE
    cases = selectors.unit_inbox(request.user, awaiting_acceptance=awaiting)
    page_obj = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for case in page_obj.object_list:
        units = handling_units(case)
        offered = offered_actions(case, scope, units)
        mine = [role for unit, role in units.items() if unit in scope.unit_ids]
        rows.append(
            {
                "case": case,
                "role": mine[0] if mine else "",
                "accept_form": blank_form(Action.ACCEPT, case)
                if Action.ACCEPT in offered
                else None,
                "offered": offered,
            }
        )
    return render(
        request,
        "cases/inbox.html",
        {"page_obj": page_obj, "rows": rows, "awaiting": awaiting, "show": AWAITING_ACCEPTANCE},
    )


# --- the case page ------------------------------------------------------------------------------


def case_context(request: HttpRequest, case: Case, bound: dict | None = None) -> dict:
    """Everything the case page shows; `bound` replaces one action's blank form by the
    submitted one (with its errors)."""
    scope = scope_of(request.user)
    units = handling_units(case)
    offered = offered_actions(case, scope, units)
    forms = []
    for action in offered:
        form = bound.get(action) if bound else None
        forms.append(
            {
                "action": action,
                "label": Action(action).label,
                "form": form or blank_form(action, case),
                "primary": ACTIONS[action].primary,
                "danger": ACTIONS[action].danger,
                "open": form is not None,
            }
        )
    can_decide = scope.can("cases.dispatch")
    extensions = list(case.extensions.select_related("requested_by", "decided_by"))
    whistles = list(case.whistles.prefetch_related("summonses__unit"))
    return {
        "case": case,
        "reporter": selectors.masked_reporter(case, scope, user=request.user),
        "handlers": case.handlers.select_related("unit").order_by("-active", "role", "assigned_at"),
        "events": selectors.timeline(case),
        "extensions": extensions,
        "pending_extension": next(
            (e for e in extensions if e.status == ExtensionStatus.PENDING and can_decide), None
        ),
        "decide_form": DecideExtensionForm(),
        "supervisions": case.supervisions.select_related("by"),
        "callbacks": case.callbacks.select_related("by"),
        "whistles": whistles,
        "attachments": case.attachments.all(),
        "merged": Case.objects.visible_to(request.user).filter(parent=case),
        "actions": forms,
        "can_whistle": scope.can("cases.whistle") and workflow.is_open(case.state),
        "notifications": selectors.case_notifications(case, request.user)
        if selectors.may_see_notifications(request.user)
        else None,
    }


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_detail(request.user, pk)
    return render(request, "cases/detail.html", case_context(request, case))


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One action form posted from the case page (or the inbox); the service decides."""
    case = selectors.case_detail(request.user, pk)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, prefix=action)
    if form.is_valid():
        try:
            spec.perform(case, form.cleaned_data, request.user)
        except services.ConflictError:
            form.add_error(None, conflict_message())
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(action)s: done for case %(number)s.")
                % {"action": Action(action).label, "number": case.number},
            )
            next_url = request.POST.get("next", "")
            if next_url.startswith("/cases/") and "//" not in next_url:
                return redirect_to(request, next_url)
            return redirect_to(request, reverse("cases:detail", args=[case.pk]))
    case.refresh_from_db()
    if is_htmx(request):
        return render(
            request,
            "cases/_action_form.html",
            {
                "case": case,
                "item": {
                    "action": action,
                    "label": Action(action).label,
                    "form": form,
                    "open": True,
                    "primary": spec.primary,
                    "danger": spec.danger,
                },
            },
            status=400,
        )
    return render(
        request, "cases/detail.html", case_context(request, case, {action: form}), status=400
    )


@login_required
@require_POST
def decide_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or refuse a unit's request for more time."""
    extension = get_object_or_404(Extension.objects.select_related("case"), pk=pk)
    case = selectors.case_detail(request.user, extension.case_id)
    form = DecideExtensionForm(request.POST)
    if form.is_valid():
        try:
            services.decide_extension(
                extension,
                actor=request.user,
                approve=form.cleaned_data["approve"],
                note=form.cleaned_data["note"],
            )
        except services.ConflictError:
            flash_conflict(request)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The extension was decided."))
    else:
        messages.error(request, _("Choose to approve or refuse."))
    return redirect_to(request, reverse("cases:detail", args=[case.pk]))


@login_required
def work_order(request: HttpRequest, pk: int) -> HttpResponse:
    """The work order (工单) on one printed page."""
    case = selectors.case_detail(request.user, pk)
    context = case_context(request, case)
    return render(request, "cases/print.html", context)


@login_required
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    """A photo of a case, served only to people who see the case."""
    case = selectors.case_detail(request.user, pk)
    item = get_object_or_404(Attachment, pk=attachment_id, case=case)
    return FileResponse(item.file.open("rb"), content_type=item.content_type)


# --- callbacks and supervision -----------------------------------------------------------------


@login_required
def callbacks(request: HttpRequest) -> HttpResponse:
    """Resolved cases waiting for the callback (回访)."""
    require(request, "cases.callback")
    cases = selectors.case_queue(request.user, state=State.RESOLVED).order_by("resolved_at", "id")
    page_obj = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/callbacks.html", {"page_obj": page_obj})


@login_required
def supervision(request: HttpRequest) -> HttpResponse:
    """Overdue and near-due open cases to press (督办), and the ones already supervised."""
    require(request, "cases.supervise")
    overdue = selectors.case_queue(request.user, due="overdue")
    near = selectors.case_queue(request.user, due="near_due")
    supervised = selectors.case_queue(request.user).open().filter(supervised=True)
    return render(
        request,
        "cases/supervision.html",
        {
            "overdue": overdue[:PAGE_SIZE],
            "near": near[:PAGE_SIZE],
            "supervised": supervised[:PAGE_SIZE],
        },
    )
