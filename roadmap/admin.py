"""Roadmap admin: where project managers tick items, score risks and record measurements.

Declarative where possible; every status change goes through ``roadmap.services`` so the
completion stamp and the history entry name the user. Users without the change permission
(finance viewers) read everything and get 403 on any changelist POST.
"""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display

from finhub.core.spreadsheets import EXPORT_FORMATS
from roadmap import gates, selectors, services
from roadmap.models import (
    ChecklistItem,
    Measurement,
    Phase,
    PhaseGateOverride,
    Programme,
    Risk,
    SuccessMetric,
    WorkItem,
)
from roadmap.resources import ChecklistItemResource, RiskResource


def _https_urls(overrides: dict) -> dict:
    """Evidence links typed without a scheme are taken as https (Django 6's default)."""
    return {
        **overrides,
        models.URLField: {**overrides.get(models.URLField, {}), "assume_scheme": "https"},
    }


def history_value_text(field, value) -> object:
    """A value in the History page as people read it: a choice's label ("To do", not
    "todo"), "—" when empty (not "None"), times to the second in the local time zone."""
    if value is None or value == "":
        return "\u2014"
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return f"{selectors.plain_decimal(value):f}"
    return value


class RoadmapHistoryHelper(HistoricalRecordContextHelper):
    """History values readable ("To do → Done", "—", no microseconds); an empty foreign key
    is empty, not "Deleted user (pk=None)"."""

    def prepare_delta_change_value(self, change, value):
        if isinstance(value, DeletedObject) and value.pk is None:
            value = None
        else:
            value = super().prepare_delta_change_value(change, value)
        return history_value_text(self.model._meta.get_field(change.field), value)


class RoadmapAdmin(SimpleHistoryAdmin, ModelAdmin):
    """History on every object; no changelist POST (actions, in-place edits) without change."""

    formfield_overrides = _https_urls(ModelAdmin.formfield_overrides)
    # unfold's list with "—" for an empty "Changed by" / "Change reason", not "None".
    object_history_list_template = "roadmap/admin/object_history_list.html"

    def get_historical_record_context_helper(self, request, historical_record):
        return RoadmapHistoryHelper(self.model, historical_record)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)


