from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from civicgrid.cases import urls as cases_urls
from config.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("civicgrid.core.urls")),
    path("areas/", include("civicgrid.areas.urls")),
    path("registry/", include("civicgrid.registry.urls")),
    path("cases/config/", include("civicgrid.cases.config_urls")),
    path("cases/", include("civicgrid.cases.urls")),
    path("insights/", include("civicgrid.insights.urls")),
    path("scoring/", include("civicgrid.scoring.urls")),
    path("dashboards/", include("civicgrid.dashboards.urls")),
    path("classifier/", include("civicgrid.classifier.urls")),
    path("public/", include((cases_urls.public_urlpatterns, "public"))),
    path("open311/v2/", include("civicgrid.open311.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
