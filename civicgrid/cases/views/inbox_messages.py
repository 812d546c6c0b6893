"""In-app notifications of staff: the list, marking read, and the count in the header."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from civicgrid.cases import notifications
from civicgrid.cases.models import Notification


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cases/notifications.html",
        {"items": notifications.recent_for(request.user, limit=100)},
    )


@login_required
@require_GET
def badge(request: HttpRequest) -> HttpResponse:
    """The unread count for the header (loaded by htmx after the page)."""
    count = notifications.unread_for(request.user).count()
    return HttpResponse(str(count) if count else "", content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one message read and open its case (or go back to the list)."""
    item = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.mark_read(item, request.user)
    if item.case_id and request.POST.get("open"):
        return redirect("cases:detail", pk=item.case_id)
    return redirect(reverse("cases:notifications"))


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications.mark_all_read(request.user)
    return redirect("cases:notifications")
