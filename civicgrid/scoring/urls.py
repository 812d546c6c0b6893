from django.urls import path

from civicgrid.scoring import views

app_name = "scoring"
urlpatterns = [
    path("", views.scorecard, name="scorecard"),
    path("export.xlsx", views.scorecard_xlsx, name="scorecard_xlsx"),
    path("publish/", views.publish, name="publish"),
    path("published/", views.published_list, name="published_list"),
    path("published/<int:pk>/", views.published, name="published"),
    path("published/<int:pk>/export.xlsx", views.published_xlsx, name="published_xlsx"),
    path("cases/", views.explain, name="explain"),
]
