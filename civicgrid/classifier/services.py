"""Writes and computations of the classifier: train, evaluate, activate, roll back, suggest.

Every state change runs in one transaction with its audit row. Only the ACTIVE model is ever
used to suggest (a trained model waits for someone to activate it); with no active model the
suggestions are empty and intake works as before.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.classifier.choices import ModelStatus, TrainingSource
from civicgrid.classifier.data import Dataset
from civicgrid.classifier.evaluation import cross_validate, evaluate  # noqa: F401 - re-exported
from civicgrid.classifier.models import ClassifierModel, Suggestion
from civicgrid.classifier.pipeline import CaseClassifier, Options, TrainingError
from civicgrid.core import audit, clock
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry

SUGGESTIONS = 3


class ModelIntegrityError(ServiceError):
    """A stored model's bytes do not match its checksum: it is refused, never unpickled."""


# --- training and evaluation -----------------------------------------------------------------


def _next_version() -> str:
    numbers = [
        int(v[1:])
        for v in ClassifierModel.objects.values_list("version", flat=True)
        if v.startswith("v") and v[1:].isdigit()
    ]
    return f"v{max(numbers, default=0) + 1}"


def default_label_map(labels: Sequence[str]) -> dict[str, str]:
    """Label -> code of a category of the active taxonomy whose code or name is the label."""
    from civicgrid.cases.models import Category

    found: dict[str, str] = {}
    rows = Category.objects.filter(taxonomy__is_active=True, is_active=True).order_by("level")
    by_code = {c.code: c.code for c in rows}
    by_name: dict[str, str] = {}
    for category in rows:
        by_name.setdefault(category.name, category.code)  # the highest level wins
    for label in labels:
        code = by_code.get(label) or by_name.get(label)
        if code:
            found[label] = code
    return found


def train_model(
    dataset: Dataset,
    *,
    actor=None,
    source: str = TrainingSource.CSV,
    options: Options | None = None,
    unlabelled: Sequence[tuple[str, str]] = (),
    distant: Dataset | None = None,
    label_map: dict[str, str] | None = None,
    cv_folds: int = 5,
    version: str | None = None,
) -> ClassifierModel:
    """Fit a model on `dataset`, measure it by cross-validation, store it as TRAINED.

    From platform cases the labels are category codes and map to themselves; from a CSV the
    map is `label_map`, else each label whose text is a category code or name of the active
    taxonomy. `distant` rows (`data.distant_labels`: labelled by the unit that answered them)
    are added to the training rows, and to every cross-validation fold's training part, never
    to what is scored. Raises ServiceError when the data cannot make a model.
    """
    options = options or Options()
    try:
        classifier = CaseClassifier(options).fit(
            dataset.texts,
            dataset.labels,
            unlabelled,
            distant=distant.texts if distant else (),
            distant_labels=distant.labels if distant else (),
        )
        metrics = (
            cross_validate(dataset, options, folds=cv_folds, unlabelled=unlabelled, distant=distant)
            if cv_folds >= 2
            else {}
        )
    except TrainingError as exc:
        raise ServiceError(str(exc), field="csv") from exc
    if source == TrainingSource.CASES:
        mapping = {label: label for label in classifier.labels}
    else:
        mapping = label_map if label_map is not None else default_label_map(classifier.labels)
    unknown = sorted(set(mapping) - set(classifier.labels))
    if unknown:
        raise ServiceError(
            _("The label map names labels the model does not know: %(labels)s.")
            % {"labels": ", ".join(unknown)},
            field="label_map",
        )
    blob = pickle.dumps(classifier, protocol=pickle.HIGHEST_PROTOCOL)
    from civicgrid.cases.models import Taxonomy

    taxonomy = Taxonomy.objects.filter(is_active=True).values_list("version", flat=True).first()
    summary = {**dataset.summary(), **classifier.summary}
    if distant:
        summary["distant"] = distant.summary()
    with transaction.atomic():
        model = ClassifierModel.objects.create(
            version=version or _next_version(),
            status=ModelStatus.TRAINED,
            source=source,
            taxonomy_version=taxonomy or "",
            labels=classifier.labels,
            label_map=mapping,
            metrics=metrics,
            training_summary=summary,
            options=options.as_dict(),
            blob=blob,
            checksum=hashlib.sha256(blob).hexdigest(),
            size=len(blob),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=clock.now(),
        )
        audit.record(
            actor,
            AuditEntry.Action.CREATE,
            model,
            fields={"version": model.version, "rows": summary["rows"], **_headline(metrics)},
        )
    return model


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("accuracy", "macro_f1") if k in metrics}


