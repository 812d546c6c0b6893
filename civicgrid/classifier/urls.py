from django.urls import path

from civicgrid.classifier import views

app_name = "classifier"
urlpatterns = [
    path("", views.model_list, name="models"),
    path("models/<str:version>/activate/", views.activate, name="activate"),
    path("rollback/", views.rollback, name="rollback"),
    path("acceptance/", views.acceptance, name="acceptance"),
    path("suggest/", views.suggest, name="suggest"),
]
