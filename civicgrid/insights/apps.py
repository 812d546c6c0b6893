import threading

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


def warm_up() -> None:
    """Load what topic mining and hotspot clustering need (seconds of imports and jieba's
    dictionary), so the first request that mines does not pay for it."""
    from civicgrid.insights import mining

    mining.warm_up()


class InsightsConfig(AppConfig):
    name = "civicgrid.insights"
    label = "insights"
    verbose_name = _("Insight")

    warming: threading.Thread | None = None

    def ready(self) -> None:
        if settings.WARM_UP:
            self.warming = threading.Thread(target=warm_up, name="civicgrid-warm-up", daemon=True)
            self.warming.start()
