"""Subscription metrics: MRR movements, ARPA, logo churn, NRR and GRR (docs/metrics.md,
"Subscriptions and MRR").

Input is a list of :class:`SubscriptionEvent` (the customer's MRR *after* the event). Months
are represented by the ``date`` of their first day (:func:`finhub.core.calendar.month_of`).

"Had MRR before" (new vs reactivation) is judged on month ends, like every other movement:
a customer whose MRR was > 0 at the end of some month before m-1 reactivates; one that never
had MRR > 0 at a month end is new. So each customer is new exactly once, in the first month
it ends with MRR, which is also the month that counts for CAC (docs/metrics.md, "CAC, LTV and
payback" "customers whose
first MRR is in m").
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finhub.core.calendar import add_months, month_end, month_of, months_between
from metrics.computations.presentation import ratio

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class SubscriptionEvent:
    """A subscription change: ``mrr`` is the customer's MRR after it (0 = cancelled).

    Several events of one customer on one day apply in the order given.
    """

    customer_id: Hashable
    occurred_on: date
    mrr: Decimal


class MrrLedger:
    """Every customer's MRR over time, from its events (docs/metrics.md, "Subscriptions and MRR").

    A customer's MRR at a month end is the MRR after their last event on or before that day.
    """

    def __init__(self, events: Iterable[SubscriptionEvent]):
        days: dict[Hashable, list[date]] = defaultdict(list)
        values: dict[Hashable, list[Decimal]] = defaultdict(list)
        ordered = sorted(enumerate(events), key=lambda item: (item[1].occurred_on, item[0]))
        for _position, event in ordered:
            days[event.customer_id].append(event.occurred_on)
            values[event.customer_id].append(Decimal(event.mrr))
        self._days = dict(days)
        self._values = dict(values)
        self.first_month: date | None = month_of(ordered[0][1].occurred_on) if ordered else None
        self._month_end_cache: dict[date, dict[Hashable, Decimal]] = {}
        self._first_active: dict[Hashable, date | None] | None = None

    @property
    def customers(self) -> list[Hashable]:
        return list(self._days)

    def mrr_at(self, customer_id: Hashable, day: date) -> Decimal:
        """MRR after the customer's last event on or before ``day`` (0 before any event)."""
        days = self._days.get(customer_id)
        if not days:
            return ZERO
        position = bisect_right(days, day)
        return self._values[customer_id][position - 1] if position else ZERO

    def month_end_mrr(self, month: date) -> dict[Hashable, Decimal]:
        """MRR of every customer (with an event by then) at the end of ``month``."""
        month = month_of(month)
        cached = self._month_end_cache.get(month)
        if cached is None:
            end = month_end(month)
            cached = {customer: self.mrr_at(customer, end) for customer in self._days}
            self._month_end_cache[month] = cached
        return cached

    def first_active_month(self, customer_id: Hashable) -> date | None:
        """The first month at whose end the customer had MRR > 0 (None if never)."""
        if self._first_active is None:
            self._first_active = {}
            for customer, days in self._days.items():
                first = None
                for day, value in zip(days, self._values[customer], strict=True):
                    if value > 0 and self.mrr_at(customer, month_end(day)) > 0:
                        first = month_of(day)
                        break
                self._first_active[customer] = first
        return self._first_active.get(customer_id)


@dataclass(frozen=True)
class MrrMonth:
    """MRR movements and ratios of one month (docs/metrics.md, "Subscriptions and MRR"). ``None`` =
    undefined."""

    month: date
    start_mrr: Decimal
    end_mrr: Decimal
    new: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    new_customers: frozenset[Hashable]
    reactivated_customers: frozenset[Hashable]
    churned_customers: frozenset[Hashable]
    active_at_start: int
    active_at_end: int
    arpa: Decimal | None
    logo_churn_rate: Decimal | None
    nrr: Decimal | None
    grr: Decimal | None

    @property
    def net_new(self) -> Decimal:
        """Net new MRR = new + reactivation + expansion - contraction - churn."""
        return self.new + self.reactivation + self.expansion - self.contraction - self.churn


