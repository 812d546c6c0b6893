"""Scoped reads of the classifier: models and acceptance statistics of suggestions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from civicgrid.classifier.models import ClassifierModel, Suggestion


def models() -> list[ClassifierModel]:
    """Every model, newest first, without the fitted pipelines."""
    return list(ClassifierModel.objects.defer("blob").select_related("created_by", "previous"))


@dataclass
class Acceptance:
    """Suggestions whose top category was `category_name`, and how the operators chose."""

    category_id: int | None
    category_code: str
    category_name: str
    suggested: int
    accepted: int  # the top suggestion was chosen
    in_top3: int  # one of the three was chosen
    filled: int  # no category was chosen; the confident top suggestion was taken
    auto_dispatched: int

    @property
    def chosen_by_operator(self) -> int:
        return self.suggested - self.filled

    @property
    def rate(self) -> float | None:
        """Share of the operators' choices that took the top suggestion."""
        return self.accepted / self.chosen_by_operator if self.chosen_by_operator else None

    @property
    def top3_rate(self) -> float | None:
        return self.in_top3 / self.chosen_by_operator if self.chosen_by_operator else None


def acceptance(
    user, *, since: dt.datetime | None = None, model: ClassifierModel | None = None
) -> tuple[list[Acceptance], Acceptance]:
    """Per suggested category (most suggested first), and the total, over the suggestions of
    cases the user may see."""
    rows = Suggestion.objects.visible_to(user)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if model is not None:
        rows = rows.filter(model=model)
    grouped = (
        rows.values("suggested_category_id", "suggested_category__code", "suggested_category__name")
        .annotate(
            suggested=Count("pk"),
            accepted=Count("pk", filter=Q(accepted=True)),
            in_top3=Count("pk", filter=Q(chosen_rank__isnull=False)),
            filled=Count("pk", filter=Q(category_filled=True)),
            auto=Count("pk", filter=Q(auto_dispatched=True)),
        )
        .order_by("-suggested", "suggested_category__code")
    )
    result = [
        Acceptance(
            category_id=row["suggested_category_id"],
            category_code=row["suggested_category__code"] or "",
            category_name=row["suggested_category__name"] or "",
            suggested=row["suggested"],
            accepted=row["accepted"],
            in_top3=row["in_top3"],
            filled=row["filled"],
            auto_dispatched=row["auto"],
        )
        for row in grouped
    ]
    total = Acceptance(
        None,
        "",
        "",
        sum(r.suggested for r in result),
        sum(r.accepted for r in result),
        sum(r.in_top3 for r in result),
        sum(r.filled for r in result),
        sum(r.auto_dispatched for r in result),
    )
    return result, total
