"""The one place that tells the time, so tests can travel in it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Current aware datetime (UTC), or the frozen instant set by tests."""
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    """Today's date in the project time zone (Asia/Shanghai)."""
    return timezone.localdate(now())


class frozen:
    """Context manager for tests: `with clock.frozen(when): ...`."""

    def __init__(self, when: dt.datetime):
        self.when = when

    def __enter__(self):
        global _frozen
        self.previous, _frozen = _frozen, self.when
        return self.when

    def __exit__(self, *exc):
        global _frozen
        _frozen = self.previous
