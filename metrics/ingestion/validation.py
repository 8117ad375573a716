"""Validate a request's records in bulk: pure Python per row, no query per row.

The only queries are one for the known currencies and at most one per entity's
``batch_clean`` rule. Every API request, file import and reprocess goes through
``validate_records``; there is no second set of rules anywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from metrics.models import Currency

from .entities import COMMON_FIELDS, EntitySpec, FieldSpec, default_quote_currency

REQUIRED = "This field is required."
UTC = dt.UTC


class Invalid(Exception):
    """A field value is invalid; the message says why."""


class FormulaCell(str):
    """A spreadsheet cell holding a formula (its text, e.g. "=SUM(B2:B9)").

    Imports flag it as an error instead of trusting the value the spreadsheet cached.
    """


@dataclass
class RowError:
    index: int
    external_id: str | None
    errors: dict[str, list[str]]

    def as_dict(self) -> dict:
        return {"index": self.index, "external_id": self.external_id, "errors": self.errors}


# --- one parser per field kind -------------------------------------------------------------


def _str(f: FieldSpec, raw: Any, ctx: dict) -> str:
    if isinstance(raw, str):
        value = raw.strip()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = str(raw)
    else:
        raise Invalid("Not a valid string.")
    if f.max_length and len(value) > f.max_length:
        raise Invalid(f"Ensure this field has no more than {f.max_length} characters.")
    if "\x00" in value:
        raise Invalid("Null characters are not allowed.")
    return value


def _date(f: FieldSpec, raw: Any, ctx: dict) -> dt.date:
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time(0) or raw.tzinfo is not None:
            raise Invalid("Expected a date, got a date-time.")
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise Invalid("Date has wrong format. Use YYYY-MM-DD.")


def _datetime(f: FieldSpec, raw: Any, ctx: dict) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str) and len(raw) >= 16 and raw[4] == "-" and raw[10] in "Tt ":
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise Invalid(
                "Date-time has wrong format. Use ISO 8601, e.g. 2026-01-31T12:00:00Z."
            ) from None
    else:
        raise Invalid("Date-time has wrong format. Use ISO 8601, e.g. 2026-01-31T12:00:00Z.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid("Date-time must include a UTC offset (e.g. Z or +02:00).")
    return value.astimezone(UTC)


def _decimal(f: FieldSpec, raw: Any, ctx: dict) -> Decimal:
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(raw)
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise Invalid("A valid number is required.") from None
    else:
        # Floats never reach here: JSON numbers are parsed straight to Decimal, and a float
        # would already have been rounded in binary.
        raise Invalid("A valid number is required.")
    if not value.is_finite():
        raise Invalid("NaN and Infinity are not allowed.")
    places = f.decimal_places
    exponent = value.as_tuple().exponent
    # 1.230 is exact at 2 decimals; 1.235 is not, and is never rounded.
    if (
        isinstance(exponent, int)
        and exponent < -places
        and value != value.quantize(ctx["quanta"][places])
    ):
        raise Invalid(f"Ensure that there are no more than {places} decimal places.")
    whole_digits = f.max_digits - places
    if value and value.adjusted() >= whole_digits:
        raise Invalid(
            f"Ensure that there are no more than {whole_digits} digits before the decimal point."
        )
    value = value.quantize(ctx["quanta"][places])
    if f.min_value is not None:
        if f.exclusive_min and value <= f.min_value:
            raise Invalid(f"Ensure this value is greater than {f.min_value}.")
        if value < f.min_value:
            raise Invalid(f"Ensure this value is greater than or equal to {f.min_value}.")
    if f.max_value is not None and value > f.max_value:
        raise Invalid(f"Ensure this value is less than or equal to {f.max_value}.")
    return value


def _int(f: FieldSpec, raw: Any, ctx: dict) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw.strip())
    elif isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        value = int(raw)
    else:
        raise Invalid("A valid integer is required.")
    if f.min_value is not None and value < f.min_value:
        raise Invalid(f"Ensure this value is greater than or equal to {f.min_value}.")
    if f.max_value is not None and value > f.max_value:
        raise Invalid(f"Ensure this value is less than or equal to {f.max_value}.")
    return value


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _bool(f: FieldSpec, raw: Any, ctx: dict) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise Invalid("Must be a valid boolean.")


def _choice(f: FieldSpec, raw: Any, ctx: dict) -> str:
    if isinstance(raw, str) and raw.strip() in f.choices:
        return raw.strip()
    shown = raw if isinstance(raw, str | int) else type(raw).__name__
    raise Invalid(f'"{shown}" is not a valid choice. Choose from: {", ".join(f.choices)}.')


def _currency(f: FieldSpec, raw: Any, ctx: dict) -> str:
    if not isinstance(raw, str):
        raise Invalid("Must be an ISO 4217 currency code (3 letters).")
    code = raw.strip().upper()
    if code not in ctx["currencies"]:
        raise Invalid(f'Unknown currency "{raw.strip()[:10]}".')
    return code


PARSERS = {
    "str": _str,
    "ref": _str,
    "date": _date,
    "datetime": _datetime,
    "money": _decimal,
    "decimal": _decimal,
    "int": _int,
    "bool": _bool,
    "choice": _choice,
    "currency": _currency,
}


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and (not raw or raw.isspace()))


def validation_context() -> dict:
    return {
        "currencies": frozenset(
            Currency.objects.filter(active=True).values_list("code", flat=True)
        ),
        "quanta": {places: Decimal(1).scaleb(-places) for places in range(0, 13)},
        "quote_currency": default_quote_currency(),
    }


def validate_records(
    spec: EntitySpec, records: list, *, source, ctx: dict | None = None
) -> tuple[list[tuple[int, dict]], list[RowError]]:
    """Return (valid rows as (index, cleaned values by field name), row errors).

    Unknown fields, missing required fields, wrong types, out-of-range values and broken
    cross-field rules are all field errors; nothing is coerced silently.
    """
    ctx = ctx or validation_context()
    all_fields = (*COMMON_FIELDS, *spec.fields)
    # Per field: name, parser, spec, required, default, and the length limit when the value
    # is plain text (those are checked inline: the loop runs for every field of every row).
    plan = [
        (
            f.name,
            PARSERS[f.kind],
            f,
            f.required,
            f.default,
            (f.max_length or 10**9) if f.kind in ("str", "ref") else 0,
        )
        for f in all_fields
    ]
    allowed = frozenset(f.name for f in all_fields)
    valid: list[tuple[int, dict]] = []
    errors: list[RowError] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append(
                RowError(index, None, {"non_field_errors": ["Each record must be a JSON object."]})
            )
            continue
        row_errors: dict[str, list[str]] = {}
        if len(record.keys() - allowed):
            for key in record.keys() - allowed:
                row_errors[str(key)] = ["Unknown field."]
        row: dict[str, Any] = {}
        for name, parse, f, required, default, text_limit in plan:
            raw = record.get(name)
            cls = raw.__class__
            if raw is None or (cls is str and (not raw or raw.isspace())):  # blank
                if required:
                    row_errors[name] = [REQUIRED]
                row[name] = default
                continue
            if cls is str and text_limit:
                value = raw.strip()
                if len(value) <= text_limit and "\x00" not in value:
                    row[name] = value
                    continue
            elif cls is FormulaCell:
                row_errors[name] = [
                    f"Formula cell ({raw[:40]}) is not imported: paste the values instead."
                ]
                continue
            try:
                row[name] = parse(f, raw, ctx)
            except Invalid as exc:
                row_errors[name] = [str(exc)]
        if not row_errors and spec.clean is not None:
            row_errors = spec.clean(row)
        if "quote_currency" in row and row["quote_currency"] is None:
            row["quote_currency"] = ctx["quote_currency"]
        ext = record.get("external_id")
        ext_label = str(ext)[:200] if isinstance(ext, str | int) and not _is_blank(ext) else None
        if row_errors:
            errors.append(RowError(index, ext_label, row_errors))
        else:
            valid.append((index, row))
    if spec.batch_clean is not None and valid:
        extra = spec.batch_clean(source=source, rows=[row for _, row in valid])
        if extra:
            keep = []
            for pos, (index, row) in enumerate(valid):
                if pos in extra:
                    errors.append(RowError(index, row["external_id"], extra[pos]))
                else:
                    keep.append((index, row))
            valid = keep
            errors.sort(key=lambda e: e.index)
    return valid, errors
