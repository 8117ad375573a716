"""Connector and API token admin: secrets are shown once, right after they are generated.

The token's plaintext and a connector's webhook secret are rendered straight into the
response of the request that created them (never stored in a message, the session or a
log); the token's hash and the encrypted webhook secret are never displayed.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget, UnfoldAdminTextInputWidget

from connectors import services
from connectors.models import ApiToken, Connector, WebhookEvent
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


@admin.register(Connector)
class ConnectorAdmin(ModelAdmin):
    formfield_overrides = {
        **ModelAdmin.formfield_overrides,
        models.URLField: {
            **ModelAdmin.formfield_overrides.get(models.URLField, {}),
            "assume_scheme": "https",
        },
    }
    list_display = ["name", "slug", "kind", "transport", "enabled", "webhook_configured"]
    list_filter = ["kind", "transport", "enabled"]
    search_fields = ["name", "slug"]
    readonly_fields = ["webhook_secret_set_at", "created_at", "updated_at"]
    inlines = [ApiTokenInline]
    actions = ["generate_webhook_secret"]
    actions_detail = ["generate_webhook_secret_detail"]

    @display(description="Webhook secret", boolean=True)
    def webhook_configured(self, obj) -> bool:
        return bool(obj.webhook_secret_encrypted)

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
