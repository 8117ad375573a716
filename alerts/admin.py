"""Alerting admin: rules, notification channels (the webhook secret write-only, encrypted
at rest), silences (audited), and read-only alert instances, acknowledgements and the
notification outbox. The Alerts page (/alerts/) is where people act on alerts."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display
from unfold.widgets import UnfoldAdminPasswordWidget

from alerts.acknowledgements import alert_decide
from alerts.computations.grouping import matcher_problems
from alerts.display import condition_text
from alerts.models import (
    Acknowledgement,
    AlertInstance,
    AlertRule,
    AlertTransition,
    Notification,
    NotificationChannel,
    Silence,
)
from alerts.sources import scope_problem
from connectors.crypto import encrypt

STATE_LABELS = {
    "normal": "success",
    "pending": "warning",
    "firing": "danger",
    "resolved": "success",
    "no_data": "info",
    "error": "danger",
}
SEVERITY_LABELS = {"info": "info", "warning": "warning", "critical": "danger"}


def _https_urls() -> dict:
    # URLs typed without a scheme are taken as https (as in the connectors admin).
    overrides = ModelAdmin.formfield_overrides
    return {
        **overrides,
        models.URLField: {**overrides.get(models.URLField, {}), "assume_scheme": "https"},
    }


def _formfield(db_field, **kwargs):
    # The class definition's own callback (the admin passes its overrides when it builds the
    # form): a URL without a scheme is https.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class HistoryAdmin(SimpleHistoryAdmin, ModelAdmin):
    """Every change kept with who made it (django-simple-history)."""


class BuiltinFilter(admin.SimpleListFilter):
    title = "origin"
    parameter_name = "builtin"

    def lookups(self, request, model_admin):
        return [("yes", "Built-in"), ("no", "Added here")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(builtin_key__isnull=False)
        if self.value() == "no":
            return queryset.filter(builtin_key__isnull=True)
        return queryset


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        # The admin's fieldsets choose what is shown; read-only ones are left out by it.
        exclude: list[str] = []

    def clean(self):
        cleaned = super().clean()
        metric, scope = cleaned.get("metric"), cleaned.get("scope")
        if metric and scope:
            problem = scope_problem(metric, scope)
            if problem:
                self.add_error("scope", problem)
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(HistoryAdmin):
    form = AlertRuleForm
    list_display = [
        "name",
        "metric",
        "scope",
        "condition",
        "severity_badge",
        "enabled",
        "builtin",
        "last_error",
    ]
    list_filter = ["enabled", "severity", "metric", "scope", BuiltinFilter]
    list_filter_submit = True
    search_fields = ["name", "description"]
    filter_horizontal = ["recipient_groups", "recipient_users", "channels"]
    readonly_fields = [
        "builtin_key",
        "next_evaluation_at",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "description", "enabled", "builtin_key"]}),
        (
            "What it watches",
            {
                "fields": [
                    "metric",
                    "scope",
                    "scope_filter",
                    "comparator",
                    "threshold",
                    "recovery_threshold",
                    "severity",
                    "labels",
                ]
            },
        ),
        (
            "Evaluation",
            {
                "fields": [
                    "evaluation_interval_seconds",
                    "pending_evaluations",
                    "no_data_action",
                    "error_action",
                    "next_evaluation_at",
                    "last_error",
                    "last_error_at",
                ]
            },
        ),
        (
            "Notifications",
            {
                "fields": [
                    "channels",
                    "recipient_groups",
                    "recipient_users",
                    "group_by",
                    "group_wait_seconds",
                    "group_interval_seconds",
                    "repeat_interval_seconds",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @display(description="Fires when")
    def condition(self, obj: AlertRule) -> str:
        return condition_text(obj)

    @display(description="Severity", label=SEVERITY_LABELS)
    def severity_badge(self, obj: AlertRule) -> str:
        return obj.severity

    @display(description="Built-in", boolean=True)
    def builtin(self, obj: AlertRule) -> bool:
        return bool(obj.builtin_key)


class NotificationChannelForm(forms.ModelForm):
    """The channel with its signing secret as a write-only field, stored encrypted."""

    secret = forms.CharField(
        label="Signing secret",
        required=False,
        strip=True,
        # Never rendered back, not even after a validation error.
        widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only (webhooks): the HMAC-SHA256 key the receiver verifies "
        "X-FinHub-Signature with. Leave blank to keep the stored one.",
    )
    clear_secret = forms.BooleanField(label="Remove the stored secret", required=False)

    class Meta:
        model = NotificationChannel
        formfield_callback = _formfield
        fields = ["name", "kind", "url", "payload_format", "enabled", "max_attempts"]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == NotificationChannel.Kind.WEBHOOK and not cleaned.get("url"):
            self.add_error("url", "A webhook channel needs the URL it posts to.")
        has_secret = bool(cleaned.get("secret")) or (
            bool(self.instance.secret_encrypted) and not cleaned.get("clear_secret")
        )
        if kind == NotificationChannel.Kind.WEBHOOK and not has_secret:
            self.add_error("secret", "A webhook is signed: enter its secret.")
        return cleaned

    def save(self, commit: bool = True):
        channel = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            channel.secret_encrypted = encrypt(self.cleaned_data["secret"])
        elif self.cleaned_data.get("clear_secret"):
            channel.secret_encrypted = ""
        if commit:
            channel.save()
        return channel


@admin.register(NotificationChannel)
class NotificationChannelAdmin(HistoryAdmin):
    form = NotificationChannelForm
    formfield_overrides = _https_urls()
    list_display = [
        "name",
        "kind",
        "payload_format",
        "enabled",
        "status",
        "last_error",
        "last_failure_at",
        "last_success_at",
    ]
    list_filter = ["kind", "enabled", "failing"]
    search_fields = ["name", "url"]
    readonly_fields = [
        "secret_status",
        "failing",
        "last_error",
        "last_failure_at",
        "last_success_at",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "url", "payload_format", "max_attempts"]}),
        ("Signing secret", {"fields": ["secret_status", "secret", "clear_secret"]}),
        (
            "Delivery status",
            {
                "fields": [
                    "failing",
                    "last_error",
                    "last_failure_at",
                    "last_success_at",
                    "created_at",
                ]
            },
        ),
    ]

    @display(description="Status", label={"Failing": "danger", "OK": "success"})
    def status(self, obj: NotificationChannel) -> str:
        return "Failing" if obj.failing else "OK"

    @display(description="Secret", boolean=True)
    def secret_status(self, obj: NotificationChannel) -> bool:
        return bool(obj.secret_encrypted)


class SilenceForm(forms.ModelForm):
    class Meta:
        model = Silence
        fields = ["matchers", "starts_at", "ends_at", "comment"]
        help_texts = {
            "matchers": 'A list of {"label": …, "op": "=" | "!=" | "=~", "value": …}; every '
            "one must match the alert's labels (alertname, rule, severity, metric, scope, "
            "scope_key, item and the rule's own labels).",
        }

    def clean_matchers(self):
        matchers = self.cleaned_data.get("matchers")
        problems = matcher_problems(matchers)
        if problems:
            raise ValidationError(problems)
        return matchers


@admin.register(Silence)
class SilenceAdmin(HistoryAdmin):
    form = SilenceForm
    list_display = ["comment", "matchers_text", "starts_at", "ends_at", "created_by"]
    list_filter = ["created_by"]
    search_fields = ["comment"]
    date_hierarchy = "ends_at"
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at"]

    @display(description="Matchers")
    def matchers_text(self, obj: Silence) -> str:
        return ", ".join(
            f"{m.get('label')} {m.get('op')} {m.get('value')}"
            for m in obj.matchers or []
            if isinstance(m, dict)
        )

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class TransitionInline(TabularInline):
    """The instance's state changes, newest first (written by the evaluation only)."""

    model = AlertTransition
    fields = ["at", "from_state", "to_state", "value", "tick", "note"]
    readonly_fields = fields
    ordering = ["-at", "-id"]
    extra = 0
    max_num = 0
    can_delete = False
    hide_title = True
    per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ModelAdmin):
    """What the evaluation and the dispatcher record: viewed here, never edited."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertInstance)
class AlertInstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "rule",
        "scope_label",
        "state_badge",
        "value",
        "state_since",
        "last_evaluated_at",
    ]
    list_filter = ["state", "rule__severity", "rule"]
    list_filter_submit = True
    search_fields = ["scope_label", "scope_key", "rule__name"]
    list_select_related = ["rule"]
    inlines = [TransitionInline]

    @display(description="State", label=STATE_LABELS)
    def state_badge(self, obj: AlertInstance) -> str:
        return obj.state

    def view_on_site(self, obj: AlertInstance) -> str:
        return f"/alerts/{obj.pk}/"


class AcknowledgementForm(forms.ModelForm):
    decision = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="What was decided."
    )

    class Meta:
        model = Acknowledgement
        fields = ["decision"]


@admin.register(Acknowledgement)
class AcknowledgementAdmin(HistoryAdmin):
    """Acknowledgements are made on the Alerts page; here only the decision is edited."""

    form = AcknowledgementForm

    list_display = ["instance", "owner", "expires_at", "decided", "decided_at", "created_by"]
    list_filter = ["owner"]
    search_fields = ["note", "decision", "instance__rule__name", "instance__scope_label"]
    list_select_related = ["instance__rule", "owner", "created_by"]
    fields = [
        "instance",
        "owner",
        "note",
        "expires_at",
        "fired_at",
        "decision",
        "decided_at",
        "decided_by",
        "created_by",
        "created_at",
    ]
    readonly_fields = [f for f in fields if f != "decision"]

    @display(description="Decided", boolean=True)
    def decided(self, obj: Acknowledgement) -> bool:
        return obj.decided_at is not None

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        if "decision" in form.changed_data:
            alert_decide(obj, decision=obj.decision, by=request.user)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox: every message with its delivery status (a failure is kept with its error)."""

    list_display = [
        "created_at",
        "kind",
        "channel",
        "group",
        "status_badge",
        "attempts",
        "last_error",
        "sent_at",
    ]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["channel", "group__rule"]
    date_hierarchy = "created_at"

    @display(description="Status", label={"pending": "info", "sent": "success", "failed": "danger"})
    def status_badge(self, obj: Notification) -> str:
        return obj.status
