"""Validate a request's records in bulk: pure Python per row, no query per row.

The only queries are one for the known currencies and at most one per entity's
``batch_clean`` rule. Every API request, file import and reprocess goes through
``validate_records``; there is no second set of rules anywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypedDict

from records.models import Currency

from .entities import COMMON_FIELDS, EntitySpec, FieldErrors, FieldSpec, Row, default_quote_currency

if TYPE_CHECKING:
    from connectors.models import Connector

REQUIRED = "This field is required."
UTC = dt.UTC


class Invalid(Exception):
    """A field value is invalid; the message says why."""


class FormulaCell(str):
    """A spreadsheet cell holding a formula (its text, e.g. "=SUM(B2:B9)").

    Imports flag it as an error instead of trusting the value the spreadsheet cached.
    """


# The longest text read as a number (JSON numbers, by the API's parser, and numeric strings):
# a money value needs 21 characters; 100 leaves room for trailing zeros and exponents. Longer
# text is refused before any conversion, so a request costs what its size suggests (a
# million-digit integer takes seconds to convert).
MAX_NUMBER_CHARS = 100


class ValidationContext(TypedDict):
    """What validation looks up once per request instead of once per row."""

    currencies: frozenset[str]  # active currency codes
    quanta: dict[int, Decimal]  # decimal places -> Decimal(10) ** -places
    quote_currency: str  # an FX rate's quote currency when none is sent


@dataclass
class RowError:
    index: int
    external_id: str | None
    errors: FieldErrors

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "external_id": self.external_id, "errors": self.errors}


# --- one parser per field kind -------------------------------------------------------------


_TEXT_INT_LIMIT = 10**MAX_NUMBER_CHARS


def _str(f: FieldSpec, raw: Any, ctx: ValidationContext) -> str:
    if isinstance(raw, str):
        value = raw.strip()
    elif isinstance(raw, int) and not isinstance(raw, bool):
        if abs(raw) >= _TEXT_INT_LIMIT:  # str() of a huge int is slow, then refused anyway
            raise Invalid(f"Number too long: at most {MAX_NUMBER_CHARS} characters.")
        value = str(raw)
    else:
        raise Invalid("Not a valid string.")
    if f.max_length and len(value) > f.max_length:
        raise Invalid(f"Ensure this field has no more than {f.max_length} characters.")
    if "\x00" in value:
        raise Invalid("Null characters are not allowed.")
    return value


def _date(f: FieldSpec, raw: Any, ctx: ValidationContext) -> dt.date:
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


# 2026-01-31T12:00:00.123456+05:30 has 32 characters.
_MAX_DATETIME_CHARS = 40


def _datetime(f: FieldSpec, raw: Any, ctx: ValidationContext) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    elif (
        isinstance(raw, str)
        and 16 <= len(raw) <= _MAX_DATETIME_CHARS
        and raw.isascii()
        and raw[4] == "-"
        and raw[10] in "Tt "
    ):
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
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-01:00 is after the last representable UTC instant;
        # 0001-01-01T00:00:00+01:00 is before the first.
        raise Invalid("Date-time is out of range.") from None


# Decimal() also reads Arabic-Indic or full-width digits and underscores: numbers are plain
# ASCII decimal notation, optionally with an exponent.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_NOT_FINITE_TEXT = frozenset({"nan", "snan", "inf", "infinity"})


def _number_text(raw: str) -> str:
    """``raw`` stripped, if it is short ASCII text (checked before any conversion)."""
    text = raw.strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise Invalid(f"Number too long: at most {MAX_NUMBER_CHARS} characters.")
    if not text.isascii():
        raise Invalid("A valid number is required (ASCII digits 0-9 only).")
    return text


def _decimal(f: FieldSpec, raw: Any, ctx: ValidationContext) -> Decimal:
    whole_digits = f.max_digits - f.decimal_places
    too_many_digits = (
        f"Ensure that there are no more than {whole_digits} digits before the decimal point."
    )
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        if abs(raw) >= 10**whole_digits:  # compared as integers, before any conversion
            raise Invalid(too_many_digits)
        value = Decimal(raw)
    elif isinstance(raw, str):
        text = _number_text(raw)
        if text.lstrip("+-").lower() in _NOT_FINITE_TEXT:
            raise Invalid("NaN and Infinity are not allowed.")
        if not _DECIMAL_TEXT.fullmatch(text):
            raise Invalid("A valid number is required.")
        try:
            value = Decimal(text)
        except InvalidOperation:  # an exponent beyond what a decimal holds
            raise Invalid("A valid number is required.") from None
    else:
        # Floats never reach here: JSON numbers are parsed straight to Decimal, and a float
        # would already have been rounded in binary.
        raise Invalid("A valid number is required.")
    if not value.is_finite():
        raise Invalid("NaN and Infinity are not allowed.")
    # The magnitude first: adjusted() is exact whatever the exponent, and once the value is
    # known to fit, quantizing it needs at most max_digits digits of precision.
    if value and value.adjusted() >= whole_digits:
        raise Invalid(too_many_digits)
    places = f.decimal_places
    exponent = value.as_tuple().exponent
    # 1.230 is exact at 2 decimals; 1.235 is not, and is never rounded.
    if (
        isinstance(exponent, int)
        and exponent < -places
        and value != value.quantize(ctx["quanta"][places])
    ):
        raise Invalid(f"Ensure that there are no more than {places} decimal places.")
    value = value.quantize(ctx["quanta"][places])
    if f.min_value is not None:
        if f.exclusive_min and value <= f.min_value:
            raise Invalid(f"Ensure this value is greater than {f.min_value}.")
        if value < f.min_value:
            raise Invalid(f"Ensure this value is greater than or equal to {f.min_value}.")
    if f.max_value is not None and value > f.max_value:
        raise Invalid(f"Ensure this value is less than or equal to {f.max_value}.")
    return value


# Every int field has bounds today; one without still fits a 64-bit column.
_MAX_INT_DIGITS = 18


def _int(f: FieldSpec, raw: Any, ctx: ValidationContext) -> int:
    """An integer from an int, a whole Decimal (2.026e3) or ASCII digits ("2026").

    The range is checked on the value as sent, before int() converts it: 1e1000000 is a
    cheap Decimal but a million-digit int.
    """
    value: int | Decimal
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str):
        text = _number_text(raw)
        if not _INTEGER_TEXT.fullmatch(text):
            raise Invalid("A valid integer is required.")
        value = Decimal(text)  # exact; converted to int once in range
    elif isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        value = raw
    else:
        raise Invalid("A valid integer is required.")
    if f.min_value is not None and value < f.min_value:
        raise Invalid(f"Ensure this value is greater than or equal to {f.min_value}.")
    if f.max_value is not None and value > f.max_value:
        raise Invalid(f"Ensure this value is less than or equal to {f.max_value}.")
    if isinstance(value, Decimal):
        if value.adjusted() >= _MAX_INT_DIGITS:  # a field without bounds: a 64-bit column
            raise Invalid("A valid integer is required.")
        return int(value)
    return value


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _bool(f: FieldSpec, raw: Any, ctx: ValidationContext) -> bool:
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


def _choice(f: FieldSpec, raw: Any, ctx: ValidationContext) -> str:
    if isinstance(raw, str) and raw.strip() in f.choices:
        return raw.strip()
    shown = str(raw)[:50] if isinstance(raw, str | int) else type(raw).__name__
    raise Invalid(f'"{shown}" is not a valid choice. Choose from: {", ".join(f.choices)}.')


def _currency(f: FieldSpec, raw: Any, ctx: ValidationContext) -> str:
    if not isinstance(raw, str):
        raise Invalid("Must be an ISO 4217 currency code (3 letters).")
    code = raw.strip().upper()
    if code not in ctx["currencies"]:
        raise Invalid(f'Unknown currency "{raw.strip()[:10]}".')
    return code


# A field kind's parser: the raw value to the cleaned one, or Invalid.
Parser = Callable[[FieldSpec, Any, ValidationContext], object]

PARSERS: dict[str, Parser] = {
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


def validation_context() -> ValidationContext:
    return {
        "currencies": frozenset(
            Currency.objects.filter(active=True).values_list("code", flat=True)
        ),
        "quanta": {places: Decimal(1).scaleb(-places) for places in range(0, 13)},
        "quote_currency": default_quote_currency(),
    }


def _with_column_limit(spec: EntitySpec, f: FieldSpec) -> FieldSpec:
    """A reference's text is as long as its ``<name>_external_id`` column holds (PostgreSQL
    refuses a longer value with an error, not a field error)."""
    if f.kind != "ref" or f.max_length:
        return f
    column = spec.model._meta.get_field(f"{f.name}_external_id")
    limit = getattr(column, "max_length", None)
    return replace(f, max_length=limit) if isinstance(limit, int) else f


def validate_records(
    spec: EntitySpec,
    records: Sequence[object],
    *,
    source: Connector,
    ctx: ValidationContext | None = None,
) -> tuple[list[tuple[int, Row]], list[RowError]]:
    """Return (valid rows as (index, cleaned values by field name), row errors).

    Unknown fields, missing required fields, wrong types, out-of-range values and broken
    cross-field rules are all field errors; nothing is coerced silently.
    """
    ctx = ctx or validation_context()
    all_fields = tuple(_with_column_limit(spec, f) for f in (*COMMON_FIELDS, *spec.fields))
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
    valid: list[tuple[int, Row]] = []
    errors: list[RowError] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append(
                RowError(index, None, {"non_field_errors": ["Each record must be a JSON object."]})
            )
            continue
        row_errors: FieldErrors = {}
        if len(record.keys() - allowed):
            for key in record.keys() - allowed:
                row_errors[str(key)] = ["Unknown field."]
        row: Row = {}
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
