"""Helpers shared by the case pages: capability gates, service errors on forms, redirects."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of

PAGE_SIZE = 50

# Field names the services use, and the form field that shows them.
FIELD_ALIASES = {"attachments": "photos", "requested_due_at": "requested_due_at"}


def conflict_message() -> str:
    return _("Someone else changed this case in the meantime. Reload the page and try again.")


def require(request: HttpRequest, capability: str) -> None:
    """A page the role has no use for does not exist for it (like a hidden object)."""
    if not scope_of(request.user).can(capability):
        raise Http404


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful post: htmx follows HX-Redirect, a plain form a 302."""
    if is_htmx(request):
        return HttpResponse(status=200, headers={"HX-Redirect": url})
    return redirect(url)


def add_service_errors(form, exc: ServiceError) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    errors = exc.errors or {exc.field: exc.message}
    for field, message in errors.items():
        name = FIELD_ALIASES.get(field, field)
        form.add_error(name if name in form.fields else None, message)


def flash_conflict(request: HttpRequest) -> None:
    messages.error(request, conflict_message())
