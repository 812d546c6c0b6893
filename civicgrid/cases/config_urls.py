from django.urls import path

from civicgrid.cases import config_views as views

app_name = "cases_config"
urlpatterns = [
    path("", views.categories, name="index"),
    path("categories/", views.categories, name="categories"),
    path("categories/import/", views.category_import, name="category_import"),
    path("taxonomies/<int:pk>/activate/", views.taxonomy_activate, name="taxonomy_activate"),
    path("units/", views.unit_list, name="units"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("dispatch/", views.dispatch_rules, name="dispatch"),
    path("dispatch/<int:pk>/remove/", views.dispatch_remove, name="dispatch_remove"),
    path("policies/", views.policies, name="policies"),
    path("policies/<int:pk>/activate/", views.policy_activate, name="policy_activate"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/<int:pk>/remove/", views.calendar_remove, name="calendar_remove"),
]
