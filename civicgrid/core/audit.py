"""Writing the audit log. Services call `record` inside their transaction."""

from __future__ import annotations

from civicgrid.core import clock
from civicgrid.core.models import AuditEntry


def record(
    actor,
    action: str,
    obj=None,
    *,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    area_path: str = "",
    fields: dict | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one audit row. `obj` fills type, id, repr and area path when given."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        area_path = area_path or audit_path_of(obj)
    return AuditEntry.objects.create(
        at=clock.now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        area_path=area_path,
        fields=fields or {},
        reason=reason[:500],
    )


def audit_path_of(obj) -> str:
    """The area path an object belongs to, following its model's `scope_path_field`."""
    lookup = getattr(type(obj), "scope_path_field", "")
    value = obj
    for part in lookup.split("__") if lookup else []:
        value = getattr(value, part, None)
        if value is None:
            return ""
    return value if isinstance(value, str) else ""
