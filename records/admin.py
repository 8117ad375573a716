"""Admin for the canonical financial data, ingestion batches and rejected records.

Canonical rows are edited through the ingestion engine: the change form validates with the
same rules as the API (``validate_records``) and saving calls ``ingest_records`` with the
admin user as the actor, so an admin edit is a batch like any other (who, when, what).
File imports go through the same engine (records/resources.py).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django_guid import get_guid
from import_export.admin import ImportExportModelAdmin
from import_export.forms import ConfirmImportForm as BaseConfirmImportForm
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm
from unfold.contrib.import_export.forms import ImportForm as UnfoldImportForm
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldBooleanWidget

from connectors.models import Connector
from records import models as m
from records.ingestion.entities import ENTITY_BY_MODEL, EntitySpec
from records.ingestion.services import (
    Actor,
    IngestRequestError,
    ingest_records,
    records_delete,
    rejected_dismiss,
    rejected_reprocess,
)
from records.ingestion.upsert import pending_q
from records.ingestion.validation import validate_records
from records.resources import EXPORT_FORMATS, IMPORT_FORMATS, IMPORT_MAX_BYTES, resource_for

# --- import forms: which source the file comes from, and what to do with invalid rows -------


class ImportForm(UnfoldImportForm):
    source = forms.ModelChoiceField(
        Connector.objects.all(),
        widget=UnfoldAdminSelectWidget,
        help_text="The system the file comes from.",
    )
    keep_invalid = forms.BooleanField(
        required=False,
        widget=UnfoldBooleanWidget,
        label="Import the valid rows and keep invalid ones as rejected records",
        help_text="Unticked: the file is imported only if every row is valid.",
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {IMPORT_MAX_BYTES:,}."
            )
        return upload


class ConfirmImportForm(BaseConfirmImportForm):
    source = forms.ModelChoiceField(Connector.objects.all(), widget=forms.HiddenInput())
    keep_invalid = forms.BooleanField(required=False, widget=forms.HiddenInput())


# --- edits through the engine ------------------------------------------------------------------


def _form_field_name(spec: EntitySpec, name: str) -> str:
    """The form field an engine error belongs to."""
    if name == "updated_at":
        return "source_updated_at"
    f = spec.field_map.get(name)
    if f is None:
        return name
    return f"{f.name}_external_id" if f.kind == "ref" else f.attr


def record_from_form(spec: EntitySpec, data: dict, instance) -> dict:
    """The record the API would have received for this form's values."""
    record = {
        "external_id": data.get("external_id", instance.external_id),
        "updated_at": data.get("source_updated_at"),
    }
    for f in spec.fields:
        if f.kind == "ref":
            record[f.name] = data.get(f"{f.name}_external_id") or None
        elif f.kind == "currency":
            currency = data.get(f.attr)
            record[f.name] = currency.code if currency is not None else None
        else:
            value = data.get(f.attr)
            record[f.name] = value if value != "" else None
    return record


class EngineForm(forms.ModelForm):
    """Validates with the ingestion engine's rules (one code path for API, import, admin)."""

    spec: EntitySpec

    def clean(self):
        data = super().clean()
        source = data.get("source") or getattr(self.instance, "source", None)
        if source is None or self.errors:
            return data
        self.record = record_from_form(self.spec, data, self.instance)
        _, errors = validate_records(self.spec, [self.record], source=source)
        for error in errors:
            for name, msgs in error.errors.items():
                field = _form_field_name(self.spec, name)
                for msg in msgs:
                    self.add_error(field if field in self.fields else None, msg)
        return data


class PendingReferenceFilter(admin.SimpleListFilter):
    """Rows stored with a reference to a record not received yet (the ingest response's
    ``waiting``): any reference, or one named field; "none" lists the complete rows."""

    title = "waiting for a record"
    parameter_name = "pending"

    def lookups(self, request, model_admin):
        refs = [(f.name, f"its {f.name.replace('_', ' ')}") for f in model_admin.spec.refs]
        return [("any", "Any reference"), *refs, ("none", "Nothing")]

    def queryset(self, request, queryset):
        refs = [f.name for f in ENTITY_BY_MODEL[queryset.model].refs]
        value = self.value()
        if value in refs:
            return queryset.filter(pending_q(value))
        if value in ("any", "none"):
            waiting = reduce(or_, (pending_q(name) for name in refs))
            return queryset.filter(waiting) if value == "any" else queryset.exclude(waiting)
        return queryset


