"""Reading the ``saas_metrics`` command's input files and writing its table (docs/metrics.md,
"SaaS metrics command files").

Pure text handling, no ORM; the same conventions as the ``attribution`` command's files:
columns are found by their header names (case-insensitive, surrounding spaces ignored) in
any order, extra columns are ignored, blank lines are skipped, and every problem is an
:class:`~metrics.computations.attribution_files.InputFileError` naming the file and line.

* events CSV: ``customer_id,effective_date,mrr_after[,event]``; ``effective_date`` an ISO
  date (``2026-01-31``), ``mrr_after`` the customer's MRR after the event (a decimal ≥ 0).
  ``event`` is informational (the movements come from month-end MRR); events of one
  customer on one day apply in file order.
* acquisition CSV: ``customer_id,acquired_month,channel``; ``acquired_month`` ``YYYY-MM`` (or
  an ISO date), one row per customer.
* costs CSV: ``month,channel,sales_and_marketing_cost``; ``month`` ``YYYY-MM`` (or an ISO
  date), cost a decimal ≥ 0; an empty channel means ``unallocated`` (cost of no channel);
  rows of the same month and channel add up.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from io import StringIO
from typing import TextIO

from metrics.computations.attribution_files import InputFileError, _records
from metrics.computations.saas import SAAS_COLUMNS, UNALLOCATED
from metrics.computations.subscriptions import SubscriptionEvent

EVENT_COLUMNS = ("customer_id", "effective_date", "mrr_after")
ACQUISITION_COLUMNS = ("customer_id", "acquired_month", "channel")
COST_COLUMNS = ("month", "channel", "sales_and_marketing_cost")

__all__ = [
    "ACQUISITION_COLUMNS",
    "COST_COLUMNS",
    "EVENT_COLUMNS",
    "InputFileError",
    "parse_gross_margin",
    "read_acquisition",
    "read_costs",
    "read_events",
    "render_csv",
    "render_json",
]


def _day(value: str, *, name: str, line: int, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputFileError(
            f"{name}, line {line}: {column} {value!r} is not an ISO date (YYYY-MM-DD)"
        ) from None


def _month(value: str, *, name: str, line: int, column: str) -> date:
    text = value if len(value) != 7 else f"{value}-01"
    try:
        return date.fromisoformat(text).replace(day=1)
    except ValueError:
        raise InputFileError(
            f"{name}, line {line}: {column} {value!r} is not a month (YYYY-MM)"
        ) from None


def _amount(value: str, *, name: str, line: int, column: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise InputFileError(f"{name}, line {line}: {column} {value!r} is not a decimal number")
    if amount < 0:
        raise InputFileError(f"{name}, line {line}: {column} {value} is negative")
    return amount


def _required(values: list[str], columns: tuple[str, ...], *, name: str, line: int) -> None:
    for value, column in zip(values, columns, strict=True):
        if not value:
            raise InputFileError(f"{name}, line {line}: {column} is empty")


def read_events(handle: TextIO, name: str) -> list[SubscriptionEvent]:
    """Parse an events CSV into :class:`SubscriptionEvent` (file order kept)."""
    events = []
    for line, values in _records(handle, name, EVENT_COLUMNS):
        _required(values, EVENT_COLUMNS, name=name, line=line)
        customer, day, mrr = values
        events.append(
            SubscriptionEvent(
                customer,
                _day(day, name=name, line=line, column="effective_date"),
                _amount(mrr, name=name, line=line, column="mrr_after"),
            )
        )
    return events


def read_acquisition(handle: TextIO, name: str) -> dict[str, str]:
    """Parse an acquisition CSV into customer → acquisition channel."""
    channels: dict[str, str] = {}
    for line, values in _records(handle, name, ACQUISITION_COLUMNS):
        _required(values, ACQUISITION_COLUMNS, name=name, line=line)
        customer, month, channel = values
        _month(month, name=name, line=line, column="acquired_month")
        if customer in channels:
            raise InputFileError(f"{name}, line {line}: customer {customer!r} appears twice")
        channels[customer] = channel
    return channels


def read_costs(handle: TextIO, name: str) -> dict[tuple[date, str], Decimal]:
    """Parse a costs CSV into (month, channel) → sales and marketing cost."""
    costs: dict[tuple[date, str], Decimal] = {}
    for line, (month_text, channel, cost) in _records(handle, name, COST_COLUMNS):
        if not month_text:
            raise InputFileError(f"{name}, line {line}: month is empty")
        key = (
            _month(month_text, name=name, line=line, column="month"),
            channel or UNALLOCATED,
        )
        amount = _amount(cost, name=name, line=line, column="sales_and_marketing_cost")
        costs[key] = costs.get(key, Decimal(0)) + amount
    return costs


def parse_gross_margin(value: str) -> Decimal:
    """A gross margin given as a fraction (``0.80``) or a percentage (``80%``), in (0, 1];
    :class:`ValueError` otherwise."""
    text = value.strip()
    percent = text.endswith("%")
    try:
        margin = Decimal(text[:-1] if percent else text)
    except InvalidOperation:
        margin = None
    if margin is not None and margin.is_finite() and percent:
        margin /= 100
    if margin is None or not margin.is_finite() or not 0 < margin <= 1:
        raise ValueError(
            f"--gross-margin must be a fraction in (0, 1] such as 0.80 (or 80%), got {value!r}"
        )
    return margin


def render_csv(rows: Iterable[dict[str, str]]) -> str:
    """CSV text with the header :data:`~metrics.computations.saas.SAAS_COLUMNS`."""
    buffer = StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SAAS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def render_json(rows: Iterable[dict[str, str]]) -> str:
    """A JSON list of objects keyed by the CSV columns; values are strings (``""`` where
    undefined) so no precision is lost to binary floating point."""
    return json.dumps(list(rows), indent=2) + "\n"
