"""Filters of the read API, derived from each canonical model's columns.

Dates and times filter by range (``posting_date__gte=2026-01-01&posting_date__lte=…``),
references by id (``account=12``) or by the source's external id (``account_external_id=…``),
choices by value or list (``status__in=won,lost``), amounts by range, the source by slug.
"""

import datetime as dt

import django_filters
from django import forms
from django.db import models
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS

DATE_LOOKUPS = ["exact", "gte", "lte", "gt", "lt"]
# When FinHub or the source wrote the row: ranges are enough (e.g. incremental reads).
BOOKKEEPING_TIMES = frozenset({"created_at", "updated_at", "source_updated_at"})


class UTCDateTimeField(forms.DateTimeField):
    """An ISO 8601 date-time, converted to UTC before it reaches the database.

    PostgreSQL refuses UTC offsets beyond ±15:59 that Python accepts, and a far offset can
    push a date past year 1 or 9999: both are a 400 for the client, never a 500.
    """

    def to_python(self, value):
        result = super().to_python(value)
        if result is None or result.tzinfo is None:
            return result
        try:
            return result.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("Date-time out of range.", code="invalid") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class CanonicalFilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.DateTimeField: {"filter_class": UTCDateTimeFilter},
    }


def filter_fields(model: type) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for field in model._meta.concrete_fields:
        if field.name in ("row_hash",) or field.primary_key:
            continue
        if field.name in BOOKKEEPING_TIMES:
            fields[field.name] = ["gte", "lte"]
        elif isinstance(field, models.DateTimeField | models.DateField):
            fields[field.name] = DATE_LOOKUPS
        elif isinstance(field, models.ForeignKey):
            if field.name == "source":
                continue  # by slug, below
            fields[field.name] = ["exact", "isnull"] if field.null else ["exact"]
        elif isinstance(field, models.DecimalField):
            fields[field.name] = ["exact", "gte", "lte"]
        elif isinstance(field, models.BooleanField):
            fields[field.name] = ["exact"]
        elif isinstance(field, models.CharField) and (
            field.choices or field.name == "external_id" or field.name.endswith("_external_id")
        ):
            fields[field.name] = ["exact", "in"]
        elif isinstance(field, models.CharField | models.IntegerField) and field.name in (
            "code",
            "number",
            "fiscal_year",
            "version",
            "entity",
        ):
            fields[field.name] = ["exact"]
        elif isinstance(field, models.CharField) and field.name == "segment":
            fields[field.name] = ["exact", "in"]
    return fields


def filterset_for(model: type) -> type[django_filters.FilterSet]:
    attrs: dict = {
        "Meta": type("Meta", (), {"model": model, "fields": filter_fields(model)}),
    }
    if any(f.name == "source" for f in model._meta.concrete_fields):
        attrs["source"] = django_filters.CharFilter(
            field_name="source__slug", label="Source connector (slug)"
        )
    return type(f"{model.__name__}FilterSet", (CanonicalFilterSet,), attrs)
