"""Admin for what the metrics engine stores: spend anomalies (read-only figures; dismiss)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.forms import ActionForm
from unfold.widgets import UnfoldAdminTextInputWidget

from metrics.anomalies import anomaly_dismiss, anomaly_lines_url
from metrics.models import SpendAnomaly


class DismissActionForm(ActionForm):
    """The action bar, plus the reason the "Dismiss" action records."""

    reason = forms.CharField(
        required=False,
        label="",
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": "Reason (for Dismiss)"}),
    )


@admin.register(SpendAnomaly)
class SpendAnomalyAdmin(ModelAdmin):
    """Detected anomalies: every figure read-only (the nightly detection writes them); the
    "Dismiss" action is the one change, and a dismissed anomaly stays dismissed."""

    action_form = DismissActionForm
    list_display = (
        "period_start",
        "kind",
        "label",
        "actual",
        "expected_range",
        "deviation",
        "score",
        "status_badge",
        "lines",
    )
    list_filter = ("kind", "status")
    list_filter_submit = True
    search_fields = ("label", "scope_key")
    date_hierarchy = "period_start"
    list_select_related = ("account", "dismissed_by")
    actions = ("dismiss",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description="Expected range")
    def expected_range(self, obj: SpendAnomaly) -> str:
        return f"{obj.low} … {obj.high} {obj.currency}"

    @display(description="Status", label={"open": "warning", "dismissed": "info"})
    def status_badge(self, obj: SpendAnomaly) -> str:
        return obj.status

    @display(description="Lines")
    def lines(self, obj: SpendAnomaly) -> str:
        url = anomaly_lines_url(obj)
        return format_html('<a href="{}">Lines</a>', url) if url else "—"

    @action(description="Dismiss selected anomalies", permissions=["change"])
    def dismiss(self, request, queryset):
        reason = str(request.POST.get("reason", "")).strip()
        reason = reason or f"dismissed in the admin by {request.user.get_username()}"
        count = 0
        for anomaly in queryset.filter(status=SpendAnomaly.Status.OPEN):
            anomaly_dismiss(anomaly, user=request.user, reason=reason)
            count += 1
        messages.info(request, f"{count} dismissed.")


# Budget scenarios extend the Budget admin (records'); registered on import.
from metrics import scenarios_admin  # noqa: E402, F401
