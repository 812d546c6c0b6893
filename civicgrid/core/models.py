from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.core.scoping import ScopedQuerySet


class AuditEntry(models.Model):
    """One row per write through a service, and per read of unmasked personal data by staff.

    Rows are never updated or deleted by the application; `area_path` is the path of the
    area the object belongs to, so auditors see the entries of their own subtree.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        IMPORT = "import", _("Import")
        REVEAL = "reveal", _("Reveal personal data")
        EXPORT = "export", _("Export")
        LOGIN = "login", _("Log in")
        CHANGE = "change", _("Area change")

    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    area_path = models.CharField(_("area path"), max_length=255, blank=True, db_index=True)
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area_path"
    scope_capability = "audit.view"

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"

    @property
    def shown_repr(self) -> str:
        """The object as the log shows it (a person's name masked, also on older rows)."""
        from civicgrid.core.audit import shown_repr

        return shown_repr(self.object_type, self.object_repr)
