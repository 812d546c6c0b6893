"""Partner systems (accounts.PartnerSystem): registering one, its api key, the rate limit.

A partner acts as its own service user, a hotline operator over its jurisdiction, so intake
and reads follow the ordinary scope rule with no special case. Only a hash of the key is kept:
`register_partner` and `replace_key` return the key once, and nothing can show it again.
"""

from __future__ import annotations

import re

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import PartnerSystem, RoleAssignment, User
from civicgrid.areas.models import Area
from civicgrid.core import audit, clock
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry

MAX_RATE_PER_MINUTE = 100_000
# How long one minute's counter lives in the cache: a little past its minute.
_RATE_WINDOW_SECONDS = 70


def _check(name: str, jurisdiction: Area | None, rate_limit_per_minute: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("Give the partner system a name.")
    elif len(name) > 100:
        errors["name"] = _("The name may have at most %(n)d characters.") % {"n": 100}
    if jurisdiction is None:
        errors["jurisdiction"] = _("Choose the area the partner system serves.")
    elif jurisdiction.valid_to is not None:
        errors["jurisdiction"] = _("This area is not in use any more.")
    if not 1 <= rate_limit_per_minute <= MAX_RATE_PER_MINUTE:
        errors["rate_limit_per_minute"] = _("Between 1 and %(n)d requests per minute.") % {
            "n": MAX_RATE_PER_MINUTE
        }
    return errors


def _username(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30] or "partner"
    base = f"open311-{slug}"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def register_partner(
    *,
    name: str,
    jurisdiction: Area | None,
    rate_limit_per_minute: int = 60,
    actor=None,
    key: str | None = None,
) -> tuple[PartnerSystem, str]:
    """Register a partner system and its service user; returns (partner, api key).

    `key` is for the demo loader, which prints a known key; everyone else gets a fresh one.
    Raises ServiceError with field errors (nothing written) for bad input.
    """
    name = " ".join((name or "").split())
    errors = _check(name, jurisdiction, rate_limit_per_minute)
    if name and PartnerSystem.objects.filter(name=name).exists():
        errors["name"] = _("A partner system with this name exists.")
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    key = key or PartnerSystem.generate_key()
    with transaction.atomic():
        user = User.objects.create(
            username=_username(name),
            display_name=name[:64],
            password=make_password(None),  # never logs in: it acts only through its key
        )
        RoleAssignment.objects.create(user=user, role=Role.HOTLINE_OPERATOR, area=jurisdiction)
        partner = PartnerSystem.objects.create(
            name=name,
            jurisdiction=jurisdiction,
            user=user,
            key_prefix=key[:12],
            key_hash=PartnerSystem.hash_key(key),
            rate_limit_per_minute=rate_limit_per_minute,
        )
        audit.record(
            actor,
            AuditEntry.Action.CREATE,
            partner,
            area_path=jurisdiction.path,
            fields={
                "jurisdiction": jurisdiction.code,
                "rate_limit_per_minute": rate_limit_per_minute,
                "user": user.username,
            },
        )
    return partner, key


def update_partner(
    partner: PartnerSystem, *, rate_limit_per_minute: int, is_active: bool, actor=None
) -> PartnerSystem:
    """Change a partner's rate limit or switch it on or off (its service user follows)."""
    errors = _check(partner.name, partner.jurisdiction, rate_limit_per_minute)
    errors.pop("jurisdiction", None)  # an area retired since registration does not block this
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    with transaction.atomic():
        # Compared with the stored row: a form may already have set the new values on `partner`.
        stored = PartnerSystem.objects.select_for_update().get(pk=partner.pk)
        changed = {}
        if stored.rate_limit_per_minute != rate_limit_per_minute:
            changed["rate_limit_per_minute"] = rate_limit_per_minute
        if stored.is_active != is_active:
            changed["is_active"] = is_active
        PartnerSystem.objects.filter(pk=partner.pk).update(
            rate_limit_per_minute=rate_limit_per_minute, is_active=is_active
        )
        User.objects.filter(pk=partner.user_id).update(is_active=is_active)
        partner.rate_limit_per_minute, partner.is_active = rate_limit_per_minute, is_active
        if changed:
            audit.record(
                actor,
                AuditEntry.Action.UPDATE,
                partner,
                area_path=partner.jurisdiction.path,
                fields=changed,
            )
    return partner


def replace_key(partner: PartnerSystem, *, actor=None) -> str:
    """Give the partner a new api key (the old one stops working at once); returns it."""
    key = PartnerSystem.generate_key()
    with transaction.atomic():
        PartnerSystem.objects.filter(pk=partner.pk).update(
            key_prefix=key[:12], key_hash=PartnerSystem.hash_key(key)
        )
        partner.key_prefix, partner.key_hash = key[:12], PartnerSystem.hash_key(key)
        audit.record(
            actor,
            AuditEntry.Action.UPDATE,
            partner,
            area_path=partner.jurisdiction.path,
            fields={"api_key": "replaced"},
        )
    return key


def authenticate(key: str) -> PartnerSystem | None:
    """The active partner system holding `key`, or None."""
    if not key:
        return None
    partner = (
        PartnerSystem.objects.filter(key_hash=PartnerSystem.hash_key(key), is_active=True)
        .select_related("user", "jurisdiction")
        .first()
    )
    if partner is None or not partner.user.is_active:
        return None
    return partner


def take_call(partner: PartnerSystem) -> int | None:
    """Count one call against the partner's limit for the current minute.

    Returns None when the call may go ahead, else the seconds until the next minute. The
    counter lives in Django's cache: shared by every process with a shared cache (Redis),
    per process with the local-memory default.
    """
    now = clock.now()
    minute = int(now.timestamp() // 60)
    key = f"open311:rate:{partner.pk}:{minute}"
    if cache.add(key, 1, _RATE_WINDOW_SECONDS):
        # The first call of a minute also notes when the key was last used: one write a
        # minute at most, not one per call.
        PartnerSystem.objects.filter(pk=partner.pk).update(last_used_at=now)
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, _RATE_WINDOW_SECONDS)
            count = 1
    if count > partner.rate_limit_per_minute:
        return 60 - int(now.timestamp()) % 60
    return None
