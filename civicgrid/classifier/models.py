from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.classifier.choices import ModelStatus, TrainingSource
from civicgrid.core import clock
from civicgrid.core.scoping import ScopedQuerySet

USER = settings.AUTH_USER_MODEL


class ClassifierModel(models.Model):
    """One trained version of the category classifier, with its metrics and its fitted pipeline.

    The pipeline (scikit-learn objects fitted on this platform, never downloaded) is stored
    pickled in `blob` with its SHA-256 in `checksum`; loading checks the checksum first, so a
    damaged or swapped blob is refused instead of unpickled. `label_map` maps each training
    label to a category code of the taxonomy named in `taxonomy_version` (from platform cases
    the label is the code itself); a label without a code is suggested but cannot be chosen.
    """

    version = models.CharField(_("version"), max_length=32, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINED
    )
    source = models.CharField(_("training source"), max_length=16, choices=TrainingSource.choices)
    taxonomy_version = models.CharField(_("taxonomy version"), max_length=32, blank=True)
    labels = models.JSONField(_("labels"), default=list)
    label_map = models.JSONField(_("label to category code"), default=dict, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    training_summary = models.JSONField(_("training data summary"), default=dict, blank=True)
    options = models.JSONField(_("training options"), default=dict, blank=True)
    blob = models.BinaryField(_("fitted pipeline"), editable=False)
    checksum = models.CharField(_("SHA-256"), max_length=64, editable=False)
    size = models.PositiveIntegerField(_("size in bytes"), default=0, editable=False)
    created_by = models.ForeignKey(
        USER,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    # The model that was active when this one was activated: what a rollback returns to.
    previous = models.ForeignKey(
        "self",
        verbose_name=_("previous active model"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("classifier model")
        verbose_name_plural = _("classifier models")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="classifier_one_active_model",
            )
        ]

    def __str__(self) -> str:
        return self.version


class Suggestion(models.Model):
    """What the classifier suggested for one case at intake, and what the operator chose.

    `accepted` is true when the operator chose the top suggestion; `chosen_rank` says which
    of the three they chose (None: none of them, no category, or the category was filled in
    from the suggestion, see `category_filled`).
    """

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="suggestion"
    )
    model = models.ForeignKey(
        ClassifierModel,
        verbose_name=_("model"),
        on_delete=models.PROTECT,
        related_name="suggestions",
    )
    top = models.JSONField(_("suggestions"), default=list)
    suggested_category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("suggested category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    chosen_category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("chosen category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    chosen_rank = models.PositiveSmallIntegerField(_("rank of the choice"), null=True, blank=True)
    accepted = models.BooleanField(_("accepted"), default=False)
    confidence = models.FloatField(_("top confidence"), default=0.0)
    # The case came in without a category and took the confident top suggestion: not an
    # operator's choice, so not counted as accepted.
    category_filled = models.BooleanField(_("category from the suggestion"), default=False)
    auto_dispatched = models.BooleanField(_("dispatched automatically"), default=False)
    # The case's area path, copied at intake: acceptance statistics are read in the caller's
    # scope without joining every case.
    area_path = models.CharField(_("area path"), max_length=255, db_index=True)
    created_at = models.DateTimeField(_("created at"), default=clock.now, db_index=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field = "area_path"
    scope_capability = "cases.view"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("category suggestion")
        verbose_name_plural = _("category suggestions")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.suggested_category_id}"
