from django.urls import path

from civicgrid.registry import views

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household_list"),
    path("households/export.xlsx", views.household_export, name="household_export"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/reveal/", views.household_reveal, name="household_reveal"),
    path("residents/", views.resident_list, name="resident_list"),
    path("residents/export.xlsx", views.resident_export, name="resident_export"),
    path("residents/<int:pk>/", views.resident_detail, name="resident_detail"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/<int:pk>/export.xlsx", views.coverage_export, name="coverage_export"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
]
