"""CSV / XLSX import and export of the canonical entities (django-import-export).

Imports do not use the library's row-by-row instance machinery: a file's rows become records
(the same dicts the JSON API receives) and go through ``ingest_records`` — one validation,
one upsert, one rejected-record path for API, sync and import. The library's dry-run
preview shows the engine's outcome per row (new / update / skip, or the field errors).

Exports write the API field names (so an export can be edited and re-imported) and
neutralise every text cell that a spreadsheet would treat as a formula.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import resources
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from finhub.core.spreadsheets import CSV, SafeExportMixin, neutralise
from records.ingestion.entities import COMMON_FIELDS, ENTITY_BY_MODEL, EntitySpec
from records.ingestion.services import Actor, IngestRequestError, ingest_records
from records.ingestion.validation import FormulaCell

IMPORT_MAX_ROWS = 50_000
IMPORT_MAX_BYTES = 10 * 1024 * 1024


def cell_to_record_value(value: Any) -> Any:
    """A spreadsheet cell as the JSON API would have received it.

    XLSX numbers arrive as floats: their shortest repr is what the user typed, read exactly
    as a Decimal (never through binary floating point arithmetic).
    """
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and not isinstance(value, FormulaCell):
        return value if value.strip() else None
    return value


# --- formats ---------------------------------------------------------------------------------


class XLSX(SafeExportMixin, base_formats.XLSX):
    """XLSX reading formulas as formulas: a formula cell is flagged, not replaced by the
    value the spreadsheet cached for it (which may be stale or absent)."""

    def create_dataset(self, in_stream):
        from io import BytesIO

        import openpyxl
        import tablib

        book = openpyxl.load_workbook(BytesIO(in_stream), read_only=True, data_only=False)
        sheet = book.active
        rows = sheet.iter_rows()
        dataset = tablib.Dataset()
        try:
            dataset.headers = [cell.value for cell in next(rows)]
        except StopIteration:
            return dataset
        for row in rows:
            values = [
                FormulaCell(str(cell.value)) if cell.data_type == "f" else cell.value
                for cell in row
            ]
            if all(v is None for v in values):
                continue
            width = len(dataset.headers)
            dataset.append((values + [None] * width)[:width])
        return dataset


IMPORT_FORMATS = [CSV, XLSX]
EXPORT_FORMATS = [CSV, XLSX]


# --- the resource ----------------------------------------------------------------------------


class IngestResource(resources.ModelResource):
    """Import through the ingestion engine; export in the API's field names."""

    def __init__(self, source=None, keep_invalid: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.source = source
        self.keep_invalid = keep_invalid

    @classmethod
    def spec(cls) -> EntitySpec:
        return ENTITY_BY_MODEL[cls._meta.model]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in (*COMMON_FIELDS, *cls.spec().fields)]

    def get_user_visible_fields(self):
        # The import page lists the columns a file may have.
        return [resources.Field(attribute=n, column_name=n) for n in self.field_names()]

    # --- export ---

    def export(self, queryset=None, **kwargs):
        import tablib

        spec = self.spec()
        if queryset is None:
            queryset = self.get_queryset()
        names = self.field_names()
        # Exactly the API's fields, so an exported file can be edited and re-imported (filter
        # the changelist by source first: the importer names the source in its form).
        dataset = tablib.Dataset(headers=names)
        for obj in queryset.iterator(chunk_size=2000):
            row: list[Any] = [obj.external_id, obj.source_updated_at]
            for f in spec.fields:
                if f.kind == "ref":
                    value = getattr(obj, f"{f.name}_external_id") or None
                elif f.kind == "currency":
                    value = getattr(obj, f"{f.attr}_id")
                else:
                    value = getattr(obj, f.attr)
                row.append(value)
            dataset.append([_export_cell(v) for v in row])
        return dataset

    # --- import ---

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        result = Result()
        headers = [str(h).strip() if h is not None else "" for h in (dataset.headers or [])]
        result.diff_headers = [*headers, "errors"]
        result.total_rows = len(dataset)
        if self.source is None:
            result.append_base_error(_base_error("Choose the source (connector) of the file."))
            return result
        if len(dataset) > IMPORT_MAX_ROWS:
            result.append_base_error(
                _base_error(f"At most {IMPORT_MAX_ROWS:,} rows per file; got {len(dataset):,}.")
            )
            return result
        records = []
        for values in dataset:
            record = {}
            for header, value in zip(headers, values, strict=False):
                value = cell_to_record_value(value)
                if header:
                    record[header] = value
                elif value is not None:
                    record[""] = value  # a value under no header: an unknown field
            records.append(record)
        user = kwargs.get("user")
        actor = Actor(user=user if getattr(user, "is_authenticated", False) else None, via="import")
        try:
            outcome = ingest_records(
                source=self.source,
                entity=self.spec().name,
                records=records,
                actor=actor,
                atomic=not self.keep_invalid,
                dry_run=dry_run,
                max_records=IMPORT_MAX_ROWS,
            )
        except IngestRequestError as exc:
            if not exc.errors:
                result.append_base_error(_base_error(exc.message))
            for error in exc.errors:
                self._invalid(result, error, dataset, headers)
            return result
        errors = {e.index: e for e in outcome.errors}
        for index, values in enumerate(dataset):
            row = RowResult()
            row.diff = [*values, ""]
            if index in errors:
                row.import_type = RowResult.IMPORT_TYPE_SKIP
                row.diff[-1] = "rejected: " + _error_text(errors[index].errors)
            else:
                row.import_type = {
                    "created": RowResult.IMPORT_TYPE_NEW,
                    "updated": RowResult.IMPORT_TYPE_UPDATE,
                }.get(outcome.outcomes.get(index, ""), RowResult.IMPORT_TYPE_SKIP)
            result.append_row_result(row)
            result.increment_row_result_total(row)
        return result

    def _invalid(self, result, error, dataset, headers) -> None:
        messages = {
            (NON_FIELD_ERRORS if key == "non_field_errors" else key): value
            for key, value in error.errors.items()
        }
        values = dict(zip(headers, dataset[error.index], strict=False))
        result.append_invalid_row(error.index + 1, values, ValidationError(messages))
        result.totals[RowResult.IMPORT_TYPE_INVALID] += 1


def _export_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()  # with its UTC offset, as the API expects it back
    return neutralise(value)


def _error_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())


def _base_error(message: str):
    from import_export.results import Error

    return Error(ValueError(message))


def resource_for(model) -> type[IngestResource]:
    meta = type("Meta", (), {"model": model, "fields": ()})
    return type(f"{model.__name__}Resource", (IngestResource,), {"Meta": meta})
