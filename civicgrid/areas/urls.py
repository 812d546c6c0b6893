from django.urls import path

from civicgrid.areas import views

app_name = "areas"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("locate/", views.locate, name="locate"),
    path("grids.geojson", views.grids_geojson, name="grids_geojson"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/children/", views.children, name="children"),
    path("<int:pk>/change/<slug:kind>/", views.change, name="change"),
    path("<int:pk>/grids.geojson", views.grids_geojson, name="area_grids_geojson"),
]
