"""The forms of the connectors admin: a connector with its write-only credentials and its
schedule, the backfill date, an API token's grants."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminPasswordWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from connectors import schedules_service
from connectors.credentials import CREDENTIAL_KEYS, CredentialsError, credentials_get
from connectors.models import ApiToken, Connector
from connectors.sync.mapping import mapping_validate
from records.ingestion.services import ENTITY_NAMES

# Every credential key any auth type uses, with its label: write-only form fields.
CREDENTIAL_LABELS = {
    "token": "Token",
    "username": "Username",
    "password": "Password",
    "api_key": "API key",
    "client_id": "Client id",
    "client_secret": "Client secret",
}


def _credential_field(key: str) -> forms.CharField:
    return forms.CharField(
        label=CREDENTIAL_LABELS[key],
        required=False,
        strip=True,
        # Never rendered back, not even after a validation error.
        widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave blank to keep the stored value.",
    )


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, so a mapping is readable and editable in the textarea."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


def _formfield(db_field, **kwargs):
    # The admin builds the form with its own callback; this one only covers the class
    # definition (URL fields without a scheme default to https, as in the admin).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class ConnectorForm(forms.ModelForm):
    """The connector, plus write-only credentials and the sync schedule (neither is a model
    field: credentials are stored encrypted, the schedule is a django-celery-beat task)."""

    credential_token = _credential_field("token")
    credential_username = _credential_field("username")
    credential_password = _credential_field("password")
    credential_api_key = _credential_field("api_key")
    credential_client_id = _credential_field("client_id")
    credential_client_secret = _credential_field("client_secret")

    schedule_kind = forms.ChoiceField(
        label="Schedule",
        choices=schedules_service.SCHEDULE_KINDS,
        initial=schedules_service.NONE,
        widget=UnfoldAdminSelectWidget,
    )
    schedule_every_minutes = forms.IntegerField(
        label="Every (minutes)",
        required=False,
        min_value=1,
        max_value=60 * 24 * 31,
        widget=UnfoldAdminIntegerFieldWidget,
        help_text="For 'Every N minutes'.",
    )
    schedule_crontab = forms.CharField(
        label="Crontab expression",
        required=False,
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text="For 'Crontab expression': minute hour day-of-month month day-of-week, "
        "e.g. '0 6 * * mon-fri' (6:00 on weekdays, in the server's time zone).",
    )

    class Meta:
        model = Connector
        formfield_callback = _formfield
        field_classes = {"sync_config": PrettyJSONField}
        fields = [
            "name",
            "slug",
            "kind",
            "transport",
            "enabled",
            "base_url",
            "pagination",
            "drop_path",
            "auth_type",
            "auth_header_name",
            "token_url",
            "stale_after_minutes",
            "sync_config",
            "reference_sources",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.credentials_to_store: dict | None = None
        if "reference_sources" in self.fields and self.instance.pk:
            field = self.fields["reference_sources"]
            field.queryset = field.queryset.exclude(pk=self.instance.pk)
        if self.instance.pk:
            current = schedules_service.connector_schedule(self.instance)
            self.initial.setdefault("schedule_kind", current.kind)
            self.initial.setdefault("schedule_every_minutes", current.every_minutes)
            self.initial.setdefault("schedule_crontab", current.crontab)

    def clean_sync_config(self):
        config = self.cleaned_data.get("sync_config")
        if config in (None, "", {}):
            return {}
        if not isinstance(config, dict):
            raise ValidationError('The sync configuration must be a JSON object {"entities": […]}.')
        errors = mapping_validate(config)
        if errors:
            raise ValidationError(list(errors))
        return config

    def clean(self):
        cleaned = super().clean()
        self._clean_source(cleaned)
        self._clean_credentials(cleaned)
        self._clean_schedule(cleaned)
        return cleaned

    def _clean_source(self, cleaned) -> None:
        transport = cleaned.get("transport")
        if transport == Connector.Transport.REST_PULL and not cleaned.get("base_url"):
            self.add_error("base_url", "A REST pull connector needs the source's base URL.")
        if transport == Connector.Transport.FILE_DROP and not cleaned.get("drop_path"):
            self.add_error("drop_path", "A file drop connector needs the folder files appear in.")
        auth_type = cleaned.get("auth_type")
        if auth_type == Connector.AuthType.OAUTH2 and not cleaned.get("token_url"):
            self.add_error("token_url", "OAuth2 client credentials need the token endpoint URL.")
        if auth_type == Connector.AuthType.API_KEY and not cleaned.get("auth_header_name"):
            self.add_error("auth_header_name", "Name the header the API key is sent in.")

    def _clean_credentials(self, cleaned) -> None:
        auth_type = cleaned.get("auth_type")
        if auth_type is None:
            return
        keys = CREDENTIAL_KEYS.get(auth_type, ())
        try:
            stored = credentials_get(self.instance) if self.instance.pk else {}
        except CredentialsError:
            stored = {}  # unreadable (e.g. the key changed): they must be entered again
        given = {key: cleaned.get(f"credential_{key}") for key in keys}
        given = {key: value for key, value in given.items() if value}
        merged = {key: given.get(key) or stored.get(key) for key in keys}
        missing = [key for key, value in merged.items() if not value]
        label = Connector.AuthType(auth_type).label
        for key in missing:
            self.add_error(f"credential_{key}", f"Required for {label} (none is stored yet).")
        if not missing and keys and merged != stored:
            self.credentials_to_store = merged

    def _clean_schedule(self, cleaned) -> None:
        kind = cleaned.get("schedule_kind")
        if kind == schedules_service.INTERVAL and not cleaned.get("schedule_every_minutes"):
            self.add_error("schedule_every_minutes", "Enter how many minutes between syncs.")
        if kind == schedules_service.CRONTAB:
            try:
                schedules_service.crontab_parse(cleaned.get("schedule_crontab") or "")
            except ValidationError as exc:
                self.add_error("schedule_crontab", exc)


class BackfillForm(forms.Form):
    backfill_from = forms.DateField(
        label="Backfill from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Records changed on or after this date are read again.",
    )

    def clean_backfill_from(self):
        value = self.cleaned_data["backfill_from"]
        if value > timezone.localdate():
            raise ValidationError("The date cannot be in the future.")
        return value


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
