"""Writing the audit log. Services call `record` inside their transaction."""

from __future__ import annotations

from civicgrid.core import clock
from civicgrid.core.masking import mask_name
from civicgrid.core.models import AuditEntry

# Object types whose text is a person's name. Auditors read the log and may not see personal
# data either, so these are written masked (`张**`); rows written before are shown masked.
NAMED_PERSON_TYPES = frozenset({"registry.resident"})


def shown_repr(object_type: str, object_repr: str) -> str:
    """`object_repr` as the log may show it: a person's name masked, anything else as is."""
    return mask_name(object_repr) if object_type in NAMED_PERSON_TYPES else object_repr


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
    row = entry(
        actor,
        action,
        obj,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        area_path=area_path,
        fields=fields,
        reason=reason,
    )
    row.save(force_insert=True)
    return row


def entry(
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
    """The row `record` writes, not yet saved: for a caller that writes several at once."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        area_path = area_path or audit_path_of(obj)
    object_repr = shown_repr(object_type, object_repr)
    return AuditEntry(
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