def set_label_map(model: ClassifierModel, mapping: dict[str, str], *, actor) -> ClassifierModel:
    """Replace the label -> category code map of `model` (codes must exist in the active
    taxonomy)."""
    from civicgrid.cases.models import Category

    errors = {}
    unknown_labels = sorted(set(mapping) - set(model.labels))
    if unknown_labels:
        errors["label_map"] = _("Unknown labels: %(labels)s.") % {
            "labels": ", ".join(unknown_labels)
        }
    codes = set(
        Category.objects.filter(taxonomy__is_active=True, code__in=mapping.values()).values_list(
            "code", flat=True
        )
    )
    unknown_codes = sorted(set(mapping.values()) - codes)
    if unknown_codes:
        errors["label_map"] = _("No such category code in the active taxonomy: %(codes)s.") % {
            "codes": ", ".join(unknown_codes)
        }
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    with transaction.atomic():
        before = model.label_map
        model.label_map = dict(mapping)
        model.save(update_fields=["label_map"])
        audit.record(
            actor, AuditEntry.Action.UPDATE, model, fields={"label_map": [before, mapping]}
        )
    _forget()
    return model


# --- activation -----------------------------------------------------------------------------


def activate_model(model: ClassifierModel, *, actor) -> ClassifierModel:
    """Make `model` the one model in use; the one in use before is retired and remembered as
    what a rollback returns to."""
    with transaction.atomic():
        model = ClassifierModel.objects.select_for_update().defer("blob").get(pk=model.pk)
        if model.status == ModelStatus.ACTIVE:
            raise ServiceError(_("Model %(v)s is already active.") % {"v": model.version})
        current = (
            ClassifierModel.objects.select_for_update()
            .defer("blob")
            .filter(status=ModelStatus.ACTIVE)
            .first()
        )
        if current is not None:
            current.status = ModelStatus.RETIRED
            current.save(update_fields=["status"])
        model.status = ModelStatus.ACTIVE
        model.previous = current
        model.activated_at = clock.now()
        model.save(update_fields=["status", "previous", "activated_at"])
        audit.record(
            actor,
            AuditEntry.Action.UPDATE,
            model,
            fields={"status": [ModelStatus.TRAINED, ModelStatus.ACTIVE]},
            reason=_("replaces %(v)s") % {"v": current.version} if current else "",
        )
    _forget()
    return model


def rollback(*, actor) -> ClassifierModel | None:
    """Retire the active model and put back the one it replaced (None: no model is left in
    use, when the active model replaced none)."""
    with transaction.atomic():
        current = (
            ClassifierModel.objects.select_for_update()
            .defer("blob")
            .filter(status=ModelStatus.ACTIVE)
            .first()
        )
        if current is None:
            raise ServiceError(_("No model is active: there is nothing to roll back."))
        previous = current.previous
        current.status = ModelStatus.RETIRED
        current.save(update_fields=["status"])
        audit.record(
            actor,
            AuditEntry.Action.UPDATE,
            current,
            fields={"status": [ModelStatus.ACTIVE, ModelStatus.RETIRED]},
            reason=_("rollback"),
        )
        if previous is not None:
            previous.status = ModelStatus.ACTIVE
            previous.activated_at = clock.now()
            previous.save(update_fields=["status", "activated_at"])
            audit.record(
                actor,
                AuditEntry.Action.UPDATE,
                previous,
                fields={"status": [ModelStatus.RETIRED, ModelStatus.ACTIVE]},
                reason=_("rollback from %(v)s") % {"v": current.version},
            )
    _forget()
    return previous


# --- loading --------------------------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict[int, tuple[str, CaseClassifier]] = {}
# The model in use as this process last read it (None: no model), when it was read, and a
# generation that _forget() moves so a read racing a change is not kept.
_in_use: tuple[ClassifierModel | None, float] | None = None
_generation = 0


def _forget() -> None:
    global _in_use, _generation
    with _lock:
        _loaded.clear()
        _in_use = None
        _generation += 1
    # A change made inside an outer transaction: forget again once it is visible.
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_forget_in_use)


def _forget_in_use() -> None:
    global _in_use, _generation
    with _lock:
        _in_use = None
        _generation += 1


def load(model: ClassifierModel) -> CaseClassifier:
    """The fitted pipeline of `model`, checked against its checksum (kept in memory by
    checksum: a process unpickles each model once)."""
    with _lock:
        cached = _loaded.get(model.pk)
    if cached is not None and cached[0] == model.checksum:
        return cached[1]
    blob = ClassifierModel.objects.filter(pk=model.pk).values_list("blob", flat=True).first()
    blob = bytes(blob or b"")
    if hashlib.sha256(blob).hexdigest() != model.checksum:
        raise ModelIntegrityError(
            _("Model %(v)s does not match its checksum; it was not loaded.") % {"v": model.version}
        )
    classifier = pickle.loads(blob)  # noqa: S301 - our own bytes, checked against the checksum
    with _lock:
        _loaded[model.pk] = (model.checksum, classifier)
    return classifier


