from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    """Where a classifier model is in its life: only the one ACTIVE model is ever used."""

    TRAINED = "trained", _("trained")
    ACTIVE = "active", _("active")
    RETIRED = "retired", _("retired")


class TrainingSource(models.TextChoices):
    CSV = "csv", _("CSV file")
    CASES = "cases", _("closed cases")
