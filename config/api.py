"""The one NinjaAPI, mounted at /api/v1. Each app contributes a router from its api.py."""

from ninja import NinjaAPI

from civicgrid.core.api import install_error_handlers, session_or_token

api = NinjaAPI(
    title="CivicGrid API",
    version="1",
    description="Grid registry, locator and (later) the request loop. "
    "Authenticate with a session (browser) or `Authorization: Bearer <token>`.",
    auth=session_or_token,
    urls_namespace="api",
)
install_error_handlers(api)

from civicgrid.accounts.api import router as accounts_router  # noqa: E402
from civicgrid.areas.api import router as areas_router  # noqa: E402
from civicgrid.cases.api import install_error_handlers as install_case_errors  # noqa: E402
from civicgrid.cases.api import public_router as cases_public_router  # noqa: E402
from civicgrid.cases.api import router as cases_router  # noqa: E402
from civicgrid.classifier.api import router as classifier_router  # noqa: E402
from civicgrid.core.api import router as core_router  # noqa: E402
from civicgrid.dashboards.api import router as dashboards_router  # noqa: E402
from civicgrid.insights.api import router as insights_router  # noqa: E402
from civicgrid.open311.api import router as open311_router  # noqa: E402
from civicgrid.registry.api import router as registry_router  # noqa: E402
from civicgrid.scoring.api import router as scoring_router  # noqa: E402

api.add_router("/", core_router)
api.add_router("/", accounts_router)
api.add_router("/", areas_router)
api.add_router("/", registry_router)
api.add_router("/", cases_router)
api.add_router("/", cases_public_router)
api.add_router("/", insights_router)
api.add_router("/", scoring_router)
api.add_router("/", dashboards_router)
api.add_router("/", open311_router)
api.add_router("/", classifier_router)
install_case_errors(api)
