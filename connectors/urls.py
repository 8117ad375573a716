"""Connector pages (the REST API lives in connectors/api.py under /api/v1/)."""

from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("health/", views.health, name="health"),
]
