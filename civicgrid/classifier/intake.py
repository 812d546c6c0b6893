"""The classifier at intake: suggest before the case is written, dispatch on a confident
suggestion where the catalogue names one unit, record what the operator chose.

`cases.intake.receive_case` calls these three functions. None of them may stop a case from
coming in: without an active model they do nothing, and a model that fails to load or
predict is logged and ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicgrid.classifier import services

logger = logging.getLogger(__name__)


@dataclass
class AtIntake:
    """The suggestions for a case being received, and whether its category came from them."""

    suggestions: services.Suggestions
    filled: bool = False  # the case had no category; the confident top suggestion was used


def prepare(fields: dict) -> AtIntake | None:
    """Suggestions for the validated intake `fields` (None without an active model). When no
    category was given and the top suggestion is confident enough for automatic dispatch
    (CIVICGRID_CLASSIFIER_AUTO_CONFIDENCE) and names a category of the last level, that
    category goes into `fields`, so the time limits follow from it."""
    try:
        found = services.suggest(fields["title"], fields["description"])
    except Exception:  # a broken model must not stop intake; the log says why
        logger.exception("The category classifier failed at intake; no suggestion made")
        return None
    if found is None or not found.items:
        return None
    prepared = AtIntake(found)
    top = found.top
    threshold = services.auto_confidence()
    if (
        fields.get("category") is None
        and threshold is not None
        and top.category is not None
        and top.confidence >= threshold
        and top.is_leaf
    ):
        fields["category"] = top.category
        prepared.filled = True
    return prepared


def may_dispatch(prepared: AtIntake | None, case, route) -> bool:
    """Whether intake dispatches `case` on the classifier's word: automatic dispatch is on,
    the case's category is the confident top suggestion, and the catalogue names exactly one
    unit for it (an ambiguous or empty route always waits for a dispatcher)."""
    if prepared is None or route.unit is None:
        return False
    threshold = services.auto_confidence()
    top = prepared.suggestions.top
    return (
        threshold is not None
        and top.category is not None
        and case.category_id == top.category.pk
        and top.confidence >= threshold
    )


def dispatch_note(prepared: AtIntake) -> str:
    """The reason written on the DISPATCH event of a case dispatched on a suggestion."""
    top = prepared.suggestions.top
    return _("Category classifier %(version)s, confidence %(confidence).2f") % {
        "version": prepared.suggestions.model.version,
        "confidence": top.confidence,
    }


def record(case, prepared: AtIntake | None, *, auto_dispatched: bool) -> None:
    """The Suggestion row of `case` (in the intake's transaction)."""
    if prepared is not None:
        services.record_suggestion(
            case, prepared.suggestions, filled=prepared.filled, auto_dispatched=auto_dispatched
        )
