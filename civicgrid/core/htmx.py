"""The few htmx conventions the pages share: telling an htmx request apart, and redirecting
one (htmx follows `HX-Redirect`, a plain form post follows a 302)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to `url` after a successful form post, with or without htmx.

    htmx swaps nothing on a 302 it followed itself (it would put the whole next page into
    the form's place), so an htmx request gets a 200 with `HX-Redirect` instead.
    """
    if is_htmx(request):
        return HttpResponse(status=200, headers={"HX-Redirect": url})
    return redirect(url)
