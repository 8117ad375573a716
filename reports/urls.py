"""The reports pages, mounted at /reports/ (finhub/urls.py) in the ``reports`` namespace;
packs and schedules are edited in the admin."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_index, name="index"),
    path("archive/", views.archive_list, name="archive"),
    path("archive/<int:archived_id>/download/", views.archive_download, name="archive_download"),
    path("links/<str:token>/", views.signed_download, name="signed_download"),
    path("schedules/", views.schedule_list, name="schedules"),
    path("packs/<slug:slug>/", views.pack_detail, name="pack"),
    path("<slug:key>/", views.report_detail, name="report"),
    path("<slug:key>/download/", views.report_download, name="download"),
]
