"""GeoReport v2 endpoints (/open311/v2/...). Each parses the client's parameters, asks
`selectors` or `services`, and renders the answer in the format the path ends with.

Real clients differ (docs/open311.md): an empty jurisdiction_id counts as absent, api_key
may come in the query string of a POST, and definitions are also served at `service/{code}`.
No view reads a session: partner systems authenticate with their api key alone, so the POST
needs no CSRF token and a browser's cookie cannot act through it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from civicgrid.accounts.models import PartnerSystem
from civicgrid.areas.models import Area
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.open311 import partners, selectors, services
from civicgrid.open311.formats import JSON, XML, Open311Error, error_response, respond

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this adapter's contract last changed (the discovery document's changeset).
CHANGESET = "2026-11-22T00:00:00+08:00"
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](?:\[\])?$")
_OWN_FIELDS = {"api_key", "jurisdiction_id"}


def _bad(field: str, message: str, status: int = 400) -> Open311Error:
    return Open311Error(status, [(status, f"{field}: {message}" if field else message)])


def endpoint(*methods: str):
    """The view's frame: the format from the path, allowed methods, errors in the standard
    body and the format asked for."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def run(request: HttpRequest, *args, fmt: str | None = None, **kwargs) -> HttpResponse:
            fmt = fmt or XML  # XML is the specification's default
            try:
                if request.method not in methods:
                    error = _bad("", _("Method not allowed."), 405)
                    error.headers["Allow"] = ", ".join(methods)
                    raise error
                return view(request, fmt, *args, **kwargs)
            except Open311Error as error:
                return error_response(fmt, error)

        return run

    return wrap


def _param(request: HttpRequest, name: str) -> str:
    """A field from the body of a POST, else from the query string (where older clients put
    api_key and jurisdiction_id); an empty body field does not hide the query's."""
    value = request.POST.get(name, "").strip() if request.method == "POST" else ""
    return value or request.GET.get(name, "").strip()


def _jurisdiction(request: HttpRequest) -> Area | None:
    code = _param(request, "jurisdiction_id")
    if not code:
        return None  # an empty jurisdiction_id counts as absent
    area = Area.objects.filter(code=code[:64], valid_to__isnull=True).first()
    if area is None:
        raise _bad("jurisdiction_id", _("Unknown jurisdiction_id."), 404)
    return area


def _partner(request: HttpRequest, *, required: bool) -> PartnerSystem | None:
    key = _param(request, "api_key")
    if not key:
        if required:
            raise _bad("api_key", _("An api_key is required."), 403)
        return None
    partner = partners.authenticate(key)
    if partner is None:
        raise _bad("api_key", _("Invalid api_key."), 403)
    wait = partners.take_call(partner)
    if wait is not None:
        error = _bad(
            "api_key",
            _("Rate limit of %(n)d calls per minute exceeded; retry in %(s)d seconds.")
            % {"n": partner.rate_limit_per_minute, "s": wait},
            429,
        )
        error.headers["Retry-After"] = str(wait)
        raise error
    return partner


def _scope(request: HttpRequest, *, key_required: bool = False):
    jurisdiction = _jurisdiction(request)
    partner = _partner(request, required=key_required)
    if partner is not None and jurisdiction is not None:
        if not jurisdiction.path.startswith(partner.jurisdiction.path):
            raise _bad("jurisdiction_id", _("Your api_key does not serve this jurisdiction."), 403)
    return partner, jurisdiction


def _service_errors(exc: ServiceError) -> Open311Error:
    rows = [
        (400, f"{field}: {message}" if field else message) for field, message in exc.errors.items()
    ]
    return Open311Error(400, rows or [(400, exc.message)])


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri(reverse("open311:root"))
    return respond(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": _("Ask the platform administrator (the district's 12345 centre)."),
            "key_service": _(
                "Api keys are issued to registered partner systems by the platform administrator."
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base.rstrip("/"),
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    _scope(request)
    return respond(fmt, "services", selectors.services())


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    _scope(request)
    category = selectors.service(code)
    if category is None:
        raise _bad("service_code", _("Unknown service_code."), 404)
    return respond(fmt, "service_definition", selectors.definition(category))


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    partner, jurisdiction = _scope(request)
    filters = _list_filters(request)
    cases = selectors.requests_visible(partner, jurisdiction)
    rows = selectors.request_list(cases, now=clock.now(), **filters)
    return respond(fmt, "service_requests", [selectors.request_row(c) for c in rows])


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    content_type = request.content_type or ""
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise _bad(
            "",
            _("Post the fields form-encoded (application/x-www-form-urlencoded)."),
        )
    partner, jurisdiction = _scope(request, key_required=True)
    params: dict[str, str] = {}
    posted: dict[str, list[str]] = {}
    for name in request.POST:
        match = _ATTRIBUTE.match(name)
        if match:
            posted.setdefault(match.group(1), []).extend(request.POST.getlist(name))
        elif name not in _OWN_FIELDS:
            params[name] = request.POST.get(name, "")
    try:
        case, token = services.submit_request(partner, params, posted, jurisdiction=jurisdiction)
    except PermissionDeniedError as exc:  # the service user lost its intake role
        raise _bad("api_key", exc.message, 403) from None
    except ServiceError as exc:
        raise _service_errors(exc) from None
    row = {
        "service_request_id": case.number,
        "token": token,
        "service_notice": "",
        "account_id": params.get("account_id", ""),
    }
    return respond(fmt, "service_requests", [row], status=201)


def _when(request: HttpRequest, name: str, *, end: bool) -> dt.datetime | None:
    value = _param(request, name)
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is not None:
                moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise _bad(name, _("Use a W3C date and time such as 2026-01-31T09:30:00+08:00."))
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _codes(request: HttpRequest, name: str) -> list[str]:
    return [v.strip() for v in _param(request, name).split(",") if v.strip()][:1000]


def _list_filters(request: HttpRequest) -> dict:
    start = _when(request, "start_date", end=False)
    end = _when(request, "end_date", end=True)
    if start and end:
        if end < start:
            raise _bad("end_date", _("end_date comes before start_date."))
        if end - start > selectors.MAX_SPAN:
            raise _bad("end_date", _("The span may be at most 90 days."))
    statuses = [s.lower() for s in _codes(request, "status")]
    wrong = [s for s in statuses if s not in (selectors.OPEN, selectors.CLOSED)]
    if wrong:
        raise _bad("status", _("status is open or closed."))
    return {
        "ids": _codes(request, "service_request_id"),
        "codes": _codes(request, "service_code"),
        "start": start,
        "end": end,
        "statuses": statuses,
    }


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, number: str) -> HttpResponse:
    partner, jurisdiction = _scope(request)
    cases = selectors.requests_visible(partner, jurisdiction).filter(number=number)
    found = list(selectors.with_details(cases)[:1])
    if not found:
        raise _bad("service_request_id", _("No such request."), 404)
    return respond(fmt, "service_requests", [selectors.request_row(found[0])])


@endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    partner, _jurisdiction = _scope(request)
    case = services.case_for_token(token, partner)
    if case is None:
        raise _bad("token", _("No such token."), 404)
    return respond(fmt, "service_requests", [{"service_request_id": case.number, "token": token}])


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    """Any other path under /open311/v2/: a 404 in the standard body (XML, the default)."""
    fmt = JSON if request.path.endswith(".json") else XML
    return error_response(fmt, _bad("", _("Not found."), 404))
