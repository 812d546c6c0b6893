"""Partner systems through /api/v1 (administrators only): list, register (the api key is in
the answer, once), change the rate limit or switch off, replace the key. The same write path
(`partners`) serves the admin and `manage.py open311_partner`. Anyone else gets a 403 for the
list and a 404 for one partner, as for any object outside their scope."""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from civicgrid.accounts.models import PartnerSystem
from civicgrid.areas.models import Area
from civicgrid.core.api import invalid
from civicgrid.open311 import partners

router = Router(tags=["open311"])


class PartnerOut(Schema):
    id: int
    name: str
    jurisdiction: str = Field(description="The area code.")
    jurisdiction_name: str
    key_prefix: str
    rate_limit_per_minute: int
    is_active: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="The key. Shown this once; store it now.")


class PartnerIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    jurisdiction: str = Field(description="Code of the area the partner serves.")
    rate_limit_per_minute: int = Field(60, ge=1, le=partners.MAX_RATE_PER_MINUTE)


class PartnerPatch(Schema):
    rate_limit_per_minute: int | None = Field(None, ge=1, le=partners.MAX_RATE_PER_MINUTE)
    is_active: bool | None = None


class KeyOut(Schema):
    api_key: str = Field(description="The new key. Shown this once; the old one stops working.")


def _admin(request) -> None:
    if not (request.user.is_active and request.user.is_superuser):
        raise HttpError(403, "Only administrators manage partner systems.")


def _out(partner: PartnerSystem) -> dict:
    return {
        "id": partner.pk,
        "name": partner.name,
        "jurisdiction": partner.jurisdiction.code,
        "jurisdiction_name": partner.jurisdiction.name,
        "key_prefix": partner.key_prefix,
        "rate_limit_per_minute": partner.rate_limit_per_minute,
        "is_active": partner.is_active,
        "created_at": partner.created_at,
        "last_used_at": partner.last_used_at,
    }


def _get(request, pk: int) -> PartnerSystem:
    if not (request.user.is_active and request.user.is_superuser):
        raise Http404
    partner = PartnerSystem.objects.select_related("jurisdiction").filter(pk=pk).first()
    if partner is None:
        raise Http404
    return partner


@router.get(
    "/open311/partners",
    response=list[PartnerOut],
    summary="Open311 partner systems (administrators)",
)
def list_partners(request):
    _admin(request)
    return [_out(p) for p in PartnerSystem.objects.select_related("jurisdiction").order_by("name")]


@router.post(
    "/open311/partners",
    response={201: PartnerCreated},
    summary="Register an Open311 partner system; the api key is in the answer, once",
)
def create_partner(request, payload: PartnerIn):
    _admin(request)
    area = Area.objects.filter(code=payload.jurisdiction, valid_to__isnull=True).first()
    if area is None:
        raise invalid("jurisdiction", "No area in use has this code.", "body")
    partner, key = partners.register_partner(
        name=payload.name,
        jurisdiction=area,
        rate_limit_per_minute=payload.rate_limit_per_minute,
        actor=request.user,
    )
    return Status(201, {**_out(partner), "api_key": key})


@router.patch(
    "/open311/partners/{partner_id}",
    response=PartnerOut,
    summary="Change a partner system's rate limit, or switch it off or on",
)
def update_partner(request, partner_id: int, payload: PartnerPatch):
    partner = _get(request, partner_id)
    partners.update_partner(
        partner,
        rate_limit_per_minute=payload.rate_limit_per_minute or partner.rate_limit_per_minute,
        is_active=partner.is_active if payload.is_active is None else payload.is_active,
        actor=request.user,
    )
    return _out(partner)


@router.post(
    "/open311/partners/{partner_id}/key",
    response=KeyOut,
    summary="Replace a partner system's api key (the old one stops working at once)",
)
def replace_key(request, partner_id: int):
    partner = _get(request, partner_id)
    return {"api_key": partners.replace_key(partner, actor=request.user)}
