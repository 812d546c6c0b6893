"""Errors raised by services. Views and API handlers turn them into field-level messages."""

from __future__ import annotations


class ServiceError(ValueError):
    """Input or state a service refuses. `field` names the offending input, if any;
    `errors` may carry several field messages at once ({field: message})."""

    def __init__(self, message: str, field: str = "", errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: message} if field else {})


class PermissionDeniedError(ServiceError):
    """The actor may see the object but not do this to it (a 403, never for hidden objects)."""
