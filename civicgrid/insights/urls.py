from django.urls import path

from civicgrid.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.hotspots, name="hotspots"),
    path("mining/", views.mining, name="mining"),
    path("mining/<int:pk>/", views.run_detail, name="run"),
    path("topics/", views.topic_list, name="topics"),
    path("topics/new/", views.topic_new, name="topic_new"),
    path("topics/<int:pk>/", views.topic_detail, name="topic"),
    path("topics/<int:pk>/edit/", views.topic_edit, name="topic_edit"),
    path("topics/<int:pk>/status/", views.topic_status, name="topic_status"),
    path("topics/<int:pk>/cases/", views.topic_cases, name="topic_cases"),
    path("tasks/new/", views.task_new, name="task_new"),
]
