from django.urls import path

from civicgrid.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("data/", views.data, name="data"),
    path("insight/", views.insight, name="insight"),
]
