"""Sync run history: read-only (the runs are the record of what happened)."""

import json

from django.contrib import admin
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from connectors.models import ReconciliationResult, SyncRun

from .base import ReadOnlyInline


class ReconciliationResultInline(ReadOnlyInline):
    model = ReconciliationResult
    ordering = ["matched", "entity", "month"]  # the buckets that differ first
    fields = [
        "entity",
        "month",
        "source_count",
        "finhub_count",
        "source_amount",
        "finhub_amount",
        "matched",
    ]


RUN_STATUS_LABEL_TYPES = {
    SyncRun.Status.SUCCEEDED: "success",
    SyncRun.Status.FAILED: "danger",
    SyncRun.Status.ABANDONED: "danger",
    SyncRun.Status.RUNNING: "warning",
    SyncRun.Status.QUEUED: "info",
    SyncRun.Status.SKIPPED: "info",
}

ROW_COUNTS = [
    "rows_read",
    "rows_created",
    "rows_updated",
    "rows_unchanged",
    "rows_rejected",
    "rows_deleted",
]


@admin.register(SyncRun)
class SyncRunAdmin(ModelAdmin):
    """Run history: read-only (the runs are the record of what happened)."""

    list_display = [
        "id",
        "connector",
        "trigger",
        "mode",
        "status_label",
        "started_at",
        "duration_display",
        "pages",
        *ROW_COUNTS,
        "reconciliation_display",
    ]
    list_filter = ["connector", "status", "trigger", "mode"]
    list_select_related = ["connector"]
    date_hierarchy = "created_at"
    inlines = [ReconciliationResultInline]
    _fields = [
        "connector",
        "trigger",
        "mode",
        "backfill_from",
        "entities",
        "status",
        "message",
        "resumed_from",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "duration_display",
        "pages",
        "requests",
        "request_failures",
        *ROW_COUNTS,
        "reconciliation_matched_pct",
        "entity_stats_display",
        "celery_task_id",
    ]

    @staticmethod
    def _may_see_traceback(request) -> bool:
        # Tracebacks can carry source URLs and internals: admins of connectors only.
        return request.user.is_superuser or request.user.has_perm("connectors.change_connector")

    def get_fields(self, request, obj=None):
        if self._may_see_traceback(request):
            return [*self._fields, "traceback"]
        return list(self._fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @display(description="Status", label=RUN_STATUS_LABEL_TYPES, ordering="status")
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Duration")
    def duration_display(self, obj) -> str:
        duration = obj.duration
        if duration is None:
            return "—"
        seconds = duration.total_seconds()
        if seconds < 60:
            return f"{seconds:.1f} s"
        minutes, seconds = divmod(int(seconds), 60)
        return f"{minutes} min {seconds:02d} s"

    @display(description="Reconciled", ordering="reconciliation_matched_pct")
    def reconciliation_display(self, obj) -> str:
        pct = obj.reconciliation_matched_pct
        return "—" if pct is None else f"{pct}%"

    @display(description="Per entity")
    def entity_stats_display(self, obj):
        if not obj.entity_stats:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(obj.entity_stats, indent=2, sort_keys=True))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