def waiting_for(spec: EntitySpec):
    """A list column naming each pending reference ("account ACC-4000"), read from the row's
    own columns (no query per row)."""

    @display(description="Waiting for")
    def column(obj) -> str:
        return ", ".join(
            f"{f.name} {getattr(obj, f'{f.name}_external_id')}"
            for f in spec.refs
            if getattr(obj, f"{f.name}_id") is None and getattr(obj, f"{f.name}_external_id")
        )

    return column


class SourcedAdmin(ModelAdmin, ImportExportModelAdmin):
    """Canonical records: list, filter, search; edits and imports through the engine."""

    import_form_class = ImportForm
    confirm_form_class = ConfirmImportForm
    export_form_class = ExportForm
    formats = EXPORT_FORMATS
    import_formats = IMPORT_FORMATS
    export_formats = EXPORT_FORMATS
    # Imports are recorded as IngestBatch rows (actor, counts, each row's last_batch), not as
    # one LogEntry per row.
    skip_admin_log = True
    list_filter_submit = True
    search_fields = ("external_id",)
    list_per_page = 50
    show_full_result_count = False  # millions of ledger lines: no COUNT(*) per page
    audit_fields = ("row_hash", "last_batch", "created_at", "updated_at")

    def get_resource_classes(self, request):
        return [resource_for(self.model)]

    def has_import_permission(self, request):
        # An import creates and changes rows: both permissions, like the add/change forms.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        data = getattr(form, "cleaned_data", None) or {}
        return {"source": data.get("source"), "keep_invalid": bool(data.get("keep_invalid"))}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["source"] = import_form.cleaned_data["source"].pk
            initial["keep_invalid"] = import_form.cleaned_data.get("keep_invalid", False)
        return initial

    @property
    def spec(self) -> EntitySpec:
        return ENTITY_BY_MODEL[self.model]

    def get_fields(self, request, obj=None):
        editable = ["source", "external_id", "source_updated_at"]
        for f in self.spec.fields:
            editable.append(f"{f.name}_external_id" if f.kind == "ref" else f.attr)
        resolved = [f.name for f in self.spec.refs]
        return editable + resolved + list(self.audit_fields)

    def get_readonly_fields(self, request, obj=None):
        fixed = ("source", "external_id") if obj is not None else ()
        return (*fixed, *(f.name for f in self.spec.refs), *self.audit_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = type("Form", (EngineForm,), {"spec": self.spec})
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        source = obj.source
        actor = Actor(user=request.user, request_id=get_guid() or "", via="admin")
        try:
            ingest_records(
                source=source,
                entity=self.spec.name,
                records=[form.record],
                actor=actor,
                atomic=True,
            )
        except IngestRequestError as exc:  # validated in the form; a race or a constraint
            messages.error(request, f"Not saved: {exc.message}")
            raise
        saved = self.model.objects.get(source=source, external_id=form.record["external_id"])
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        self.delete_queryset(request, self.model.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        actor = Actor(user=request.user, request_id=get_guid() or "", via="admin")
        records_delete(queryset=queryset, actor=actor)


def _register(model, *, list_display, list_filter=(), search=(), date_hierarchy=None):
    spec = ENTITY_BY_MODEL[model]
    if spec.refs:  # rows waiting for a record: a filter and a column naming what they wait for
        list_display = (*list_display, "waiting_for")
        list_filter = (*list_filter, PendingReferenceFilter)
    attrs = {
        "waiting_for": staticmethod(waiting_for(spec)),
        "list_display": list_display,
        "list_filter": ("source", *list_filter),
        "search_fields": ("external_id", *search),
        "date_hierarchy": date_hierarchy,
        "list_select_related": ("source", *(f.name for f in ENTITY_BY_MODEL[model].refs)),
    }
    admin_class = type(f"{model.__name__}Admin", (SourcedAdmin,), attrs)
    admin.site.register(model, admin_class)
    return admin_class


_register(
    m.FxRate,
    list_display=("date", "currency", "quote_currency", "rate", "source"),
    list_filter=("currency",),
    date_hierarchy="date",
)
_register(m.Department, list_display=("name", "code", "external_id", "source"), search=("name",))
_register(
    m.Account,
    list_display=("code", "name", "type", "is_sales_marketing", "source"),
    list_filter=("type", "is_sales_marketing"),
    search=("code", "name"),
)
_register(
    m.GLLine,
    list_display=(
        "posting_date",
        "account_external_id",
        "department_external_id",
        "amount",
        "currency",
        "description",
        "external_id",
        "source",
    ),
    list_filter=("currency", "account__type"),
    search=("description", "account_external_id", "initiative_external_id"),
    date_hierarchy="posting_date",
)
_register(
    m.Invoice,
    list_display=("issue_date", "number", "customer_external_id", "amount", "currency", "status"),
    list_filter=("status", "currency"),
    search=("number",),
    date_hierarchy="issue_date",
)
_register(
    m.Budget,
    list_display=("name", "fiscal_year", "version", "is_current", "source"),
    list_filter=("fiscal_year", "is_current"),
    search=("name",),
)
_register(
    m.BudgetLine,
    list_display=(
        "month",
        "budget_external_id",
        "account_external_id",
        "department_external_id",
        "amount",
        "currency",
    ),
    list_filter=("currency",),
    search=("account_external_id", "budget_external_id"),
    date_hierarchy="month",
)
_register(
    m.Channel,
    list_display=("name", "is_paid", "external_id", "source"),
    list_filter=("is_paid",),
    search=("name",),
)
_register(
    m.Campaign,
    list_display=(
        "name",
        "channel",
        "start_date",
        "end_date",
        "planned_budget",
        "currency",
        "owner",
    ),
    list_filter=("channel",),
    search=("name", "owner"),
    date_hierarchy="start_date",
)
_register(
    m.CampaignSpend,
    list_display=("date", "campaign", "amount", "currency", "source"),
    list_filter=("currency",),
    search=("campaign_external_id",),
    date_hierarchy="date",
)
_register(
    m.Contact,
    list_display=("name", "kind", "company", "external_id", "source"),
    list_filter=("kind",),
    search=("name", "company"),
)
_register(
    m.Touchpoint,
    list_display=("occurred_at", "type", "contact_external_id", "campaign_external_id", "source"),
    list_filter=("type",),
    search=("contact_external_id", "campaign_external_id"),
    date_hierarchy="occurred_at",
)
_register(m.SalesTeam, list_display=("name", "external_id", "source"), search=("name",))
_register(
    m.SalesRep,
    list_display=("name", "team", "active", "source"),
    list_filter=("active",),
    search=("name",),
)
_register(
    m.Quota,
    list_display=("rep", "period_start", "period_end", "amount", "currency"),
    date_hierarchy="period_start",
)
_register(
    m.Deal,
    list_display=("name", "status", "stage", "amount", "currency", "opened_at", "closed_at", "rep"),
    list_filter=("status",),
    search=("name", "stage"),
    date_hierarchy="opened_at",
)
_register(
    m.Customer,
    list_display=(
        "name",
        "segment",
        "cs_owner",
        "acquired_on",
        "acquisition_channel",
        "external_id",
        "source",
    ),
    list_filter=("segment", "acquisition_channel"),
    search=("name", "cs_owner"),
    date_hierarchy="acquired_on",
)
_register(
    m.SubscriptionEvent,
    list_display=("occurred_on", "customer", "type", "mrr_after", "currency"),
    list_filter=("type",),
    search=("customer_external_id",),
    date_hierarchy="occurred_on",
)
_register(
    m.Initiative,
    list_display=("name", "product", "owner", "start_date", "end_date", "department"),
    search=("name", "product", "owner"),
)
_register(
    m.InitiativeCost,
    list_display=("date", "initiative", "kind", "hours", "hourly_rate", "amount", "currency"),
    list_filter=("kind",),
    search=("initiative_external_id", "description"),
    date_hierarchy="date",
)
_register(
    m.InitiativeBenefit,
    list_display=("date", "initiative", "kind", "amount", "currency"),
    list_filter=("kind",),
    search=("initiative_external_id", "description"),
    date_hierarchy="date",
)


@admin.register(m.Currency)
class CurrencyAdmin(ModelAdmin):
    list_display = ("code", "name", "minor_units", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()


@admin.register(m.IngestBatch)
class IngestBatchAdmin(ModelAdmin):
    """Read-only audit trail: every write of canonical data, by whom and how."""

    list_display = (
        "id",
        "started_at",
        "source",
        "entity",
        "via",
        "actor",
        "request_id",
        "received",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "pending",
        "deleted",
    )
    list_filter = ("via", "entity", "source")
    search_fields = ("request_id",)
    date_hierarchy = "started_at"
    list_select_related = ("source", "user", "api_token")
    show_full_result_count = False

    @display(description="Actor")
    def actor(self, obj):
        return obj.actor_label

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.RejectedRecord)
class RejectedRecordAdmin(ModelAdmin):
    """Records that failed validation: inspect the reasons, reprocess or dismiss."""

    list_display = ("received_at", "entity", "external_id", "source", "status_badge", "reasons")
    list_filter = ("status", "entity", "source")
    search_fields = ("external_id",)
    date_hierarchy = "received_at"
    list_select_related = ("source",)
    readonly_fields = (
        "source",
        "entity",
        "external_id",
        "received_at",
        "status",
        "reasons",
        "payload_pretty",
        "batch",
        "resolved_at",
        "resolved_batch",
    )
    exclude = ("payload", "errors")
    actions = ("reprocess", "dismiss")

    def has_add_permission(self, request):
        return False

    @display(description="Status", label={"open": "warning", "reprocessed": "success"})
    def status_badge(self, obj):
        return obj.status

    @display(description="Reasons")
    def reasons(self, obj):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in (obj.errors or {}).items())

    @display(description="Payload")
    def payload_pretty(self, obj):
        import json

        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, default=str)
        )

    def _actor(self, request) -> Actor:
        return Actor(user=request.user, request_id=get_guid() or "", via="admin")

    @action(description="Reprocess selected rejected records", permissions=["change"])
    def reprocess(self, request, queryset):
        outcome = rejected_reprocess(
            rejected_ids=list(queryset.values_list("pk", flat=True)), actor=self._actor(request)
        )
        messages.info(
            request,
            f"{outcome.reprocessed} reprocessed, {outcome.still_rejected} still invalid, "
            f"{outcome.skipped} skipped (not open or superseded).",
        )

    @action(description="Dismiss selected rejected records", permissions=["change"])
    def dismiss(self, request, queryset):
        count = rejected_dismiss(
            rejected_ids=list(queryset.values_list("pk", flat=True)), actor=self._actor(request)
        )
        messages.info(request, f"{count} dismissed.")


