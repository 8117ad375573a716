"""API tokens: created here (the plaintext shown once), revoked, never shown again."""

from django.contrib import admin, messages
from django.urls import reverse
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from connectors.models import ApiToken
from connectors.services import api_token_issue, api_token_revoke

from .base import secret_page
from .forms import ApiTokenForm


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
            request._api_token_plaintext = api_token_issue(token=obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "_api_token_plaintext", None)
        if plaintext is None:  # pragma: no cover - save_model always sets it on add
            return super().response_add(request, obj, post_url_continue)
        return secret_page(
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
            api_token_revoke(token=token)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
