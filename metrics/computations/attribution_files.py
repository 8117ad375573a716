"""Reading attribution input files and writing the report (docs/metrics.md, "Attribution command
files").

Pure text handling for the ``attribution`` management command: no ORM. Columns are found by
their header names (case-insensitive, surrounding spaces ignored) in any order; extra columns
are ignored.

* touchpoints CSV: ``touchpoint_id,contact_id,occurred_at,channel,campaign``; times ISO 8601
  with an offset or ``Z``. When every touchpoint id is a whole number, ids compare as numbers
  (so ``9`` sorts before ``10`` when breaking time ties), otherwise as text. An empty channel
  or campaign is reported under ``(none)``.
* conversions CSV: ``deal_id,contact_id,converted_at,amount``; amount a decimal number in the
  reporting currency.

Report: one row per channel (or campaign) seen in the touchpoints file, sorted by key, then
``(unattributed)`` when some conversions have no eligible touchpoint (its
``attributed_conversions`` is the number of such conversions and ``attributed_revenue`` their
amount). ``attributed_conversions`` is written with 6 decimals and ``attributed_revenue``
with 2, both rounded half-up (exactly, from the rational values); JSON carries the same
strings, so no precision is lost to binary floating point.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TextIO

from finhub.core.money import present_money
from metrics.computations.attribution import AttributionResult, Conversion, Touchpoint

TOUCHPOINT_COLUMNS = ("touchpoint_id", "contact_id", "occurred_at", "channel", "campaign")
CONVERSION_COLUMNS = ("deal_id", "contact_id", "converted_at", "amount")
REPORT_COLUMNS = ("key", "attributed_conversions", "attributed_revenue")
NO_GROUP = "(none)"
CONVERSIONS_PLACES = 6


class InputFileError(ValueError):
    """A problem in an input file, with the file name and line number in the message."""


def _header(reader: Iterator[list[str]], name: str, columns: tuple[str, ...]) -> list[int]:
    """Positions of ``columns`` in the header row (names compared stripped, lower-case)."""
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(f"{name}: empty file, expected columns {', '.join(columns)}") from None
    positions: dict[str, int] = {}
    for position, title in enumerate(header):
        positions.setdefault(title.strip().lstrip("\ufeff").lower(), position)
    missing = [column for column in columns if column not in positions]
    if missing:
        raise InputFileError(
            f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(title.strip() for title in header)})"
        )
    return [positions[column] for column in columns]


def _records(
    handle: TextIO, name: str, columns: tuple[str, ...]
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, values of columns)`` per non-blank data row, values stripped."""
    reader = csv.reader(handle)
    positions = _header(reader, name, columns)
    width = max(positions) + 1
    for record in reader:
        if len(record) < width:
            if not any(value.strip() for value in record):
                continue
            record = record + [""] * (width - len(record))
        yield reader.line_num, [record[position].strip() for position in positions]


def _time(value: str, *, name: str, line: int, column: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputFileError(
            f"{name}, line {line}: {column} {value!r} is not an ISO 8601 time"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InputFileError(
            f"{name}, line {line}: {column} {value!r} has no UTC offset (add Z or +hh:mm)"
        )
    return parsed


def _empty(*, name: str, line: int, values: list[str], columns: tuple[str, ...]) -> None:
    for value, column in zip(values, columns, strict=True):
        if not value:
            raise InputFileError(f"{name}, line {line}: {column} is empty")


def read_touchpoints(handle: TextIO, name: str) -> list[Touchpoint]:
    """Parse a touchpoints CSV; :class:`InputFileError` names the file, line and column.

    One tight loop (this reads a million rows in a few seconds): ids become ints while every
    id seen is a whole number, and the list is rebuilt with text ids in the rare file that
    mixes both.
    """
    touchpoints: list[Touchpoint] = []
    append = touchpoints.append
    parse_time = datetime.fromisoformat
    numeric_ids = True
    required = TOUCHPOINT_COLUMNS[:3]
    for line, (identifier, contact, occurred_at, channel, campaign) in _records(
        handle, name, TOUCHPOINT_COLUMNS
    ):
        try:
            when = parse_time(occurred_at)
        except ValueError:
            when = None
        if when is None or when.tzinfo is None or not identifier or not contact:
            _empty(
                name=name, line=line, values=[identifier, contact, occurred_at], columns=required
            )
            when = _time(occurred_at, name=name, line=line, column="occurred_at")
        if numeric_ids and identifier.isdigit():
            key: int | str = int(identifier)
        else:
            key = identifier
            numeric_ids = False
        append(Touchpoint(key, contact, when, channel or NO_GROUP, campaign or NO_GROUP))
    if not numeric_ids:
        for touchpoint in touchpoints:
            touchpoint.touchpoint_id = str(touchpoint.touchpoint_id)
    return touchpoints


def read_conversions(handle: TextIO, name: str) -> list[Conversion]:
    """Parse a conversions CSV; :class:`InputFileError` names the file, line and column."""
    conversions = []
    for line, values in _records(handle, name, CONVERSION_COLUMNS):
        deal, contact, converted_at, amount_text = values
        _empty(name=name, line=line, values=[deal, contact], columns=CONVERSION_COLUMNS[:2])
        when = _time(converted_at, name=name, line=line, column="converted_at")
        try:
            amount = Decimal(amount_text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            raise InputFileError(
                f"{name}, line {line}: amount {amount_text!r} is not a decimal number"
            )
        conversions.append(Conversion(deal, contact, when, amount))
    return conversions


def format_conversions(value: Fraction, places: int = CONVERSIONS_PLACES) -> str:
    """A rational number of conversions with ``places`` decimals, rounded half-up exactly."""
    value = Fraction(value)
    scale = 10**places
    magnitude = abs(value) * scale
    rounded = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    text = f"{rounded // scale}.{rounded % scale:0{places}d}" if places else str(rounded)
    return f"-{text}" if value < 0 and rounded else text


def report_rows(result: AttributionResult) -> list[dict[str, str]]:
    """The report as rows of strings (``key``, ``attributed_conversions``,
    ``attributed_revenue``), groups first, then ``(unattributed)`` when present."""
    return [
        {
            "key": row.key,
            "attributed_conversions": format_conversions(row.conversions),
            "attributed_revenue": str(present_money(row.revenue)),
        }
        for row in result.rows()
    ]


def render_csv(rows: Iterable[dict[str, str]]) -> str:
    """CSV text with the header ``key,attributed_conversions,attributed_revenue``."""
    from io import StringIO

    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def render_json(rows: Iterable[dict[str, str]]) -> str:
    """A JSON list of objects with the keys of the CSV header (values as strings)."""
    return json.dumps(list(rows), indent=2) + "\n"
