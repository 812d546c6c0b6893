from django.urls import path

from civicgrid.cases.views import console, imports, inbox_messages, intake, public, whistles

app_name = "cases"
urlpatterns = [
    path("", console.queue, name="queue"),
    path("new/", intake.intake_form, name="intake"),
    path("patrol/", intake.patrol_form, name="patrol"),
    path("lookup/categories/", intake.categories, name="categories"),
    path("lookup/addresses/", intake.addresses, name="addresses"),
    path("lookup/where/", intake.locate, name="locate"),
    path("dispatch/", console.bulk_dispatch, name="bulk_dispatch"),
    path("import/", imports.import_cases, name="import"),
    path("inbox/", console.inbox, name="inbox"),
    path("callbacks/", console.callbacks, name="callbacks"),
    path("supervision/", console.supervision, name="supervision"),
    path("<int:pk>/", console.detail, name="detail"),
    path("<int:pk>/received/", intake.received, name="received"),
    path("<int:pk>/print/", console.work_order, name="print"),
    path("<int:pk>/duplicates/", console.duplicate_candidates, name="duplicates"),
    path("<int:pk>/act/<slug:action>/", console.act, name="act"),
    path("<int:pk>/photos/<int:attachment_id>/", console.attachment, name="attachment"),
    path("extensions/<int:pk>/decide/", console.decide_extension, name="decide_extension"),
    path("whistles/", whistles.whistle_list, name="whistles"),
    path("whistles/new/", whistles.whistle_new, name="whistle_new"),
    path("whistles/<int:pk>/", whistles.whistle_detail, name="whistle"),
    path("whistles/<int:pk>/close/", whistles.whistle_close, name="whistle_close"),
    path("summonses/<int:pk>/report-in/", whistles.report_in, name="report_in"),
    path("notifications/", inbox_messages.notification_list, name="notifications"),
    path("notifications/badge/", inbox_messages.badge, name="notifications_badge"),
    path("notifications/read/", inbox_messages.mark_all_read, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", inbox_messages.mark_read, name="notification_read"),
]

# Mounted at /public/ under the namespace "public": no login.
public_urlpatterns = [
    path("", public.board, name="board"),
    path("report/", public.report, name="report"),
    path("report/done/", public.submitted, name="submitted"),
    path("track/", public.track, name="track"),
    path("track/rate/", public.rate, name="rate"),
    path("categories/", public.categories, name="categories"),
    path("where/", public.locate, name="locate"),
]
