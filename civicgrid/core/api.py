"""API plumbing shared by every router (authentication, JSON errors, pagination) and the
`meta` endpoints: who am I (`/me`) and the audit log (`/audit`)."""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.pagination import PageNumberPagination, paginate
from ninja.security import APIKeyHeader, HttpBearer, django_auth
from pydantic import BeforeValidator

from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import Scope, get_visible_or_404, scope_of

PAGE_SIZE = 50
# How an Excel download appears in the OpenAPI schema (`openapi_extra=XLSX_RESPONSE`).
XLSX_RESPONSE = {
    "responses": {
        "200": {
            "description": "An Excel workbook.",
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        }
    }
}
PARAM_SOURCES = {"body", "query", "path", "form", "file", "header", "cookie"}
# Handlers name their JSON body parameter `payload`; error locations drop the name.
BODY_PARAMETER = "payload"
MAX_PAGE_SIZE = 200


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cg_...` for systems; the token's user brings its scope."""

    def authenticate(self, request, token: str):
        from civicgrid.accounts.models import ApiToken

        try:
            api_token = ApiToken.objects.select_related("user").get(
                key_hash=ApiToken.hash_key(token), revoked_at__isnull=True
            )
        except ApiToken.DoesNotExist:
            return None
        if not api_token.user.is_active:
            return None
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=clock.now())
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


# The token goes first: session auth checks CSRF before it looks at the cookie, so with the
# session first a system's POST carrying a valid token would be refused as a CSRF failure.
# A request without an Authorization header falls through to the session.
session_or_token = [TokenAuth(), django_auth]
router = Router(tags=["meta"])


def install_error_handlers(api) -> None:
    """Every error is JSON: `{"detail": ..., "errors": [{"field": ..., "message": ...}]}`."""

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        errors = []
        for err in exc.errors:
            # loc is (source, [body parameter,] field, ...): ("query", "lat"),
            # ("body", "payload", "name"), ("file", "file"). Clients want the field.
            loc = [str(p) for p in err.get("loc", ())]
            if loc and loc[0] in PARAM_SOURCES:
                loc = loc[1:]
            if len(loc) > 1 and loc[0] == BODY_PARAMETER:
                loc = loc[1:]
            errors.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
        return api.create_response(
            request, {"detail": "Invalid input.", "errors": errors}, status=422
        )

    @api.exception_handler(ServiceError)
    def service_error(request, exc: ServiceError):
        # A refusal of a visible object is a 403; input a service rejects names its fields
        # (422); a refusal of the state of things, with no field to blame, is a plain 400.
        errors = [{"field": field, "message": message} for field, message in exc.errors.items()]
        if isinstance(exc, PermissionDeniedError):
            status = 403
        else:
            status = 422 if errors else 400
        return api.create_response(
            request, {"detail": exc.message, "errors": errors}, status=status
        )

    @api.exception_handler(PermissionDenied)
    def permission_denied(request, exc):
        return api.create_response(
            request, {"detail": str(exc) or "You may not do this."}, status=403
        )

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, {"detail": "Not found."}, status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return api.create_response(request, {"detail": "Authentication required."}, status=401)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


# --- helpers for handlers -------------------------------------------------------------------


def scope(request) -> Scope:
    return scope_of(request.user)


def require(request, capability: str) -> None:
    """Refuse (403) a caller whose roles lack `capability`. Call it only after the object
    was fetched with `get_visible_or_404`, so a hidden object still answers 404."""
    if not scope_of(request.user).can(capability):
        raise HttpError(403, f"Your roles do not allow this ({capability}).")


def invalid(field: str, message: str, source: str = "query") -> ValidationError:
    """A field-level 422 for checks a schema cannot express (one field needs another)."""
    return ValidationError([{"loc": (source, field), "msg": message, "type": "value_error"}])


def visible_or_invalid(queryset: QuerySet, user, pk: int, field: str):
    """An object named by id in a request body: a 422 on `field` when it is missing or hidden
    (the same answer for both, so the body cannot probe what exists)."""
    try:
        return get_visible_or_404(queryset, user, pk=pk)
    except Http404:
        raise invalid(field, "Not found.", "body") from None


class Page(PageNumberPagination):
    """`?page=2&page_size=100`: 50 rows a page by default, never more than 200."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("page_size", PAGE_SIZE)
        kwargs.setdefault("max_page_size", MAX_PAGE_SIZE)
        super().__init__(**kwargs)


class Mapped:
    """A queryset read through `fn` (masking, for one). The paginator counts and slices it,
    so `fn` runs on the rows of one page, never on the whole table."""

    def __init__(self, queryset: QuerySet, fn: Callable[[Any], Any]):
        self.queryset = queryset
        self.fn = fn

    def all(self) -> "Mapped":  # the paginator counts `items.all().count()`
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self.fn(obj) for obj in self.queryset[key]]
        return self.fn(self.queryset[key])


# --- schemas --------------------------------------------------------------------------------


class ErrorItem(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] = []


class AreaBrief(Schema):
    id: int
    code: str
    name: str
    level: str


class UnitBrief(Schema):
    id: int
    code: str
    name: str


class RoleOut(Schema):
    role: str
    label: str
    area: AreaBrief | None
    unit: UnitBrief | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[RoleOut]
    capabilities: list[str]
    everything: bool = Field(description="True for administrators: no area limit.")
    areas: list[AreaBrief] = Field(description="The roots of the subtrees the user sees.")


class ActorOut(Schema):
    id: int
    username: str


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    actor: ActorOut | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    area_path: str
    fields: dict
    reason: str


def _parse_instant(value: Any) -> Any:
    """'2024-05-01' stays a date (a whole day); anything longer must be an ISO datetime."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "Use a date (2024-05-01) or a date and time (2024-05-01T08:00+08:00)."
        ) from None


Instant = Annotated[dt.datetime | dt.date, BeforeValidator(_parse_instant)]


class AuditFilter(Schema):
    actor: str | None = Field(None, description="Username or numeric user id.")
    action: AuditEntry.Action | None = None
    object_type: str | None = Field(None, description="e.g. `registry.resident`.")
    object_id: str | None = None
    from_: Instant | None = Field(
        None, alias="from", description="From this instant (a date means its start)."
    )
    to: Instant | None = Field(None, description="Up to this instant (a date means its end).")


# --- endpoints ------------------------------------------------------------------------------


@router.get("/me", response=MeOut, summary="The caller, their roles and their scope")
def me(request):
    from civicgrid.areas.models import Area

    user = request.user
    caller_scope = scope_of(user)
    roles = [
        {
            "role": a.role,
            "label": str(a.get_role_display()),
            "area": a.area,
            "unit": a.unit,
        }
        for a in user.role_assignments.select_related("area", "unit").order_by("id")
    ]
    root_ids = [int(p.strip("/").split("/")[-1]) for p in caller_scope.area_paths]
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": str(user),
        "roles": roles,
        "capabilities": sorted(caller_scope.capabilities),
        "everything": caller_scope.everything,
        "areas": list(Area.objects.filter(pk__in=root_ids).order_by("path")),
    }


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight starting `day` in the project time zone (Asia/Shanghai)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _aware(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _audit_entries(request, filters: AuditFilter):
    # Only roles with audit.view see entries, and only those whose area path lies in their
    # scope; everyone else gets an empty list, as for any other scoped list.
    entries = AuditEntry.objects.visible_to(request.user).select_related("actor")
    if filters.actor:
        if filters.actor.isdigit():
            entries = entries.filter(actor_id=int(filters.actor))
        else:
            entries = entries.filter(actor__username=filters.actor)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type)
    if filters.object_id:
        entries = entries.filter(object_id=filters.object_id)
    start, end = filters.from_, filters.to
    if start is not None:
        start = _aware(start) if isinstance(start, dt.datetime) else _day_start(start)
        entries = entries.filter(at__gte=start)
    if end is not None:
        if isinstance(end, dt.datetime):
            entries = entries.filter(at__lte=_aware(end))
        else:
            entries = entries.filter(at__lt=_day_start(end + dt.timedelta(days=1)))
    return entries


@router.get(
    "/audit",
    response=list[AuditEntryOut],
    summary="Search the audit log of the caller's subtree (auditors)",
)
@paginate(Page)
def audit_log(request, filters: Query[AuditFilter]):
    return _audit_entries(request, filters)


@router.get(
    "/audit.xlsx",
    response={200: None, 400: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="The audit log search as an Excel workbook (needs audit.view; audited)",
    openapi_extra=XLSX_RESPONSE,
)
def audit_workbook(request, filters: Query[AuditFilter]):
    from civicgrid.core.exports import export_audit_xlsx, xlsx_response

    used = filters.model_dump(by_alias=True, exclude_none=True, mode="json")
    data = export_audit_xlsx(request.user, _audit_entries(request, filters), filters=used)
    return xlsx_response(data, "audit-log.xlsx")


__all__ = [
    "APIKeyHeader",
    "ErrorOut",
    "Mapped",
    "Page",
    "XLSX_RESPONSE",
    "TokenAuth",
    "install_error_handlers",
    "invalid",
    "require",
    "router",
    "scope",
    "session_or_token",
    "visible_or_invalid",
]
