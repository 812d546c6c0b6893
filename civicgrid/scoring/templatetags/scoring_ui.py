"""Formatting for scorecard tables: rates as percentages with a status colour."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def pct(rate) -> str:
    """0.9523 -> "95.2%"; None -> "—"."""
    if rate is None or rate == "":
        return "—"
    return f"{float(rate) * 100:.1f}%"


@register.filter
def rate_class(rate, metric: str = "") -> str:
    """ok / warn / bad for a rate (the thresholds are settings; lower is better for the
    return and redo rates)."""
    if rate is None or rate == "":
        return ""
    good, fair = settings.SCORING_RATE_GOOD, settings.SCORING_RATE_FAIR
    value = float(rate)
    if metric in {"return_rate", "redo_rate"}:
        value = 1 - value
    if value >= good:
        return "ok"
    if value >= fair:
        return "warn"
    return "bad"


@register.filter
def get(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def signed(value) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f}"