class RoadmapImportExportAdmin(RoadmapAdmin, ImportExportModelAdmin):
    import_form_class = ImportForm
    export_form_class = ExportForm
    export_formats = EXPORT_FORMATS  # neutralise = + - @ tab CR, keep numbers as numbers

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        overdue = selectors.checklist_overdue_q(today=timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


@admin.register(Programme)
class ProgrammeAdmin(RoadmapAdmin):
    list_display = ("name", "key", "start_date")
    search_fields = ("name", "key")


class WorkItemInline(TabularInline):
    model = WorkItem
    fields = ("order", "key", "title", "owner", "description")
    extra = 0
    tab = True


class DeliverableInline(TabularInline):
    model = ChecklistItem
    verbose_name = "deliverable"
    verbose_name_plural = "deliverables (checklist)"
    fields = ("order", "key", "title", "owner", "due_date", "status", "evidence_url")
    formfield_overrides = _https_urls(TabularInline.formfield_overrides)
    extra = 0
    tab = True


GATE_STATE_LABELS = {
    "Met": "success",
    "Not met": "danger",
    "Not measured": "warning",
    "Stale": "warning",
}


def gate_evidence_html(gate: gates.Gate):
    """The gate's criteria as a list: state, title (linked to where to see it), evidence."""
    if not gate.criteria:
        return "No criteria: the phase requires no deliverable and owns no metric."
    rows = format_html_join(
        "",
        '<li data-key="{}" data-state="{}"><strong>{}</strong> · <a href="{}">{}</a>: {}{}</li>',
        (
            (
                c.key,
                c.state,
                c.state_label,
                c.url,
                c.title,
                c.evidence,
                format_html(' · <a href="{}">evidence</a>', c.evidence_url)
                if c.evidence_url
                else "",
            )
            for c in gate.criteria
        ),
    )
    verdict = "The gate holds." if gate.holds else f"{len(gate.unmet)} criterion/criteria unmet."
    return format_html('<p>{}</p><ul class="list-disc pl-5">{}</ul>', verdict, rows)


class PhaseCompleteForm(forms.Form):
    override_reason = forms.CharField(
        label="Override reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only when the gate does not hold: why the phase is complete anyway. "
        "Recorded with your name and the unmet criteria.",
    )


@admin.register(Phase)
class PhaseAdmin(RoadmapAdmin):
    list_display = ("__str__", "weeks", "dates", "progress", "blocked", "overdue", "status_label")
    list_select_related = ("programme",)
    list_filter = ("programme", "status")
    search_fields = ("name", "description")
    inlines = [WorkItemInline, DeliverableInline]
    filter_horizontal = ("gate_metrics",)
    readonly_fields = ("completed_at", "completed_by", "gate", "overrides")
    fieldsets = (
        (None, {"fields": ("programme", "number", "name", "description")}),
        ("Schedule", {"fields": ("start_week", "end_week", "status")}),
        (
            "Exit gate",
            {"fields": ("gate_requires_deliverables", "gate_metrics", "gate", "overrides")},
        ),
        ("Completion", {"fields": ("completed_by", "completed_at")}),
    )
    actions_detail = ["complete_detail", "reopen_detail"]

    def get_queryset(self, request):
        return selectors.phase_list_with_progress().select_related("completed_by")

    def get_readonly_fields(self, request, obj=None):
        # Complete only through "Mark complete" (the gate); a complete phase's status
        # changes only through "Reopen".
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status == Phase.Status.COMPLETE:
            fields += ("status",)
        return fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status":
            kwargs["choices"] = [
                (value, label)
                for value, label in Phase.Status.choices
                if value != Phase.Status.COMPLETE
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @display(
        description="Status",
        ordering="status",
        label={"Complete": "success", "In progress": "info", "Planned": "warning"},
    )
    def status_label(self, obj):
        return obj.get_status_display()

    @display(description="Gate evidence")
    def gate(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return gate_evidence_html(selectors.phase_gate(phase=obj))

    @display(description="Gate overrides")
    def overrides(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        rows = list(selectors.phase_gate_overrides(phase=obj))
        if not rows:
            return "None"
        return format_html_join(
            "",
            "<p>{} by {}: {} ({} unmet)</p>",
            (
                (
                    f"{timezone.localtime(o.at):%Y-%m-%d %H:%M}",
                    o.user or "—",
                    o.reason,
                    len(o.unmet),
                )
                for o in rows
            ),
        )

    def _change_url(self, phase) -> str:
        return reverse("admin:roadmap_phase_change", args=[phase.pk])

    @action(description="Mark complete", url_path="complete", permissions=["change"])
    def complete_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the gate and the button (with the override reason for those who may);
        POST: ``services.phase_complete`` — refused with the unmet criteria unless they hold
        or a permitted user overrides with a reason."""
        phase = self.get_object(request, object_id)
        if phase is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        can_override = request.user.has_perm(services.OVERRIDE_PERMISSION)
        form = PhaseCompleteForm(request.POST if request.method == "POST" else None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            # A reason from a user without the permission reaches the service, which
            # refuses it (403) rather than silently completing or ignoring it.
            reason = form.cleaned_data["override_reason"]
            try:
                phase = services.phase_complete(
                    phase=phase, user=request.user, override_reason=reason
                )
            except services.PhaseGateError as exc:
                errors = exc.messages
            else:
                overridden = phase.gate_overrides.filter(at=phase.completed_at).exists()
                text = f"{phase} marked complete" + (
                    " although its gate did not hold (override recorded)." if overridden else "."
                )
                self.message_user(request, text, messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(phase))
        gate = selectors.phase_gate(phase=phase)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Mark complete: {phase}",
            "phase": phase,
            "gate": gate,
            "gate_html": gate_evidence_html(gate),
            "form": form,
            "errors": errors,
            "can_override": can_override,
            "back_url": self._change_url(phase),
        }
        return TemplateResponse(request, "roadmap/admin/phase_complete.html", context)

    @action(description="Reopen", url_path="reopen", permissions=["change"])
    def reopen_detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Back to in progress (POST only; a GET asks first)."""
        phase = self.get_object(request, object_id)
        if phase is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Reopen: {phase}",
                "text": "Takes the phase back to in progress and clears its completion.",
                "button": "Reopen",
                "form": None,
                "back_url": self._change_url(phase),
            }
            return TemplateResponse(request, "admin/connectors/operation_confirm.html", context)
        try:
            services.phase_reopen(phase=phase, user=request.user)
        except services.PhaseGateError as exc:
            self.message_user(request, " ".join(exc.messages), messages.WARNING)
        else:
            self.message_user(request, f"{phase} reopened.", messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(phase))

    @display(description="Weeks", ordering="start_week")
    def weeks(self, obj):
        return f"{obj.start_week}-{obj.end_week}"

    @display(description="Dates")
    def dates(self, obj):
        return f"{obj.start_date:%d %b %Y} to {obj.end_date:%d %b %Y}"

    @display(description="Progress", ordering="items_done")
    def progress(self, obj):
        percent = selectors.progress_percent(done=obj.items_done, applicable=obj.items_applicable)
        if percent is None:
            return "n/a"
        return f"{percent}% ({obj.items_done}/{obj.items_applicable})"

    @display(description="Blocked", ordering="items_blocked")
    def blocked(self, obj):
        return obj.items_blocked

    @display(description="Overdue", ordering="items_overdue")
    def overdue(self, obj):
        return obj.items_overdue

    def save_formset(self, request, form, formset, change):
        if formset.model is not ChecklistItem:
            return super().save_formset(request, form, formset, change)
        items = formset.save(commit=False)
        for item in formset.deleted_objects:
            item.delete()
        for item in items:
            if item.pk is None:
                item.programme = form.instance.programme
                item.kind = ChecklistItem.Kind.DELIVERABLE
            services.checklist_item_save(item=item, user=request.user)
        formset.save_m2m()
        return None


@admin.register(PhaseGateOverride)
class PhaseGateOverrideAdmin(ModelAdmin):
    """The audit of overridden gates: read only, for everyone who may view it."""

    list_display = ("phase", "at", "user", "reason", "unmet_count")
    list_filter = ("phase",)
    list_select_related = ("phase", "user")
    readonly_fields = ("phase", "user", "at", "reason", "unmet_criteria")
    fields = readonly_fields
    date_hierarchy = "at"

    @display(description="Unmet criteria")
    def unmet_count(self, obj):
        return len(obj.unmet)

    @display(description="Unmet criteria at the override")
    def unmet_criteria(self, obj):
        return format_html_join(
            "",
            "<li>{}: {} ({})</li>",
            ((c.get("title", ""), c.get("state", ""), c.get("evidence", "")) for c in obj.unmet),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkItem)
class WorkItemAdmin(RoadmapAdmin):
    list_display = ("title", "phase", "owner", "order")
    list_filter = ("phase", "owner")
    list_select_related = ("phase", "owner")
    search_fields = ("title", "key", "description")


@admin.register(ChecklistItem)
class ChecklistItemAdmin(RoadmapImportExportAdmin):
    resource_classes = [ChecklistItemResource]
    list_display = (
        "title",
        "phase_label",
        "owner",
        "due_date",
        "status",
        "attention",
        "evidence",
        "completed_by",
        "completed_at",
    )
    list_editable = ("status",)
    list_filter = ("phase", "status", "kind", "owner", "evidence_state", OverdueFilter)
    list_select_related = ("phase", "owner", "completed_by")
    search_fields = ("title", "key", "notes")
    readonly_fields = (
        "completed_by",
        "completed_at",
        "updated_at",
        "evidence_state",
        "evidence_found",
        "evidence_checked_at",
        "evidence_verified_since",
    )
    actions = ["mark_done", "mark_in_progress", "mark_blocked", "mark_todo", "check_evidence"]
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("programme", "kind", "phase", "key", "title", "order")}),
        ("Tracking", {"fields": ("owner", "due_date", "status", "evidence_url", "notes")}),
        (
            "Evidence checked by FinHub",
            {
                "fields": (
                    "evidence_check",
                    "evidence_state",
                    "evidence_found",
                    "evidence_checked_at",
                    "evidence_verified_since",
                )
            },
        ),
        ("Completion", {"fields": ("completed_by", "completed_at", "updated_at")}),
    )

    @display(description="Phase", ordering="phase__number")
    def phase_label(self, obj):
        return f"Phase {obj.phase.number}" if obj.phase else "Pre-implementation"

    @display(
        description="Attention",
        label={"Blocked": "danger", "Overdue": "warning", "Done": "success"},
    )
    def attention(self, obj):
        if obj.status == ChecklistItem.Status.BLOCKED:
            return "Blocked"
        if obj.is_overdue:
            return "Overdue"
        if obj.status == ChecklistItem.Status.DONE:
            return "Done"
        return None

    @display(
        description="Evidence",
        ordering="evidence_state",
        label={"Verified": "success", "Not verified yet": "warning"},
    )
    def evidence(self, obj):
        return obj.get_evidence_state_display() or None

    @display(description="Evidence found")
    def evidence_found(self, obj):
        if not obj.evidence_summary:
            return "—"
        if not obj.evidence_link:
            return obj.evidence_summary
        return format_html('{} <a href="{}">See it</a>', obj.evidence_summary, obj.evidence_link)

    def save_model(self, request, obj, form, change):
        services.checklist_item_save(item=obj, user=request.user)

    @admin.action(description="Check the evidence of every item now", permissions=["change"])
    def check_evidence(self, request, queryset):
        # Every item at once (one read, one write): the selection only starts it.
        result = services.checklist_evidence_refresh_now()
        done = f"; marked done: {', '.join(result.completed)}" if result.completed else ""
        self.message_user(
            request,
            f"Evidence checked for {result.checked} item(s), {result.verified} verified{done}.",
            messages.SUCCESS,
        )

    def _set_status(self, request, queryset, status):
        changed = services.checklist_items_status_set(
            items=queryset, status=status, user=request.user
        )
        label = ChecklistItem.Status(status).label
        self.message_user(request, f"{changed} item(s) marked {label.lower()}.", messages.SUCCESS)

    @admin.action(description="Mark selected items done", permissions=["change"])
    def mark_done(self, request, queryset):
        self._set_status(request, queryset, ChecklistItem.Status.DONE)

    @admin.action(description="Mark selected items in progress", permissions=["change"])
    def mark_in_progress(self, request, queryset):
        self._set_status(request, queryset, ChecklistItem.Status.IN_PROGRESS)

    @admin.action(description="Mark selected items blocked", permissions=["change"])
    def mark_blocked(self, request, queryset):
        self._set_status(request, queryset, ChecklistItem.Status.BLOCKED)

    @admin.action(description="Mark selected items to do", permissions=["change"])
    def mark_todo(self, request, queryset):
        self._set_status(request, queryset, ChecklistItem.Status.TODO)