def mrr_month(ledger: MrrLedger, month: date) -> MrrMonth:
    """The MRR movements of ``month`` (docs/metrics.md, "Subscriptions and MRR").

    Each customer's month-end MRR at m-1 (prev) and m (now): new (prev = 0, never had MRR at
    an earlier month end, now > 0: now), reactivation (prev = 0, had MRR before, now > 0:
    now), expansion (0 < prev < now: now - prev), contraction (0 < now < prev: prev - now),
    churn (prev > 0, now = 0: prev). Active customers have MRR > 0 at month end; ARPA = MRR /
    active customers; logo churn = churned / active at end of m-1; NRR = (start + expansion -
    contraction - churn) / start and GRR = (start - contraction - churn) / start, with start
    the MRR at end of m-1 (only customers active then can expand, contract or churn).
    """
    month = month_of(month)
    previous_month = add_months(month, -1)
    before = ledger.month_end_mrr(previous_month)
    after = ledger.month_end_mrr(month)
    new = reactivation = expansion = contraction = churn = ZERO
    new_ids: set[Hashable] = set()
    reactivated_ids: set[Hashable] = set()
    churned_ids: set[Hashable] = set()
    for customer, now in after.items():
        prev = before.get(customer, ZERO)
        if prev <= 0 < now:
            first = ledger.first_active_month(customer)
            if first is not None and first < previous_month:
                reactivation += now
                reactivated_ids.add(customer)
            else:
                new += now
                new_ids.add(customer)
        elif 0 < prev < now:
            expansion += now - prev
        elif 0 < now < prev:
            contraction += prev - now
        elif prev > 0 >= now:
            churn += prev
            churned_ids.add(customer)
    start_mrr = sum((value for value in before.values() if value > 0), ZERO)
    end_mrr = sum((value for value in after.values() if value > 0), ZERO)
    active_start = sum(1 for value in before.values() if value > 0)
    active_end = sum(1 for value in after.values() if value > 0)
    return MrrMonth(
        month=month,
        start_mrr=start_mrr,
        end_mrr=end_mrr,
        new=new,
        reactivation=reactivation,
        expansion=expansion,
        contraction=contraction,
        churn=churn,
        new_customers=frozenset(new_ids),
        reactivated_customers=frozenset(reactivated_ids),
        churned_customers=frozenset(churned_ids),
        active_at_start=active_start,
        active_at_end=active_end,
        arpa=ratio(end_mrr, active_end),
        logo_churn_rate=ratio(len(churned_ids), active_start),
        nrr=ratio(start_mrr + expansion - contraction - churn, start_mrr),
        grr=ratio(start_mrr - contraction - churn, start_mrr),
    )


def mrr_months(ledger: MrrLedger, first: date, last: date) -> list[MrrMonth]:
    """:func:`mrr_month` for every month from ``first`` to ``last`` inclusive."""
    return [mrr_month(ledger, month) for month in months_between(first, last)]


def trailing_12_nrr(ledger: MrrLedger, month: date) -> Decimal | None:
    """Trailing-12-month NRR at m = Σ MRR at m of the customers active at m-12 / Σ their MRR
    at m-12 (docs/metrics.md, "Subscriptions and MRR"); ``None`` when nobody was active at m-12."""
    then = ledger.month_end_mrr(add_months(month_of(month), -12))
    now = ledger.month_end_mrr(month)
    cohort = {customer: value for customer, value in then.items() if value > 0}
    retained = sum((now.get(customer, ZERO) for customer in cohort), ZERO)
    return ratio(retained, sum(cohort.values(), ZERO))


def trailing_12_grr(ledger: MrrLedger, month: date) -> Decimal | None:
    """Trailing-12-month GRR at m: as :func:`trailing_12_nrr` with min(MRR at m, MRR at
    m-12) per customer (docs/metrics.md, "Subscriptions and MRR")."""
    then = ledger.month_end_mrr(add_months(month_of(month), -12))
    now = ledger.month_end_mrr(month)
    cohort = {customer: value for customer, value in then.items() if value > 0}
    retained = sum(
        (min(now.get(customer, ZERO), value) for customer, value in cohort.items()), ZERO
    )
    return ratio(retained, sum(cohort.values(), ZERO))
