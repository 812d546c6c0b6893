from django.db import models
from django.utils.translation import gettext_lazy as _


class TopicStatus(models.TextChoices):
    """每月一题 stages. Only services.TOPIC_TRANSITIONS says which leads where."""

    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("In progress")
    SOLVED = "solved", _("Solved")
    DROPPED = "dropped", _("Dropped")


class TaskSource(models.TextChoices):
    """Where a proactive task (未诉先办) came from."""

    TOPIC = "topic", _("Monthly topic")
    HOTSPOT = "hotspot", _("Hotspot")


class HotspotKind(models.TextChoices):
    RISE = "rise", _("Weekly rise")
    CLUSTER = "cluster", _("Spatial cluster")
    REPEAT_CALLER = "repeat_caller", _("Repeat caller")
    REPEAT_ADDRESS = "repeat_address", _("Repeat address")
