"""The Alerts page's forms: the history filters and the actions on one alert."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.models import AlertRule, Severity, State
from alerts.selectors import HistoryFilters, rule_choices

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
DEFAULT_ACK_HOURS = 4
DEFAULT_SILENCE_HOURS = 24
# One matcher per line: label = value, label != value, label =~ regular expression.
MATCHER_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|=)\s*(.*?)\s*$")


def _local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime(DATETIME_INPUT)


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input, read in the server's time zone; must lie ahead."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT)
    input_formats = [DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def validate(self, value):
        super().validate(value)
        if value and value <= timezone.now():
            raise ValidationError("Pick a time in the future.")


class HistoryFilterForm(forms.Form):
    """The history list's filters, read from the query string (all optional)."""

    state = forms.ChoiceField(
        required=False, choices=[("", "Any state"), *State.choices], label="Became"
    )
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    rule = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Rule")
    metric = forms.ChoiceField(
        required=False, choices=[("", "Any metric"), *AlertRule.Metric.choices]
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", "Any rule"), *rule_choices()]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filters(self) -> HistoryFilters:
        data = self.cleaned_data
        return HistoryFilters(
            state=data.get("state") or "",
            severity=data.get("severity") or "",
            rule_id=data.get("rule"),
            metric=data.get("metric") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


class AcknowledgeForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, label="Owner")  # type: ignore[arg-type]
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = LocalDateTimeField(
        label="Until", help_text="Notifications pause until then; still firing, it is sent again."
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner"].queryset = users
        if user is not None:
            self.fields["owner"].initial = user.pk
        self.fields["expires_at"].initial = _local_input(
            timezone.now() + dt.timedelta(hours=DEFAULT_ACK_HOURS)
        )


class DecisionForm(forms.Form):
    acknowledgement = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Decision",
        help_text="What was decided (kept with the time from firing to decision).",
    )


def matchers_text(labels: dict) -> str:
    """The alert's labels as matcher lines (``label = value``), the silence form's default."""
    return "\n".join(f"{key} = {value}" for key, value in sorted((labels or {}).items()))


def matchers_parse(text: str) -> list[dict]:
    """Matcher lines -> ``[{"label", "op", "value"}]``; a ValidationError names a bad line."""
    matchers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = MATCHER_LINE.match(line)
        if match is None:
            raise ValidationError(
                f"Line {number} ({line.strip()!r}) is not 'label = value', 'label != value' "
                "or 'label =~ regular expression'."
            )
        label, op, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        matchers.append({"label": label, "op": op, "value": value})
    if not matchers:
        raise ValidationError("Give at least one matcher.")
    return matchers


class SilenceForm(forms.Form):
    matchers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One per line: label = value, label != value, label =~ regular expression. "
        "Every line must match. Remove lines to silence more alerts.",
    )
    ends_at = LocalDateTimeField(label="Until")
    comment = forms.CharField(max_length=500, help_text="Why it is silenced.")

    def __init__(self, *args, labels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["matchers"].initial = matchers_text(labels or {})
        self.fields["ends_at"].initial = _local_input(
            timezone.now() + dt.timedelta(hours=DEFAULT_SILENCE_HOURS)
        )

    def clean_matchers(self) -> list[dict]:
        return matchers_parse(self.cleaned_data["matchers"])


class ResolveForm(forms.Form):
    note = forms.CharField(
        max_length=500, help_text="Why it is resolved by hand (kept with the transition)."
    )
