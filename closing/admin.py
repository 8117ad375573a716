"""Close admin: templates with their tasks (edited here), closes with their tasks read-only
(the engine moves them), and actions to tick ready manual tasks or retry failed ones through
the same services as the close page."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from closing import services
from closing.models import Close, CloseTask, CloseTemplate, CloseTemplateTask

_TASK_FIELDS = (
    "order",
    "key",
    "name",
    "kind",
    "action",
    "owner_user",
    "owner_group",
    "due_working_day",
    "depends_on",
)


class CloseTemplateTaskInline(TabularInline):
    model = CloseTemplateTask
    fields = _TASK_FIELDS
    extra = 0

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # A task depends only on tasks of its own template.
        if db_field.name == "depends_on":
            template_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = CloseTemplateTask.objects.filter(template_id=template_id or 0)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(CloseTemplate)
class CloseTemplateAdmin(ModelAdmin):
    list_display = ("name", "is_default", "pack")
    filter_horizontal = ("recipient_groups", "recipient_users")
    inlines = [CloseTemplateTaskInline]


class CloseTaskInline(TabularInline):
    model = CloseTask
    fields = (
        "order",
        "name",
        "kind",
        "status",
        "due_date",
        "started_at",
        "finished_at",
        "done_by",
        "detail",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Close)
class CloseAdmin(ModelAdmin):
    list_display = ("month", "status", "template", "pack_delivered_at", "locked_at")
    list_filter = ("status",)
    readonly_fields = (
        "month",
        "template",
        "status",
        "created_by",
        "created_at",
        "finished_at",
        "pack_delivered_at",
        "locked_at",
    )
    inlines = [CloseTaskInline]

    def has_add_permission(self, request) -> bool:
        return False  # opened from the close page or ``close_open`` (copies the template)


@admin.register(CloseTask)
class CloseTaskAdmin(ModelAdmin):
    list_display = ("name", "close", "kind", "status", "due_date", "finished_at", "done_by")
    list_filter = ("status", "kind", "close")
    readonly_fields = [f.name for f in CloseTask._meta.fields] + ["depends_on"]
    actions = ["tick", "retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _each(self, request, queryset, service, verb: str) -> None:
        done = 0
        for task in queryset.select_related("close"):
            try:
                service(task=task, user=request.user)
                done += 1
            except ValidationError as exc:
                messages.warning(request, " ".join(exc.messages))
        if done:
            messages.success(request, f"{done} task(s) {verb}.")

    @action(description="Mark done (ready manual tasks)", permissions=["change"])
    def tick(self, request, queryset):
        self._each(request, queryset, services.close_task_complete, "marked done")

    @action(description="Retry (failed automated tasks)", permissions=["change"])
    def retry(self, request, queryset):
        self._each(request, queryset, services.close_task_retry, "queued again")
