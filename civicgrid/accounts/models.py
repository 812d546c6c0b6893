from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.choices import Role, UnitKind


class User(AbstractUser):
    """A person who logs in. What they may see comes from their role assignments."""

    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username


class Unit(models.Model):
    """A handling unit (承办单位): a department, street office, community, company or utility.

    Units form a hierarchy (departments have sub-units, 3 levels) and cover areas.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    areas = models.ManyToManyField(
        "areas.Area", verbose_name=_("areas covered"), blank=True, related_name="units"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("handling unit")
        verbose_name_plural = _("handling units")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="unit_parent_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A user holds a role over an area subtree, over a handling unit, or (administrator) all."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    area = models.ForeignKey(
        "areas.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area", "unit"], name="role_assignment_unique"
            ),
            models.CheckConstraint(
                condition=~(Q(area__isnull=False) & Q(unit__isnull=False)),
                name="role_assignment_area_xor_unit",
            ),
        ]

    def __str__(self) -> str:
        target = self.area or self.unit or _("everything")
        return f"{self.user} · {self.get_role_display()} · {target}"


class ApiToken(models.Model):
    """A bearer token for systems calling /api/v1. Only a hash of the secret is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def generate_key() -> str:
        return "cg_" + secrets.token_urlsafe(32)


class PartnerSystem(models.Model):
    """A registered outside system posting requests through Open311 GeoReport v2.

    It acts as its own service user (a hotline operator over its jurisdiction), so what it
    may take in and read follows the ordinary scope rule. Only a hash of its api key is kept;
    the key is shown once, when the partner is registered or the key is replaced.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    jurisdiction = models.ForeignKey(
        "areas.Area",
        verbose_name=_("jurisdiction"),
        on_delete=models.PROTECT,
        related_name="partner_systems",
    )
    user = models.OneToOneField(
        User,
        verbose_name=_("service user"),
        on_delete=models.PROTECT,
        related_name="partner_system",
    )
    key_prefix = models.CharField(_("key prefix"), max_length=12)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        default=60,
        help_text=_("Calls with this system's api key allowed per minute."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner system")
        verbose_name_plural = _("partner systems")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def generate_key() -> str:
        return "o311_" + secrets.token_urlsafe(32)
