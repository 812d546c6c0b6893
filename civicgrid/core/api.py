"""API plumbing shared by every router: authentication and JSON errors."""

from __future__ import annotations

from django.http import Http404
from ninja import Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from civicgrid.core import clock


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
        return api_token.user


session_or_token = [django_auth, TokenAuth()]
router = Router(tags=["meta"])


def install_error_handlers(api) -> None:
    """Every error is JSON: `{"detail": ..., "errors": [{"field": ..., "message": ...}]}`."""

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        errors = []
        for err in exc.errors:
            loc = [
                str(p)
                for p in err.get("loc", [])
                if p not in ("body", "query", "path", "payload", "form")
            ]
            errors.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
        return api.create_response(
            request, {"detail": "Invalid input.", "errors": errors}, status=422
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


__all__ = ["APIKeyHeader", "router", "session_or_token", "install_error_handlers"]
