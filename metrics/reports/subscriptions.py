"""Subscriptions: the monthly MRR movements and SaaS metrics table of a period (docs/metrics.md,
"Subscriptions and MRR" and "CAC, LTV and payback"), with the customers behind every movement.

The table is :func:`metrics.computations.saas.saas_table`, the same computation as the
``saas_metrics`` command, so the command on files and this report on the database give the
same rows for the same data.

JSON shape (``MetricSnapshot.result`` of kind ``subscriptions``)::

    {
      "reporting_currency": "USD",
      "gross_margin": "0.80",
      "paid_channels": ["Search"],
      "segment": null | "SMB",           # the filter asked (null: every customer)
      "channel": null | "Search",        # acquisition channel filter (null: every customer)
      "columns": ["month", "starting_mrr", …],   # saas.SAAS_COLUMNS
      "cac_note": "" | "…",              # why the CAC columns are undefined under a filter
      "months": [
        {
          "month": "2026-03-01",          # first day of the month
          "starting_mrr": "1000.00", …    # every SAAS_COLUMNS column: money with 2 decimals,
                                          # ratios with 10, counts as integers,
                                          # "undefined" where undefined (never 0)
          "movement_counts": {            # how many customers are behind each movement
            "new": 1, "expansion": 0, "contraction": 0, "churned": 0, "reactivation": 0
          }
        }
      ],
      "missing_fx": [{"currency": "EUR", "date": "2026-03-04", "amount": "10.00"}]
    }

The customers behind the movements are :func:`subscription_customers_report` (kind
``subscription_customers``, same parameters): per month ``{"month", "customers": {"new":
[{"id", "external_id", "name", "amount"}, …], "expansion": […], …}}``. A movement's ``amount``
is what it adds to that movement's total: new and reactivation the
MRR at month end, expansion now - before, contraction before - now, churn the MRR before.
Costs for CAC: campaign spend per channel (``channel_spend``) and the rest of the sales and
marketing ledger cost as "unallocated" (blended CAC counts all of it, docs/metrics.md). With
a segment filter the cost cannot be split by segment: the CAC columns are undefined.

Inside :func:`subscriptions_shared` (a page computing several reports), the subscription
events and the customer details are read once and each (end, segment, channel) has one
:class:`~metrics.computations.subscriptions.MrrLedger`, shared by the subscriptions, cohorts,
CS ROI and CAC reports computed in the block.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from finhub.core.calendar import month_end, month_of
from finhub.core.money import Converter, MissingRate
from metrics import selectors
from metrics.computations.presentation import UNDEFINED
from metrics.computations.retention import ledger_segments
from metrics.computations.saas import (
    SAAS_COLUMNS,
    UNALLOCATED,
    SaasMonth,
    saas_row_format,
    saas_table,
)
from metrics.computations.subscriptions import MrrLedger, SubscriptionEvent, mrr_months
from metrics.reports.cac import gross_margin
from metrics.reports.numbers import money, num

MOVEMENTS = ("new", "expansion", "contraction", "churned", "reactivation")
CAC_COLUMNS = ("blended_cac", "paid_cac", "cac_payback_months", "ltv_to_cac")
SEGMENT_CAC_NOTE = "sales and marketing cost is not split by segment"


@dataclasses.dataclass
class CustomerEvents:
    """Subscription events (in the reporting currency) of the customers a filter keeps, with
    every customer's details. ``key``: the (end, segment, channel) they were read for."""

    events: list[SubscriptionEvent]
    details: dict[int, selectors.CustomerDetails]
    missing_fx: list[MissingRate]
    key: tuple[dt.date, str | None, str | None] | None = None
    _ledger: MrrLedger | None = dataclasses.field(default=None, repr=False, compare=False)
    _segments: dict[str, MrrLedger] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    def segment_of(self) -> dict[Hashable, str]:
        return {pk: details.segment for pk, details in self.details.items()}

    def ledger(self) -> MrrLedger:
        """The :class:`MrrLedger` of the events (one per (end, segment, channel) inside
        :func:`subscriptions_shared`)."""
        if self._ledger is None:
            self._ledger = _ledger(self.key, self.events)
        return self._ledger

    def segment_ledgers(self) -> dict[str, MrrLedger]:
        """``retention.segment_ledgers`` of the events by the customers' segments (cut from
        :meth:`ledger`)."""
        if self._segments is None:
            self._segments = ledger_segments(self.ledger(), self.segment_of())
        return self._segments


