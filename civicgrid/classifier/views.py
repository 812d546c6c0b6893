"""Pages of the classifier: the models (configuration roles), the acceptance of suggestions
(in the caller's scope) and the suggestion fragment the intake form loads as the operator
types. Every write goes through `services`."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.classifier import selectors, services
from civicgrid.classifier.choices import ModelStatus
from civicgrid.classifier.models import ClassifierModel
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of

CONFIGURE = "cases.configure"
MAX_TITLE = 100
MAX_DESCRIPTION = 4000
logger = logging.getLogger(__name__)


def _require(request: HttpRequest, capability: str) -> None:
    # A page the role has no use for does not exist for it (like a hidden object).
    if not scope_of(request.user).can(capability):
        raise Http404


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    _require(request, CONFIGURE)
    rows = selectors.models()
    for model in rows:
        model.unmapped = [label for label in model.labels if label not in model.label_map]
        model.f1_by_label = sorted(
            (
                (label, scores.get("f1"))
                for label, scores in model.metrics.get("per_class", {}).items()
            ),
            key=lambda pair: pair[0],
        )
    active = next((m for m in rows if m.status == ModelStatus.ACTIVE), None)
    return render(
        request,
        "classifier/models.html",
        {
            "models": rows,
            "active": active,
            "auto_confidence": services.auto_confidence(),
            "can_configure": True,
            "section": "classifier:models",
        },
    )


@login_required
@require_POST
def activate(request: HttpRequest, version: str) -> HttpResponse:
    _require(request, CONFIGURE)
    model = get_object_or_404(ClassifierModel.objects.defer("blob"), version=version)
    try:
        services.activate_model(model, actor=request.user)
        messages.success(request, _("Model %(v)s is in use.") % {"v": model.version})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("classifier:models")


@login_required
@require_POST
def rollback(request: HttpRequest) -> HttpResponse:
    _require(request, CONFIGURE)
    try:
        previous = services.rollback(actor=request.user)
        if previous is None:
            messages.success(request, _("Rolled back: no model is in use now."))
        else:
            messages.success(
                request, _("Rolled back: %(v)s is in use again.") % {"v": previous.version}
            )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("classifier:models")


@login_required
def acceptance(request: HttpRequest) -> HttpResponse:
    _require(request, "cases.view")
    rows, total = selectors.acceptance(request.user)
    return render(
        request,
        "classifier/acceptance.html",
        {
            "rows": rows,
            "total": total,
            "can_configure": scope_of(request.user).can(CONFIGURE),
            "section": "classifier:acceptance",
        },
    )


@login_required
def suggest(request: HttpRequest) -> HttpResponse:
    """The suggestion list for the intake form (htmx, POST: a description is too long for a
    URL): empty without a text or a model, and when the model fails (logged), so the form
    never shows an error for a suggestion."""
    _require(request, "cases.intake")
    data = request.POST if request.method == "POST" else request.GET
    try:
        found = services.suggest(
            data.get("title", "")[:MAX_TITLE], data.get("description", "")[:MAX_DESCRIPTION]
        )
    except Exception:
        logger.exception("The category classifier failed on the intake form")
        found = None
    return render(request, "classifier/_suggestions.html", {"found": found})
