"""Forms of the reports pages and admin: the report page's parameter picker (the dashboards'
period picker plus the report's own parameters), the archive filters and the admin forms of
pack items and schedules.

Parameters are validated by reports.building (the dashboards' own parsing and messages);
these forms only offer the choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms

from dashboards.filters import Filters, filters_from_params
from dashboards.pages.marketing import MODEL_LABELS
from finhub.core.calendar import Period
from records.models import Budget
from reports.building import ReportParams
from reports.definitions import FILTER_PARAMETERS, PARAMETER_LABELS, REPORTS, report_choices
from reports.models import ArchivedReport, PackItem, PackSchedule, ReportPack


@dataclass
class PickerState:
    """What templates/dashboards/_picker.html reads as ``dash``: the period, the filters
    with their options and the selected values; no hidden page parameters."""

    period: Period
    filters: Filters
    params: dict = field(default_factory=dict)


def _budget_options() -> list[tuple[str, str]]:
    budgets = Budget.objects.order_by("-fiscal_year", "name", "version").values_list(
        "pk", "name", "fiscal_year", "version"
    )
    return [
        (str(pk), f"{name} (FY{year}, version {version})") for pk, name, year, version in budgets
    ]


def report_picker(*, key: str, params: ReportParams) -> dict:
    """The picker context of report ``key``: ``dash`` (period and filters), ``picker_fields``
    (attribution model, budget version) and their names."""
    definition = REPORTS[key]
    names = [n for n in definition.parameters if n in FILTER_PARAMETERS]
    filters = filters_from_params(params.values, names)
    fields = []
    if "model" in definition.parameters:
        fields.append(
            {
                "name": "model",
                "label": PARAMETER_LABELS["model"],
                "options": [("", "Default model"), *MODEL_LABELS.items()],
                "selected": params.values.get("model", ""),
            }
        )
    if "budget" in definition.parameters:
        fields.append(
            {
                "name": "budget",
                "label": PARAMETER_LABELS["budget"],
                "options": [("", "Current budget"), *_budget_options()],
                "selected": params.values.get("budget", ""),
            }
        )
    return {
        "dash": PickerState(params.period, filters),
        "picker_fields": fields,
        "picker_field_names": [f["name"] for f in fields],
        "picker_legend": "Report options",
    }


class ArchiveFilterForm(forms.Form):
    """Narrow the archive to one pack, report or trigger."""

    pack = forms.ModelChoiceField(
        queryset=ReportPack.objects.order_by("name"), required=False, empty_label="All packs"
    )
    report = forms.ChoiceField(required=False)
    trigger = forms.ChoiceField(
        required=False, choices=[("", "Any trigger"), *ArchivedReport.Trigger.choices]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["report"].choices = [("", "Any report"), *report_choices()]


# --- Admin -----------------------------------------------------------------------------


class PackItemForm(forms.ModelForm):
    """A pack item with its report chosen from the definitions."""

    report = forms.ChoiceField(choices=report_choices)

    class Meta:
        model = PackItem
        fields = ["order", "report", "params"]


class PackScheduleForm(forms.ModelForm):
    class Meta:
        model = PackSchedule
        fields = [
            "name",
            "pack",
            "enabled",
            "period",
            "formats",
            "method",
            "link_hours",
            "recipient_groups",
            "recipient_users",
            "minute",
            "hour",
            "day_of_month",
            "day_of_week",
        ]
        help_texts = {
            "minute": "Crontab minute (0-59, */15, 0,30).",
            "hour": "Crontab hour (0-23), in the scheduler's time zone.",
            "day_of_month": "Crontab day of the month (1-31, * for every day).",
            "day_of_week": "Crontab day of the week (0-6 from Sunday, mon-fri, *).",
        }

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("recipient_groups") and not cleaned.get("recipient_users"):
            raise forms.ValidationError("Choose at least one recipient group or user.")
        return cleaned