@dataclasses.dataclass
class _SharedSubscriptions:
    """What a :func:`subscriptions_shared` block has read and built: the events per end, the
    customer details, the filtered events and their ledgers per (end, segment, channel)."""

    events: dict[dt.date, tuple[list[SubscriptionEvent], list[MissingRate]]] = dataclasses.field(
        default_factory=dict
    )
    details: dict[int, selectors.CustomerDetails] | None = None
    filtered: dict[tuple, CustomerEvents] = dataclasses.field(default_factory=dict)
    ledgers: dict[tuple, MrrLedger] = dataclasses.field(default_factory=dict)


#: The reads of the active :func:`subscriptions_shared` block (None outside one: every
#: report reads its own).
_SHARED: ContextVar[_SharedSubscriptions | None] = ContextVar("subscriptions_shared", default=None)


@contextmanager
def subscriptions_shared() -> Iterator[None]:
    """Subscription reports computed inside the block share their reads and computations: one
    read of the subscription events per end day, one of the customer details, one
    :class:`MrrLedger` per (end, segment, channel) (so each month's movements are computed
    once, see :func:`~metrics.computations.subscriptions.mrr_month`) and one set of segment
    ledgers, instead of one each per report (the retention page computes three reports on
    the same events). The reads are those a report makes on its own, so the results are
    equal; they are dropped at the end of the block. A nested block reuses the outer one."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set(_SharedSubscriptions())
    try:
        yield
    finally:
        _SHARED.reset(token)


def _subscription_events(end: dt.date) -> tuple[list[SubscriptionEvent], list[MissingRate]]:
    shared = _SHARED.get()
    if shared is None:
        return selectors.subscription_events(end=end)
    if end not in shared.events:
        shared.events[end] = selectors.subscription_events(end=end)
    return shared.events[end]


def _customer_details() -> dict[int, selectors.CustomerDetails]:
    shared = _SHARED.get()
    if shared is None:
        return selectors.customer_details()
    if shared.details is None:
        shared.details = selectors.customer_details()
    return shared.details


def _ledger(key: tuple | None, events: list[SubscriptionEvent]) -> MrrLedger:
    """``MrrLedger(events)``; inside :func:`subscriptions_shared`, one per ``key`` (end,
    segment, channel), a filtered one cut from the unfiltered one (the filtered events are
    some customers' events of the same read)."""
    shared = _SHARED.get()
    if shared is None or key is None:
        return MrrLedger(events)
    if key not in shared.ledgers:
        end, segment, channel = key
        if segment is None and channel is None:
            shared.ledgers[key] = MrrLedger(events)
        else:
            whole = _ledger((end, None, None), _subscription_events(end)[0])
            shared.ledgers[key] = whole.restricted({event.customer_id for event in events})
    return shared.ledgers[key]


def subscription_ledger(*, end: dt.date) -> tuple[MrrLedger, list[MissingRate]]:
    """The :class:`MrrLedger` of every linked customer's events up to ``end`` and the events
    left out for want of an FX rate (shared inside :func:`subscriptions_shared`: the same
    ledger as ``customer_events(end=end).ledger()``). One query plus the FX rates."""
    events, missing = _subscription_events(end)
    return _ledger((end, None, None), events), missing


def customer_events(
    *, end: dt.date, segment: str | None = None, channel: str | None = None
) -> CustomerEvents:
    """Every linked customer's events up to ``end`` (the whole history), narrowed to one
    segment and / or acquisition channel. Two queries plus the FX rates (none when
    :func:`subscriptions_shared` already read them)."""
    key = (end, segment, channel)
    shared = _SHARED.get()
    if shared is not None and key in shared.filtered:
        return shared.filtered[key]
    events, missing = _subscription_events(end)
    details = _customer_details()
    if segment is not None or channel is not None:
        keep = {
            pk
            for pk, item in details.items()
            if (segment is None or item.segment == segment)
            and (channel is None or item.channel == channel)
        }
        events = [event for event in events if event.customer_id in keep]
    data = CustomerEvents(events, details, missing, key)
    if shared is not None:
        shared.filtered[key] = data
    return data


def saas_costs(
    *, first: dt.date, last: dt.date, convert: Converter, channel: str | None = None
) -> dict[tuple[dt.date, str], Decimal]:
    """Adapter from the ledger and campaign spend to ``saas_table``'s cost by (month,
    channel): each channel's campaign spend, and the month's sales and marketing ledger cost
    not spent through a channel as :data:`UNALLOCATED` (so blended CAC counts the whole
    ledger cost, as the CAC report does). With ``channel``: that channel's spend only."""
    cost_start, cost_end = first, month_end(last)
    costs: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
    for name, currency, day, amount in selectors.channel_spend_rows(start=cost_start, end=cost_end):
        value = convert(amount, currency, day)
        if value is not None:
            costs[month_of(day), name or selectors.NO_CHANNEL] += value
    if channel is not None:
        return {key: value for key, value in costs.items() if key[1] == channel}
    ledger: dict[dt.date, Decimal] = defaultdict(Decimal)
    for currency, day, amount in selectors.sales_marketing_cost_rows(
        start=cost_start, end=cost_end
    ):
        value = convert(amount, currency, day)
        if value is not None:
            ledger[month_of(day)] += value
    for month, total in ledger.items():
        spent = sum((v for (m, _c), v in costs.items() if m == month), Decimal(0))
        costs[month, UNALLOCATED] += total - spent
    return dict(costs)


def row_json(row: SaasMonth) -> dict:
    """A table row as stored: ``saas_row_format``'s text (what the command prints), with the
    month as its first day and undefined as ``"undefined"`` (the reports' convention)."""
    text = saas_row_format(row)
    out: dict = {"month": row.month.isoformat()}
    for column in SAAS_COLUMNS[1:]:
        value = getattr(row, column)
        if value is None:
            out[column] = UNDEFINED
        elif isinstance(value, int):
            out[column] = value
        else:  # plain notation: a zero ratio is "0.0000000000", not "0E-10"
            out[column] = format(Decimal(text[column]), "f")
    return out


def _movements(
    ledger: MrrLedger, first: dt.date, last: dt.date
) -> dict[dt.date, dict[str, list[tuple[Hashable, Decimal]]]]:
    """Per month, the customers behind every movement with the amount each adds to that
    movement's total (unordered)."""
    out = {}
    for month in mrr_months(ledger, first, last):
        # Only the customers with an event in the month moved (ledger.month_changes).
        changes = ledger.month_changes(month.month)
        before = {customer: prev for customer, prev, _now in changes}
        after = {customer: now for customer, _prev, now in changes}
        moves: dict[str, list[tuple[Hashable, Decimal]]] = {name: [] for name in MOVEMENTS}
        for customer in month.new_customers:
            moves["new"].append((customer, after[customer]))
        for customer in month.reactivated_customers:
            moves["reactivation"].append((customer, after[customer]))
        for customer in month.churned_customers:
            moves["churned"].append((customer, before[customer]))
        for customer, prev, now in changes:
            if 0 < prev < now:
                moves["expansion"].append((customer, now - prev))
            elif 0 < now < prev:
                moves["contraction"].append((customer, prev - now))
        out[month.month] = moves
    return out


def movement_customers(
    ledger: MrrLedger, first: dt.date, last: dt.date, details: dict
) -> dict[dt.date, dict[str, list[dict]]]:
    """Adapter (the computations give the new / reactivated / churned customers of a month,
    not who expanded or contracted nor the amounts): per month, the customers behind every
    movement with the amount each adds to that movement's total, largest first."""
    return {
        month: {
            name: [
                _customer(pk, amount, details)
                for pk, amount in sorted(rows, key=lambda item: (-item[1], str(item[0])))
            ]
            for name, rows in moves.items()
        }
        for month, moves in _movements(ledger, first, last).items()
    }


def movement_counts(ledger: MrrLedger, first: dt.date, last: dt.date) -> dict[dt.date, dict]:
    """Per month, how many customers :func:`movement_customers` lists behind each movement
    (without making the lists)."""
    return {
        month: {name: len(rows) for name, rows in moves.items()}
        for month, moves in _movements(ledger, first, last).items()
    }


def _customer(pk: Hashable, amount: Decimal, details: dict) -> dict:
    item = details.get(pk)
    return {
        "id": pk,
        "external_id": item.external_id if item else "",
        "name": item.name if item else "",
        "amount": money(amount),
    }


def subscriptions_report(
    *, start: dt.date, end: dt.date, segment: str | None = None, channel: str | None = None
) -> dict:
    """Every month the period touches: the SaaS metrics table (``saas_table``) of the
    customers kept by the filters and the customers behind each movement."""
    first, last = month_of(start), month_of(end)
    data = customer_events(end=month_end(last), segment=segment, channel=channel)
    convert = selectors.converter(start=first, end=month_end(last))
    costs = saas_costs(first=first, last=last, convert=convert, channel=channel)
    acquisition = {
        pk: item.channel for pk, item in data.details.items() if item.channel is not None
    }
    paid = selectors.paid_channel_names()
    margin = gross_margin()
    rows = saas_table(
        events=data.events,
        acquisition_channel=acquisition,
        cost_by_month_channel=costs,
        gross_margin=margin,
        paid_channels=paid,
        first=first,
        last=last,
        ledger=data.ledger(),
    )
    cac_note = ""
    if segment is not None:
        rows = [dataclasses.replace(row, **dict.fromkeys(CAC_COLUMNS)) for row in rows]
        cac_note = SEGMENT_CAC_NOTE
    counts = movement_counts(data.ledger(), first, last)
    months = []
    for row in rows:
        item = row_json(row)
        # The lists themselves are their own report (subscription_customers_report): at
        # 10,000 customers they are megabytes a page showing the totals must not load.
        item["movement_counts"] = counts[row.month]
        months.append(item)
    return {
        "reporting_currency": selectors.reporting_currency(),
        "gross_margin": num(margin),
        "paid_channels": sorted(paid),
        "segment": segment,
        "channel": channel,
        "columns": list(SAAS_COLUMNS),
        "cac_note": cac_note,
        "months": months,
        "missing_fx": data.missing_fx + convert.missing,
    }


def subscription_customers_report(
    *, start: dt.date, end: dt.date, segment: str | None = None, channel: str | None = None
) -> dict:
    """The customers behind every movement of every month of the period (the drill-down of
    :func:`subscriptions_report`'s movements, same filters), each with what it adds to the
    movement's total: their amounts sum to the movement's figure."""
    first, last = month_of(start), month_of(end)
    data = customer_events(end=month_end(last), segment=segment, channel=channel)
    customers = movement_customers(data.ledger(), first, last, data.details)
    return {
        "reporting_currency": selectors.reporting_currency(),
        "segment": segment,
        "channel": channel,
        "months": [
            {"month": month.isoformat(), "customers": moves}
            for month, moves in sorted(customers.items())
        ],
        "missing_fx": data.missing_fx,
    }
