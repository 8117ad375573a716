"""Connector, sync run and API token admin.

Secrets are write-only or shown once: a token's plaintext and a connector's webhook secret are
rendered straight into the response of the request that created them (never stored in a
message, the session or a log); the token's hash, the encrypted webhook secret and the
connector's source credentials are never displayed (the page says only when they were set).

Integration admins configure a connector here (source, auth, mapping, schedule) and run its
operations (test connection, sync now, full refresh, backfill, reset state, reprocess
rejected records, pause / resume). The admin only collects input: the work is done by
connectors.services, connectors.credentials and connectors.schedules_service.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_guid import get_guid
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminPasswordWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from connectors import schedules_service, selectors, services
from connectors.credentials import (
    CREDENTIAL_KEYS,
    CredentialsError,
    credentials_get,
    credentials_set,
)
from connectors.models import (
    ApiToken,
    Connector,
    ReconciliationResult,
    SyncRun,
    SyncState,
    WebhookEvent,
)
from metrics.ingestion.services import ENTITY_NAMES


def _secret_page(request, *, title, intro, secret, lost_hint, back_url, usage=""):
    context = {
        **admin.site.each_context(request),
        "title": title,
        "intro": intro,
        "secret": secret,
        "lost_hint": lost_hint,
        "back_url": back_url,
        "usage": usage,
    }
    response = TemplateResponse(request, "admin/connectors/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


class ApiTokenInline(TabularInline):
    """The connector's tokens, read-only (create and revoke them on the token admin)."""

    model = ApiToken
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["name", "prefix", "can_write", "can_read", "allowed_entities", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# --- connectors --------------------------------------------------------------------------

# Every credential key any auth type uses, with its label: write-only form fields.
CREDENTIAL_LABELS = {
    "token": "Token",
    "username": "Username",
    "password": "Password",
    "api_key": "API key",
    "client_id": "Client id",
    "client_secret": "Client secret",
}


def _credential_field(key: str) -> forms.CharField:
    return forms.CharField(
        label=CREDENTIAL_LABELS[key],
        required=False,
        strip=True,
        # Never rendered back, not even after a validation error.
        widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave blank to keep the stored value.",
    )


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, so a mapping is readable and editable in the textarea."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


def _formfield(db_field, **kwargs):
    # The admin builds the form with its own callback; this one only covers the class
    # definition (URL fields without a scheme default to https, as in the admin).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class ConnectorForm(forms.ModelForm):
    """The connector, plus write-only credentials and the sync schedule (neither is a model
    field: credentials are stored encrypted, the schedule is a django-celery-beat task)."""

    credential_token = _credential_field("token")
    credential_username = _credential_field("username")
    credential_password = _credential_field("password")
    credential_api_key = _credential_field("api_key")
    credential_client_id = _credential_field("client_id")
    credential_client_secret = _credential_field("client_secret")

    schedule_kind = forms.ChoiceField(
        label="Schedule",
        choices=schedules_service.SCHEDULE_KINDS,
        initial=schedules_service.NONE,
        widget=UnfoldAdminSelectWidget,
    )
    schedule_every_minutes = forms.IntegerField(
        label="Every (minutes)",
        required=False,
        min_value=1,
        max_value=60 * 24 * 31,
        widget=UnfoldAdminIntegerFieldWidget,
        help_text="For 'Every N minutes'.",
    )
    schedule_crontab = forms.CharField(
        label="Crontab expression",
        required=False,
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text="For 'Crontab expression': minute hour day-of-month month day-of-week, "
        "e.g. '0 6 * * mon-fri' (6:00 on weekdays, in the server's time zone).",
    )

    class Meta:
        model = Connector
        formfield_callback = _formfield
        field_classes = {"sync_config": PrettyJSONField}
        fields = [
            "name",
            "slug",
            "kind",
            "transport",
            "enabled",
            "base_url",
            "pagination",
            "drop_path",
            "auth_type",
            "auth_header_name",
            "token_url",
            "stale_after_minutes",
            "sync_config",
            "reference_sources",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.credentials_to_store: dict | None = None
        if "reference_sources" in self.fields and self.instance.pk:
            field = self.fields["reference_sources"]
            field.queryset = field.queryset.exclude(pk=self.instance.pk)
        if self.instance.pk:
            current = schedules_service.connector_schedule(self.instance)
            self.initial.setdefault("schedule_kind", current.kind)
            self.initial.setdefault("schedule_every_minutes", current.every_minutes)
            self.initial.setdefault("schedule_crontab", current.crontab)

    def clean_sync_config(self):
        config = self.cleaned_data.get("sync_config")
        if config in (None, "", {}):
            return {}
        if not isinstance(config, dict):
            raise ValidationError('The sync configuration must be a JSON object {"entities": […]}.')
        try:
            from connectors.sync.mapping import mapping_validate
        except ImportError:  # pragma: no cover - the sync package ships with connectors
            return config
        errors = mapping_validate(config)
        if errors:
            raise ValidationError(list(errors))
        return config

    def clean(self):
        cleaned = super().clean()
        self._clean_source(cleaned)
        self._clean_credentials(cleaned)
        self._clean_schedule(cleaned)
        return cleaned

    def _clean_source(self, cleaned) -> None:
        transport = cleaned.get("transport")
        if transport == Connector.Transport.REST_PULL and not cleaned.get("base_url"):
            self.add_error("base_url", "A REST pull connector needs the source's base URL.")
        if transport == Connector.Transport.FILE_DROP and not cleaned.get("drop_path"):
            self.add_error("drop_path", "A file drop connector needs the folder files appear in.")
        auth_type = cleaned.get("auth_type")
        if auth_type == Connector.AuthType.OAUTH2 and not cleaned.get("token_url"):
            self.add_error("token_url", "OAuth2 client credentials need the token endpoint URL.")
        if auth_type == Connector.AuthType.API_KEY and not cleaned.get("auth_header_name"):
            self.add_error("auth_header_name", "Name the header the API key is sent in.")

    def _clean_credentials(self, cleaned) -> None:
        auth_type = cleaned.get("auth_type")
        if auth_type is None:
            return
        keys = CREDENTIAL_KEYS.get(auth_type, ())
        try:
            stored = credentials_get(self.instance) if self.instance.pk else {}
        except CredentialsError:
            stored = {}  # unreadable (e.g. the key changed): they must be entered again
        given = {key: cleaned.get(f"credential_{key}") for key in keys}
        given = {key: value for key, value in given.items() if value}
        merged = {key: given.get(key) or stored.get(key) for key in keys}
        missing = [key for key, value in merged.items() if not value]
        label = Connector.AuthType(auth_type).label
        for key in missing:
            self.add_error(f"credential_{key}", f"Required for {label} (none is stored yet).")
        if not missing and keys and merged != stored:
            self.credentials_to_store = merged

    def _clean_schedule(self, cleaned) -> None:
        kind = cleaned.get("schedule_kind")
        if kind == schedules_service.INTERVAL and not cleaned.get("schedule_every_minutes"):
            self.add_error("schedule_every_minutes", "Enter how many minutes between syncs.")
        if kind == schedules_service.CRONTAB:
            try:
                schedules_service.crontab_parse(cleaned.get("schedule_crontab") or "")
            except ValidationError as exc:
                self.add_error("schedule_crontab", exc)


class BackfillForm(forms.Form):
    backfill_from = forms.DateField(
        label="Backfill from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Records changed on or after this date are read again.",
    )

    def clean_backfill_from(self):
        value = self.cleaned_data["backfill_from"]
        if value > timezone.localdate():
            raise ValidationError("The date cannot be in the future.")
        return value


class SyncStateInline(TabularInline):
    """Where each entity's incremental sync stands (reset it with the 'Reset state' action)."""

    model = SyncState
    extra = 0
    can_delete = False
    hide_title = True
    fields = ["entity", "cursor", "run", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


FRESHNESS_LABEL_TYPES = {
    selectors.FRESH: "success",
    selectors.STALE: "warning",
    selectors.FAILING: "danger",
    selectors.PAUSED: "danger",
    selectors.NEVER: "info",
}
OPERATIONS = [
    "test_connection",
    "sync_now",
    "full_refresh",
    "backfill",
    "reset_state",
    "reprocess_rejected",
    "pause",
    "resume",
]


@admin.register(Connector)
class ConnectorAdmin(ModelAdmin):
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
        "health_message",
        "last_success_at",
        "consecutive_failures",
        "paused_at",
        "pause_reason",
        "lock_status",
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
        (
            "Health",
            {
                "fields": [
                    "health_message",
                    "last_success_at",
                    "consecutive_failures",
                    "paused_at",
                    "pause_reason",
                    "lock_status",
                ]
            },
        ),
        ("Webhooks", {"fields": ["webhook_secret_set_at"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [SyncStateInline, ApiTokenInline]
    actions = ["generate_webhook_secret", *OPERATIONS]
    actions_detail = [
        "generate_webhook_secret_detail",
        *(f"{name}_detail" for name in OPERATIONS),
    ]

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
        secret = services.connector_webhook_secret_rotate(connector=connector)
        return _secret_page(
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

    # --- operations: each one a changelist action and a button on the change page --------
    #
    # _do_<name>(request, connector, form) runs the operation on one connector and reports
    # it with a message. Changelist actions run it for each selected connector; detail
    # actions ask for confirmation on GET and run on POST (state never changes on a GET).

    _OPERATION_TEXT = {
        "test_connection": (
            "Test connection",
            "Calls the source with the stored credentials and reports the latency.",
        ),
        "sync_now": ("Sync now", "Queues an incremental sync: what changed since the last one."),
        "full_refresh": (
            "Full refresh",
            "Queues a sync that reads everything again; records the source no longer has "
            "are soft-deleted.",
        ),
        "backfill": (
            "Backfill from date",
            "Queues a sync that reads again everything changed since the date.",
        ),
        "reset_state": (
            "Reset sync state",
            "Forgets where each entity's incremental sync stands: the next sync reads "
            "everything again (no record is deleted).",
        ),
        "reprocess_rejected": (
            "Reprocess rejected records",
            "Runs this connector's open rejected records through validation again.",
        ),
        "pause": ("Pause", "Stops scheduled syncs until the connector is resumed."),
        "resume": ("Resume", "Clears the pause and the failure count; schedules run again."),
    }
    # Operations that change data or state get a confirmation page from the list as well.
    _CONFIRM_IN_LIST = {"full_refresh", "backfill", "reset_state"}

    def _operation_form(self, name, data=None):
        return BackfillForm(data) if name == "backfill" else None

    def _run_operation(self, request, name, connector, form) -> None:
        getattr(self, f"_do_{name}")(request, connector, form)

    def _run_changelist(self, request, queryset, name):
        form = None
        if name in self._CONFIRM_IN_LIST:
            confirmed = request.POST.get("confirm") == "yes"
            form = self._operation_form(name, request.POST if confirmed else None)
            if not confirmed or (form is not None and not form.is_valid()):
                return self._confirm_page(request, name, queryset=queryset, form=form)
        for connector in queryset:
            self._run_operation(request, name, connector, form)
        return None

    def _run_detail(self, request, object_id, name):
        connector = self.get_object(request, object_id)
        if connector is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        form = None
        if request.method == "POST":
            form = self._operation_form(name, request.POST)
            if form is None or form.is_valid():
                self._run_operation(request, name, connector, form)
                return HttpResponseRedirect(
                    reverse("admin:connectors_connector_change", args=[connector.pk])
                )
        form = form or self._operation_form(name)
        return self._confirm_page(request, name, connector=connector, form=form)

    def _confirm_page(self, request, name, *, queryset=None, connector=None, form=None):
        title, text = self._OPERATION_TEXT[name]
        targets = [connector] if connector is not None else list(queryset)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{title}: {', '.join(str(c) for c in targets)}",
            "text": text,
            "button": title,
            "form": form,
            "action": name if queryset is not None else "",
            "selected": [c.pk for c in targets] if queryset is not None else [],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "back_url": (
                reverse("admin:connectors_connector_change", args=[connector.pk])
                if connector is not None
                else reverse("admin:connectors_connector_changelist")
            ),
        }
        return TemplateResponse(request, "admin/connectors/operation_confirm.html", context)

    def _queue(self, request, connector, *, mode, backfill_from=None) -> None:
        run = services.sync_request(
            connector=connector,
            trigger=SyncRun.Trigger.MANUAL,
            mode=mode,
            backfill_from=backfill_from,
            user=request.user,
        )
        label = SyncRun.Mode(mode).label.lower()
        since = f" from {backfill_from:%d %b %Y}" if backfill_from else ""
        self.message_user(
            request, f"{connector}: {label} sync{since} queued (run #{run.pk}).", messages.SUCCESS
        )

    def _do_test_connection(self, request, connector, form) -> None:
        result = services.connection_test(connector=connector)
        status = f"HTTP {result.status_code}, " if result.status_code else ""
        latency = f"{result.latency_ms:,.0f} ms" if result.latency_ms is not None else "no answer"
        if result.ok:
            text = f"{connector}: connection OK ({status}{latency}). {result.message}".strip()
            self.message_user(request, text, messages.SUCCESS)
        else:
            text = f"{connector}: connection failed ({status}{latency}): {result.message}"
            self.message_user(request, text, messages.ERROR)

    def _do_sync_now(self, request, connector, form) -> None:
        self._queue(request, connector, mode=SyncRun.Mode.INCREMENTAL)

    def _do_full_refresh(self, request, connector, form) -> None:
        self._queue(request, connector, mode=SyncRun.Mode.FULL_REFRESH)

    def _do_backfill(self, request, connector, form) -> None:
        self._queue(
            request,
            connector,
            mode=SyncRun.Mode.BACKFILL,
            backfill_from=form.cleaned_data["backfill_from"],
        )

    def _do_reset_state(self, request, connector, form) -> None:
        services.sync_state_reset(connector=connector)
        self.message_user(
            request,
            f"{connector}: sync state reset; the next sync reads everything again.",
            messages.SUCCESS,
        )

    def _do_reprocess_rejected(self, request, connector, form) -> None:
        from metrics.ingestion.services import Actor, rejected_reprocess
        from metrics.models import RejectedRecord

        ids = list(
            RejectedRecord.objects.filter(
                source=connector, status=RejectedRecord.Status.OPEN
            ).values_list("pk", flat=True)
        )
        if not ids:
            self.message_user(request, f"{connector}: no open rejected records.", messages.INFO)
            return
        actor = Actor(user=request.user, request_id=get_guid() or "", via="admin")
        result = rejected_reprocess(rejected_ids=ids, actor=actor)
        self.message_user(
            request,
            f"{connector}: {result.reprocessed:,} reprocessed, {result.still_rejected:,} still "
            f"rejected, {result.skipped:,} skipped (superseded or already resolved).",
            messages.SUCCESS if not result.still_rejected else messages.WARNING,
        )

    def _do_pause(self, request, connector, form) -> None:
        reason = f"paused by {request.user.get_username()} in the admin"
        if services.connector_pause(connector=connector, reason=reason):
            self.message_user(request, f"{connector} paused.", messages.SUCCESS)
        else:
            self.message_user(request, f"{connector} was already paused.", messages.INFO)

    def _do_resume(self, request, connector, form) -> None:
        if services.connector_resume(connector=connector):
            self.message_user(request, f"{connector} resumed.", messages.SUCCESS)
        else:
            self.message_user(request, f"{connector} was not paused.", messages.INFO)

    @action(description="Test connection", permissions=["change"])
    def test_connection(self, request, queryset):
        return self._run_changelist(request, queryset, "test_connection")

    @action(description="Sync now", permissions=["change"])
    def sync_now(self, request, queryset):
        return self._run_changelist(request, queryset, "sync_now")

    @action(description="Full refresh", permissions=["change"])
    def full_refresh(self, request, queryset):
        return self._run_changelist(request, queryset, "full_refresh")

    @action(description="Backfill from date…", permissions=["change"])
    def backfill(self, request, queryset):
        return self._run_changelist(request, queryset, "backfill")

    @action(description="Reset sync state", permissions=["change"])
    def reset_state(self, request, queryset):
        return self._run_changelist(request, queryset, "reset_state")

    @action(description="Reprocess rejected records", permissions=["change"])
    def reprocess_rejected(self, request, queryset):
        return self._run_changelist(request, queryset, "reprocess_rejected")

    @action(description="Pause", permissions=["change"])
    def pause(self, request, queryset):
        return self._run_changelist(request, queryset, "pause")

    @action(description="Resume", permissions=["change"])
    def resume(self, request, queryset):
        return self._run_changelist(request, queryset, "resume")

    @action(description="Test connection", permissions=["change"], url_path="test-connection")
    def test_connection_detail(self, request, object_id):
        return self._run_detail(request, object_id, "test_connection")

    @action(description="Sync now", permissions=["change"], url_path="sync-now")
    def sync_now_detail(self, request, object_id):
        return self._run_detail(request, object_id, "sync_now")

    @action(description="Full refresh", permissions=["change"], url_path="full-refresh")
    def full_refresh_detail(self, request, object_id):
        return self._run_detail(request, object_id, "full_refresh")

    @action(description="Backfill from date", permissions=["change"], url_path="backfill")
    def backfill_detail(self, request, object_id):
        return self._run_detail(request, object_id, "backfill")

    @action(description="Reset sync state", permissions=["change"], url_path="reset-state")
    def reset_state_detail(self, request, object_id):
        return self._run_detail(request, object_id, "reset_state")

    @action(
        description="Reprocess rejected records",
        permissions=["change"],
        url_path="reprocess-rejected",
    )
    def reprocess_rejected_detail(self, request, object_id):
        return self._run_detail(request, object_id, "reprocess_rejected")

    @action(description="Pause", permissions=["change"], url_path="pause")
    def pause_detail(self, request, object_id):
        return self._run_detail(request, object_id, "pause")

    @action(description="Resume", permissions=["change"], url_path="resume")
    def resume_detail(self, request, object_id):
        return self._run_detail(request, object_id, "resume")


# --- sync runs -----------------------------------------------------------------------------


class ReconciliationResultInline(TabularInline):
    model = ReconciliationResult
    extra = 0
    can_delete = False
    hide_title = True
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
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


RUN_STATUS_LABEL_TYPES = {
    SyncRun.Status.SUCCEEDED: "success",
    SyncRun.Status.FAILED: "danger",
    SyncRun.Status.ABANDONED: "danger",
    SyncRun.Status.RUNNING: "warning",
    SyncRun.Status.QUEUED: "info",
    SyncRun.Status.SKIPPED: "info",
}


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
        "rows_read",
        "rows_created",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
        "rows_deleted",
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
        "rows_read",
        "rows_created",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
        "rows_deleted",
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


class ApiTokenForm(forms.ModelForm):
    allowed_entities = forms.MultipleChoiceField(
        choices=[(name, name) for name in ENTITY_NAMES],
        required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
        help_text="The entities this token may push.",
    )
    scopes = forms.CharField(
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text="Other grants, separated by commas (e.g. roadmap.measurements).",
    )

    class Meta:
        model = ApiToken
        fields = ["connector", "name", "can_write", "can_read", "allowed_entities", "scopes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scopes"] = ", ".join(self.instance.scopes or [])

    def clean_scopes(self) -> list[str]:
        raw = self.cleaned_data.get("scopes") or ""
        return sorted({s.strip() for s in raw.split(",") if s.strip()})


@admin.register(ApiToken)
class ApiTokenAdmin(ModelAdmin):
    form = ApiTokenForm
    list_display = [
        "name",
        "connector",
        "prefix",
        "can_write",
        "can_read",
        "created_at",
        "last_used_at",
        "active",
    ]
    list_filter = ["connector", "can_write", "can_read"]
    search_fields = ["name", "prefix", "connector__name"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @display(description="Active", boolean=True)
    def active(self, obj) -> bool:
        return obj.revoked_at is None

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "connector"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = ["connector", "name", "can_write", "can_read", "allowed_entities", "scopes"]
        if obj is not None:
            fields += ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            # The plaintext lives only for this request: shown by response_add, never stored.
            request._api_token_plaintext = services.api_token_issue(token=obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "_api_token_plaintext", None)
        if plaintext is None:  # pragma: no cover - save_model always sets it on add
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(
            request,
            title=f"API token {obj.name} for {obj.connector}",
            intro="Send it as 'Authorization: Bearer <token>'. FinHub keeps only its hash.",
            secret=plaintext,
            lost_hint="revoke this token and create a new one.",
            back_url=reverse("admin:connectors_apitoken_change", args=[obj.pk]),
        )

    @action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.api_token_revoke(token=token)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


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
