from django.urls import path

from civicgrid.registry import views

app_name = "registry"
urlpatterns = [
    path("buildings/", views.building_list, name="building_list"),
    path("buildings/export.xlsx", views.building_export, name="building_export"),
    path("buildings/new/", views.building_new, name="building_new"),
    path("households/", views.household_list, name="household_list"),
    path("households/export.xlsx", views.household_export, name="household_export"),
    path("households/new/", views.household_new, name="household_new"),
    path("households/pick/", views.household_pick, name="household_pick"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/reveal/", views.household_reveal, name="household_reveal"),
    path("households/<int:pk>/residents/new/", views.resident_new, name="resident_new"),
    path("residents/", views.resident_list, name="resident_list"),
    path("residents/export.xlsx", views.resident_export, name="resident_export"),
    path("residents/<int:pk>/", views.resident_detail, name="resident_detail"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="resident_edit"),
    path("residents/<int:pk>/move/", views.resident_move, name="resident_move"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/<int:pk>/export.xlsx", views.coverage_export, name="coverage_export"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("grids/<int:pk>/staff/", views.grid_staff_assign, name="grid_staff_assign"),
    path(
        "grids/<int:pk>/staff/<int:assignment_pk>/remove/",
        views.grid_staff_remove,
        name="grid_staff_remove",
    ),
]
