"""The close pages' forms: open a close for a month, unlock a closed period."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from closing.models import CloseTemplate


class OpenCloseForm(forms.Form):
    """The month to close (``YYYY-MM``) and the template to copy (default: the default one)."""

    month = forms.CharField(
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text="A month that has ended, as YYYY-MM.",
    )
    template = forms.ModelChoiceField(queryset=CloseTemplate.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        field.queryset = CloseTemplate.objects.order_by("-is_default", "name")  # type: ignore[attr-defined]

    def clean_month(self) -> dt.date:
        text = self.cleaned_data["month"].strip()
        try:
            return dt.date.fromisoformat(f"{text}-01")
        except ValueError:
            raise ValidationError(f"“{text}” is not a month: write it as YYYY-MM.") from None


class UnlockForm(forms.Form):
    """Why the closed month is unlocked (required, kept in the audit trail)."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text="Kept with your name and the time in the lock history.",
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise ValidationError("Say why the period is unlocked.")
        return reason
