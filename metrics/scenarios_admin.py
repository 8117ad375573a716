"""Budget scenarios in the Budget admin: copy a version into a scenario, edit its drivers,
apply them (``metrics.scenarios``). Imported by ``metrics.admin``.

The Budget admin itself is records' (edits through the ingestion engine); this module
registers it again with the scenario additions, because records may not import metrics
(import-linter layers). A scenario's own fields are read-only: only its drivers change, and
saving them recomputes its lines.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminTextInputWidget

from metrics.scenarios import default_from_month, scenario_apply_drivers, scenario_create
from records import models as m
from records.admin import SourcedAdmin

RecordsBudgetAdmin = type(admin.site._registry[m.Budget])
admin.site.unregister(m.Budget)


class ScenarioDriverInline(TabularInline):
    model = m.ScenarioDriver
    fields = ("kind", "target", "percent", "from_month")
    extra = 1


class ScenarioNameForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        required=False,
        help_text='Empty: "<budget name> scenario <n>".',
        widget=UnfoldAdminTextInputWidget(),  # a plain input has no border under unfold
    )


@admin.register(m.Budget)
class BudgetAdmin(RecordsBudgetAdmin):
    """Budget versions and scenarios: a scenario is labelled as one everywhere."""

    list_display = (
        "name",
        "year_column",
        "version_column",
        "kind_badge",
        "is_current",
        "based_on",
        "source",
    )
    list_filter = ("kind", *RecordsBudgetAdmin.list_filter)
    list_select_related = (*RecordsBudgetAdmin.list_select_related, "based_on")
    actions = ("copy_into_scenario", "apply_drivers")

    @display(description="Fiscal year", ordering="fiscal_year")
    def year_column(self, obj) -> str:
        return str(obj.fiscal_year)  # a year, not a number: no thousands separator

    @display(description="Version")
    def version_column(self, obj) -> str:
        return obj.version_label

    @display(description="Kind", label={"Scenario": "warning", "Plan": "info"})
    def kind_badge(self, obj) -> str:
        return obj.get_kind_display()

    # --- a scenario: read-only fields, editable drivers ------------------------------------

    def get_inlines(self, request, obj):
        return [ScenarioDriverInline] if obj is not None and obj.is_scenario else []

    def get_fields(self, request, obj=None):
        if obj is not None and obj.is_scenario:
            return ("name", "version_column", "year_column", "based_on", "created_by", "source")
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_scenario:
            return self.get_fields(request, obj)
        return super().get_readonly_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and obj.is_scenario:
            # Not the engine's form: ingestion refuses scenarios, and nothing here is edited.
            kwargs["form"] = forms.ModelForm
            kwargs["fields"] = ()
            return super(SourcedAdmin, self).get_form(request, obj, change, **kwargs)
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj, form, change):
        if obj.is_scenario:
            return  # its fields are read-only; the drivers are saved with the inline
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if form.instance.is_scenario:
            lines = scenario_apply_drivers(form.instance)
            messages.info(request, f"Drivers applied: {lines} scenario lines recomputed.")

    # --- actions -----------------------------------------------------------------------------

    @action(description="Copy into a scenario", permissions=["add"])
    def copy_into_scenario(self, request, queryset):
        plans = [budget for budget in queryset if not budget.is_scenario]
        if not plans:
            messages.warning(request, "Choose budget versions: a scenario is not copied.")
            return None
        form = ScenarioNameForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/connectors/operation_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": "Copy into a scenario: " + ", ".join(str(b) for b in plans),
                    "text": "Each version is copied, line by line, into a new scenario. A "
                    "scenario is never the current budget: budget vs actual uses it only "
                    "when it is chosen.",
                    "button": "Copy into a scenario",
                    "form": form,
                    "action": "copy_into_scenario",
                    "selected": [b.pk for b in plans],
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "back_url": reverse("admin:records_budget_changelist"),
                },
            )
        name = form.cleaned_data["name"]
        for base in plans:
            scenario = scenario_create(
                base_budget=base,
                name=f"{name} ({base})" if name and len(plans) > 1 else name,
                user=request.user,
            )
            messages.success(
                request,
                f"{scenario} created from {base}. Add drivers on its page; they apply from "
                f"{default_from_month():%B %Y} unless a month is set.",
            )
        return None

    @action(description="Apply drivers", permissions=["change"])
    def apply_drivers(self, request, queryset):
        scenarios = [budget for budget in queryset if budget.is_scenario]
        for scenario in scenarios:
            try:
                lines = scenario_apply_drivers(scenario)
            except ValueError as exc:
                messages.error(request, str(exc))
                continue
            messages.info(request, f"{scenario}: {lines} lines recomputed.")
        if not scenarios:
            messages.warning(request, "Only scenarios have drivers.")
