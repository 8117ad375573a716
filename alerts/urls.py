"""The Alerts pages, mounted at /alerts/ (finhub/urls.py) in the ``alerts`` namespace; the
rules, channels and silences are edited in the admin."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:instance_id>/", views.alert_detail, name="detail"),
    path("<int:instance_id>/acknowledge/", views.alert_acknowledge_view, name="acknowledge"),
    path("<int:instance_id>/decide/", views.alert_decide_view, name="decide"),
    path("<int:instance_id>/silence/", views.alert_silence_view, name="silence"),
    path("<int:instance_id>/resolve/", views.alert_resolve_view, name="resolve"),
]