def active_model() -> ClassifierModel | None:
    """The model in use, without its blob, or None."""
    return (
        ClassifierModel.objects.defer("blob", "training_summary", "metrics")
        .filter(status=ModelStatus.ACTIVE)
        .first()
    )


def model_in_use() -> ClassifierModel | None:
    """The model in use (or None) as this process last read it, re-read at most every
    CLASSIFIER_CHECK_SECONDS: intake asks for every case, and mostly no model is active.
    Activation, rollback and label changes in this process are seen at once (they call
    _forget()); those made by another process within the setting's seconds."""
    global _in_use
    entry = _in_use
    if entry is not None and time.monotonic() - entry[1] < settings.CLASSIFIER_CHECK_SECONDS:
        return entry[0]
    with _lock:
        generation = _generation
    model = active_model()
    with _lock:
        if generation == _generation:
            _in_use = (model, time.monotonic())
    return model


# --- suggesting -----------------------------------------------------------------------------


@dataclass
class Suggested:
    """One suggestion: the model's label, the category it maps to (None if unmapped or not in
    the active taxonomy), the calibrated confidence and the words behind it."""

    label: str
    confidence: float
    words: list[str]
    category: object | None = None  # cases.Category

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "words": self.words,
            "category_id": self.category.pk if self.category else None,
            "category_code": self.category.code if self.category else "",
            "category_name": self.category.name if self.category else "",
            "category_is_leaf": self.is_leaf,
        }

    @property
    def is_leaf(self) -> bool:
        """Whether the category can be given to a case (the last level of the tree)."""
        return self.category is not None and not getattr(self.category, "has_children", False)


@dataclass
class Suggestions:
    model: ClassifierModel
    items: list[Suggested] = field(default_factory=list)

    @property
    def top(self) -> Suggested | None:
        return self.items[0] if self.items else None


def suggest(title: str, description: str) -> Suggestions | None:
    """The top suggestions of the active model for a text, or None when no model is active
    (or the text is empty)."""
    if not (title or "").strip() and not (description or "").strip():
        return None
    model = model_in_use()
    if model is None:
        return None
    classifier = load(model)
    predictions = classifier.suggest(title or "", description or "", k=SUGGESTIONS)
    categories = _categories(model, [p.label for p in predictions])
    return Suggestions(
        model=model,
        items=[
            Suggested(p.label, p.probability, p.words, categories.get(p.label)) for p in predictions
        ],
    )


def _categories(model: ClassifierModel, labels: list[str]) -> dict:
    from civicgrid.cases.models import Category

    codes = {label: model.label_map[label] for label in labels if label in model.label_map}
    if not codes:
        return {}
    from django.db.models import Exists, OuterRef

    found = {
        c.code: c
        for c in Category.objects.filter(
            taxonomy__is_active=True, is_active=True, code__in=set(codes.values())
        ).annotate(
            has_children=Exists(Category.objects.filter(parent=OuterRef("pk"), is_active=True))
        )
    }
    return {label: found[code] for label, code in codes.items() if code in found}


def auto_confidence() -> float | None:
    """The confidence at or above which intake may dispatch on the classifier's word, or None:
    the setting is 1.0 by default, which turns automatic dispatch by the classifier off."""
    threshold = float(getattr(settings, "CLASSIFIER_AUTO_CONFIDENCE", 1.0))
    return threshold if threshold < 1.0 else None


def record_suggestion(
    case, suggestions: Suggestions, *, filled: bool = False, auto_dispatched: bool = False
) -> Suggestion:
    """The suggestions made for `case` at intake and the category it was received with."""
    chosen = None if filled else case.category_id
    rank = next(
        (
            i + 1
            for i, item in enumerate(suggestions.items)
            if item.category is not None and item.category.pk == chosen
        ),
        None,
    )
    top = suggestions.top
    return Suggestion.objects.create(
        case=case,
        model=suggestions.model,
        top=[item.as_dict() for item in suggestions.items],
        suggested_category=top.category if top else None,
        chosen_category_id=case.category_id,
        chosen_rank=rank if chosen else None,
        accepted=rank == 1,
        confidence=top.confidence if top else 0.0,
        category_filled=filled,
        auto_dispatched=auto_dispatched,
        area_path=case.area_path,
        created_at=clock.now(),
    )
