"""Shared pieces of the connectors admin: the page that shows a secret once, and the
read-only inlines."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from unfold.admin import TabularInline


class ReadOnlyInline(TabularInline):
    """Rows shown beside their parent for the record: none is added, changed or deleted here."""

    extra = 0
    can_delete = False
    hide_title = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def secret_page(
    request: HttpRequest,
    *,
    title: str,
    intro: str,
    secret: str,
    lost_hint: str,
    back_url: str,
    usage: str = "",
) -> TemplateResponse:
    """Show a secret this once: rendered into this response only, never cached."""
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
