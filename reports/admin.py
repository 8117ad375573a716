"""Reports admin: packs with their reports, delivery schedules (saving one creates or updates
its beat task), and the read-only archive and delivery log. The reports themselves are
generated on the Reports pages (/reports/)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from reports import services
from reports.forms import PackItemForm, PackScheduleForm
from reports.models import ArchivedReport, PackItem, PackSchedule, ReportDelivery, ReportPack

STATUS_LABELS = {"sent": "success", "failed": "danger"}


class PackItemInline(TabularInline):
    model = PackItem
    form = PackItemForm
    fields = ["order", "report", "params"]
    ordering = ["order", "id"]
    extra = 0


@admin.register(ReportPack)
class ReportPackAdmin(ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PackItemInline]

    def view_on_site(self, obj: ReportPack) -> str:
        return reverse("reports:pack", args=[obj.slug])


@admin.register(PackSchedule)
class PackScheduleAdmin(ModelAdmin):
    form = PackScheduleForm
    list_display = [
        "name",
        "pack",
        "enabled",
        "crontab_text",
        "period",
        "formats",
        "method",
        "last_run_at",
        "last_error",
    ]
    list_filter = ["enabled", "pack", "method", "period"]
    list_select_related = ["pack"]
    search_fields = ["name"]
    filter_horizontal = ["recipient_groups", "recipient_users"]
    readonly_fields = ["periodic_task", "last_run_at", "last_error", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "pack", "enabled", "period"]}),
        ("What is sent", {"fields": ["formats", "method", "link_hours"]}),
        ("To whom", {"fields": ["recipient_groups", "recipient_users"]}),
        (
            "When (crontab, the scheduler's time zone)",
            {"fields": ["minute", "hour", "day_of_month", "day_of_week", "periodic_task"]},
        ),
        ("Last run", {"fields": ["last_run_at", "last_error", "created_at"]}),
    ]

    @display(description="Runs at (m h dom mon dow)")
    def crontab_text(self, obj: PackSchedule) -> str:
        return obj.crontab_text

    def save_model(self, request, obj, form, change) -> None:
        # The service saves the schedule and keeps its beat task in step.
        services.pack_schedule_save(schedule=obj)

    def delete_model(self, request, obj) -> None:
        services.pack_schedule_delete(schedule=obj)

    def delete_queryset(self, request, queryset) -> None:
        for schedule in queryset:
            services.pack_schedule_delete(schedule=schedule)


class ReadOnlyAdmin(ModelAdmin):
    """What generation and delivery record: viewed here, never edited."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + list(self.extra_readonly)

    extra_readonly: tuple[str, ...] = ()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ArchivedReport)
class ArchivedReportAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "format",
        "period_start",
        "period_end",
        "trigger",
        "generated_by",
        "generated_at",
        "size",
        "download",
    ]
    list_filter = ["format", "trigger", "pack"]
    list_select_related = ["generated_by", "pack"]
    search_fields = ["title", "report", "checksum"]
    date_hierarchy = "generated_at"
    exclude = ["file"]
    extra_readonly = ("download",)

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "file"]

    @display(description="File")
    def download(self, obj: ArchivedReport) -> str:
        url = reverse("reports:archive_download", args=[obj.pk])
        return format_html('<a href="{}">Download {}</a>', url, obj.format.upper())


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "sent_at",
        "status_badge",
        "schedule",
        "pack",
        "group",
        "user",
        "method",
        "trigger",
        "error",
    ]
    list_filter = ["status", "method", "trigger", "schedule"]
    list_select_related = ["schedule", "pack", "group", "user"]
    search_fields = ["recipients", "error"]
    date_hierarchy = "sent_at"
    extra_readonly = ("file_list",)

    @display(description="Status", label=STATUS_LABELS)
    def status_badge(self, obj: ReportDelivery) -> str:
        return obj.status

    @display(description="Files")
    def file_list(self, obj: ReportDelivery) -> str:
        return ", ".join(str(f) for f in obj.files.all()) or "—"
