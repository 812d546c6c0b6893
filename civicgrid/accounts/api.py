"""API tokens: a logged-in person lists, creates and revokes the tokens of their own account.

The secret is shown once, in the answer to its creation; only its hash is stored. The same
write path serves the `create_api_token` management command.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from civicgrid.accounts.models import ApiToken, User
from civicgrid.core import audit, clock
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry

router = Router(tags=["accounts"])

PREFIX_LENGTH = 10  # "cg_" and 7 characters: enough to tell tokens apart in a list


@transaction.atomic
def issue_token(user: User, name: str, *, actor) -> tuple[ApiToken, str]:
    """Create a token for `user`; return it with its secret (never retrievable again)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the token a name (which system uses it).", "name")
    if not user.is_active:
        raise ServiceError(f"{user.username} is not active.", "user")
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:PREFIX_LENGTH], key_hash=ApiToken.hash_key(key)
    )
    audit.record(
        actor,
        AuditEntry.Action.CREATE,
        token,
        fields={"user": user.username, "name": token.name},
    )
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, actor) -> ApiToken:
    """Revoke `token` (idempotent: a revoked token keeps its first revocation time)."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    token.refresh_from_db()
    if updated:
        audit.record(actor, AuditEntry.Action.UPDATE, token, fields={"revoked": True})
    return token


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    key: str = Field(description="The secret. Shown this once; store it now.")


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)


@router.get("/tokens", response=list[TokenOut], summary="The caller's API tokens")
def list_tokens(request):
    return ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")


@router.post("/tokens", response={201: TokenCreated}, summary="Create an API token")
def create_token(request, payload: TokenIn):
    # A leaked token must not be able to mint tokens that outlive its own revocation.
    if getattr(request, "api_token", None) is not None:
        raise HttpError(403, "Create tokens from a logged-in session, not with another token.")
    token, key = issue_token(request.user, payload.name, actor=request.user)
    token.key = key
    return Status(201, token)


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke an API token")
def delete_token(request, token_id: int):
    # Another user's token is as missing as a token that never was.
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke_token(token, actor=request.user)
    return Status(204, None)
