"""Webhook events received: read-only (each one's id makes a redelivery a no-op)."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from connectors.models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(ModelAdmin):
    list_display = ["event_id", "connector", "type", "received_at", "batch_id"]
    list_filter = ["connector", "type"]
    search_fields = ["event_id"]
    readonly_fields = ["connector", "event_id", "type", "received_at", "batch_id", "result"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