# --- period locks: read-only here; locked and unlocked from the close page (audited) -----------


class ReadOnlyAdmin(ModelAdmin):
    """Audit data written by services only: nothing is added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.PeriodLock)
class PeriodLockAdmin(ReadOnlyAdmin):
    """The locked months (a month is unlocked with a reason from the close page)."""

    list_display = ("month", "locked_at", "locked_by", "reason")
    date_hierarchy = "month"
    list_select_related = ("locked_by",)


@admin.register(m.PeriodLockEvent)
class PeriodLockEventAdmin(ReadOnlyAdmin):
    """Who locked and unlocked which month, when and why."""

    list_display = ("at", "month", "action", "by", "reason")
    list_filter = ("action", "month")
    date_hierarchy = "at"
    list_select_related = ("by",)


@admin.register(m.PostCloseAdjustment)
class PostCloseAdjustmentAdmin(ReadOnlyAdmin):
    """Changes to records of locked months: stored as usual, flagged here."""

    list_display = (
        "recorded_at",
        "month",
        "entity",
        "external_id",
        "outcome",
        "via",
        "source",
        "user",
        "batch_id",
        "summary",
    )
    list_filter = ("month", "entity", "via", "outcome", "source")
    search_fields = ("external_id", "summary")
    date_hierarchy = "recorded_at"
    list_select_related = ("source", "user")
    show_full_result_count = False
