"""GeoReport v2 at /open311/v2/. The format is the path's suffix (.xml or .json); without
one the answer is XML, the specification's default."""

from django.urls import re_path

from civicgrid.open311 import views

app_name = "open311"
FMT = r"(?:\.(?P<fmt>xml|json))?$"
CODE = r"(?P<code>[^/]+?)"

urlpatterns = [
    re_path(r"^$", views.discovery, name="root"),
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(r"^services/" + CODE + FMT, views.service_definition, name="service"),
    # Older clients (the python `open311` 1.1 package) ask for the singular path.
    re_path(r"^service/" + CODE + FMT, views.service_definition, name="service-singular"),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<number>[^/]+?)" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token, name="token"),
    re_path(r"^.*$", views.not_found, name="not-found"),
]
