"""The connector admin: configuration, health columns, the webhook secret and the
operations (operations.py)."""

from django.contrib import admin, messages
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from connectors import schedules_service, selectors
from connectors.credentials import credentials_set
from connectors.models import Connector, SyncState
from connectors.services import connector_webhook_secret_rotate

from .base import ReadOnlyInline, secret_page
from .forms import CREDENTIAL_LABELS, ConnectorForm
from .operations import DETAIL_ACTIONS, LIST_ACTIONS, OperationsMixin
from .tokens import ApiTokenInline


class SyncStateInline(ReadOnlyInline):
    """Where each entity's incremental sync stands (reset it with the 'Reset state' action)."""

    model = SyncState
    fields = ["entity", "cursor", "run", "updated_at"]


FRESHNESS_LABEL_TYPES = {
    selectors.FRESH: "success",
    selectors.STALE: "warning",
    selectors.FAILING: "danger",
    selectors.PAUSED: "danger",
    selectors.NEVER: "info",
}

# Read-only: what the syncs and the circuit breaker recorded.
HEALTH_FIELDS = [
    "health_message",
    "last_success_at",
    "consecutive_failures",
    "paused_at",
    "pause_reason",
    "lock_status",
]


@admin.register(Connector)
class ConnectorAdmin(OperationsMixin, ModelAdmin):
    form = ConnectorForm
    formfield_overrides = {
        **ModelAdmin.formfield_overrides,
        models.URLField: {
            **ModelAdmin.formfield_overrides.get(models.URLField, {}),
            "assume_scheme": "https",
        },
    }
    list_display = [
        "name",
        "kind",
        "transport",
        "health_status",
        "last_good_sync",
        "consecutive_failures",
        "schedule",
        "enabled",
        "webhook_configured",
    ]
    list_filter = ["kind", "transport", "enabled"]
    list_select_related = ["periodic_task__interval", "periodic_task__crontab"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["reference_sources"]
    readonly_fields = [
        "credentials_status",
        *HEALTH_FIELDS,
        "webhook_secret_set_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "transport", "enabled"]}),
        ("Source", {"fields": ["base_url", "pagination", "drop_path"]}),
        (
            "Authentication",
            {
                "fields": [
                    "auth_type",
                    "auth_header_name",
                    "token_url",
                    "credentials_status",
                    *(f"credential_{key}" for key in CREDENTIAL_LABELS),
                ],
                "description": "Fill in only the credentials of the chosen auth type "
                "(bearer: token; basic: username and password; API key: API key; OAuth2: "
                "client id and secret). They are stored encrypted and never shown again.",
            },
        ),
        (
            "Schedule",
            {
                "fields": [
                    "schedule_kind",
                    "schedule_every_minutes",
                    "schedule_crontab",
                    "stale_after_minutes",
                ],
                "description": "Beat picks up a changed schedule without a restart. Stale "
                "after 0 minutes means twice the interval, or a day for crontab schedules.",
            },
        ),
        ("Mapping", {"fields": ["sync_config", "reference_sources"]}),
        ("Health", {"fields": HEALTH_FIELDS}),
        ("Webhooks", {"fields": ["webhook_secret_set_at"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [SyncStateInline, ApiTokenInline]
    actions = ["generate_webhook_secret", *LIST_ACTIONS]
    actions_detail = ["generate_webhook_secret_detail", *DETAIL_ACTIONS]

    # Form-only fields (write-only credentials, schedule inputs): shown to those who may
    # change the connector; the others see the schedule as text.
    _FORM_ONLY = {
        *(f"credential_{key}" for key in CREDENTIAL_LABELS),
        "schedule_kind",
        "schedule_every_minutes",
        "schedule_crontab",
    }

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        result = []
        for title, options in fieldsets:
            fields = [f for f in options["fields"] if f not in self._FORM_ONLY]
            if title == "Schedule":
                fields.insert(0, "schedule")
            result.append((title, {**options, "fields": fields, "description": ""}))
        return result

    # --- columns and read-only fields ----------------------------------------------------

    @display(description="Status", label=FRESHNESS_LABEL_TYPES)
    def health_status(self, obj):
        if obj.transport == Connector.Transport.PUSH_ONLY:
            return None
        freshness = selectors.connector_freshness(obj, now=timezone.now())
        return freshness.status, freshness.status_label

    @display(description="Last good sync", ordering="last_success_at")
    def last_good_sync(self, obj) -> str:
        if obj.last_success_at is None:
            return "—"
        return selectors.time_ago(obj.last_success_at, timezone.now())

    @display(description="Schedule")
    def schedule(self, obj) -> str:
        return selectors.connector_schedule_label(obj)

    @display(description="Webhook secret", boolean=True)
    def webhook_configured(self, obj) -> bool:
        return bool(obj.webhook_secret_encrypted)

    @display(description="Credentials")
    def credentials_status(self, obj) -> str:
        if obj is None or obj.credentials_set_at is None:
            return "Not set"
        return f"Set on {timezone.localtime(obj.credentials_set_at):%d %b %Y %H:%M}"

    @display(description="Status")
    def health_message(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        return selectors.connector_freshness(obj, now=timezone.now()).message

    @display(description="Lock")
    def lock_status(self, obj) -> str:
        if obj is None or not obj.lock_run_id:
            return "Free"
        until = obj.lock_expires_at
        if until is None:
            return f"Run #{obj.lock_run_id}"
        state = "held until" if until > timezone.now() else "expired at"
        return f"Run #{obj.lock_run_id}, lease {state} {timezone.localtime(until):%d %b %H:%M:%S}"

    # --- saving --------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.credentials_to_store is not None:
            credentials_set(obj, form.credentials_to_store)
        schedules_service.connector_schedule_set(
            connector=obj,
            kind=form.cleaned_data["schedule_kind"],
            every_minutes=form.cleaned_data.get("schedule_every_minutes"),
            crontab=form.cleaned_data.get("schedule_crontab") or "",
        )

    def delete_model(self, request, obj):
        schedules_service.connector_schedule_delete(connector=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for connector in queryset.select_related("periodic_task"):
            schedules_service.connector_schedule_delete(connector=connector)
        super().delete_queryset(request, queryset)

    # --- webhook secret ------------------------------------------------------------------

    def _show_webhook_secret(self, request, connector):
        secret = connector_webhook_secret_rotate(connector=connector)
        return secret_page(
            request,
            title=f"Webhook secret for {connector}",
            intro="Configure the sender to sign each delivery with this secret (HMAC-SHA256 "
            "over '<unix time>.<raw body>', header X-FinHub-Signature: t=…,v1=…) and to post "
            f"to /api/v1/webhooks/{connector.slug}/. The previous secret no longer verifies.",
            secret=secret,
            lost_hint="generate a new secret (the old one stops working).",
            back_url=reverse("admin:connectors_connector_change", args=[connector.pk]),
        )

    @action(description="Generate a new webhook secret", permissions=["change"])
    def generate_webhook_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one connector to generate its secret.", messages.ERROR
            )
            return None
        return self._show_webhook_secret(request, queryset.get())

    @action(description="Generate a new webhook secret", permissions=["change"])
    def generate_webhook_secret_detail(self, request, object_id):
        if request.method != "POST":
            return TemplateResponse(
                request,
                "admin/connectors/confirm_post.html",
                {
                    **admin.site.each_context(request),
                    "title": "Generate a new webhook secret?",
                    "text": "The current secret, if any, stops verifying deliveries at once.",
                },
            )
        return self._show_webhook_secret(request, Connector.objects.get(pk=object_id))