@admin.register(Risk)
class RiskAdmin(RoadmapImportExportAdmin):
    resource_classes = [RiskResource]
    list_display = (
        "title",
        "category",
        "likelihood",
        "impact",
        "score_label",
        "owner",
        "status",
        "review_date",
    )
    list_filter = ("category", "status", "owner")
    list_select_related = ("owner",)
    search_fields = ("title", "key", "description", "mitigation")
    ordering = ("-score", "title")
    readonly_fields = ("score", "updated_at")
    fields = (
        "programme",
        "key",
        "title",
        "category",
        "description",
        ("likelihood", "impact", "score"),
        "owner",
        "status",
        "review_date",
        "mitigation",
        "updated_at",
    )

    @display(
        description="Score",
        ordering="score",
        label={"critical": "danger", "high": "warning", "medium": "info", "low": "success"},
    )
    def score_label(self, obj):
        return selectors.risk_band(obj.score), f"{obj.score}"


class MeasurementInline(TabularInline):
    model = Measurement
    fields = ("measured_at", "value", "period", "source", "note", "recorded_by")
    readonly_fields = ("recorded_by",)
    extra = 0
    ordering = ("-measured_at", "-pk")
    show_change_link = True


@admin.register(SuccessMetric)
class SuccessMetricAdmin(RoadmapAdmin):
    list_display = (
        "name",
        "key",
        "group",
        "target",
        "baseline",
        "cadence",
        "latest_value",
        "state",
    )
    list_filter = ("group", "programme")
    search_fields = ("name", "key", "description")
    inlines = [MeasurementInline]

    def get_queryset(self, request):
        latest = Measurement.objects.filter(metric=OuterRef("pk")).order_by("-measured_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(latest_value=Subquery(latest.values("value")[:1]))
        )

    @display(description="Target")
    def target(self, obj):
        return selectors.metric_target_text(obj)

    @display(description="Latest", ordering="latest_value")
    def latest_value(self, obj):
        if obj.latest_value is None:
            return None
        return selectors.metric_value_text(obj.latest_value, unit=obj.unit)

    @display(description="Status", label={"Met": "success", "Not met": "danger"})
    def state(self, obj):
        if obj.latest_value is None:
            return "Not measured"
        return "Met" if obj.is_met(obj.latest_value) else "Not met"

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.instance.pk is None and inline_form.has_changed():
                inline_form.instance.recorded_by = request.user
        return super().save_formset(request, form, formset, change)


@admin.register(Measurement)
class MeasurementAdmin(RoadmapAdmin):
    list_display = ("metric", "value", "period", "measured_at", "source", "recorded_by")
    list_filter = ("metric", "source")
    list_select_related = ("metric", "recorded_by")
    search_fields = ("metric__key", "metric__name", "note")
    date_hierarchy = "measured_at"
    readonly_fields = ("recorded_by", "confirmed_at", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
