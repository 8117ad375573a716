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
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, getcontext
from typing import TypeVar

from finhub.core.calendar import add_months, month_of, months_between
from metrics.computations.presentation import ratio

ZERO = Decimal("0")
_Group = TypeVar("_Group", bound=Hashable)


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

    Built for many months at a time: one pass over each customer's events gives, per month
    with events, who changed and their MRR at the end of the month before and of that month
    (:meth:`month_changes`), and every customer's first active month. A month's full
    ``{customer: MRR}`` is the month before's with those changes applied; the count and sum of
    the MRR > 0 at a month end (:meth:`active`) are carried from month to month as exact
    integers, so a month costs what changed in it, not the number of customers. The events
    are kept in flat lists (a customer's are a slice), not a list per customer: few objects
    for the garbage collector to walk.
    """

    def __init__(self, events: Iterable[SubscriptionEvent]):
        # A stable sort by day: events of one day keep the order given.
        ordered = sorted(events, key=_occurred_on)
        index: dict[Hashable, int] = {}
        owner = []
        for event in ordered:
            number = index.get(event.customer_id)
            if number is None:
                number = index[event.customer_id] = len(index)
            owner.append(number)
        # Each customer's events together, customers in the order of their first event.
        order = sorted(range(len(ordered)), key=owner.__getitem__)
        self._day = [ordered[position].occurred_on for position in order]
        self._value = [Decimal(ordered[position].mrr) for position in order]
        starts = [0] * (len(index) + 1)
        for number in owner:
            starts[number + 1] += 1
        for number in range(len(index)):
            starts[number + 1] += starts[number]
        self._customers = list(index)
        self._low = dict(zip(self._customers, starts, strict=False))
        self._high = dict(zip(self._customers, starts[1:], strict=True))
        self.first_month: date | None = month_of(ordered[0].occurred_on) if ordered else None
        self._reset()

    def _reset(self) -> None:
        self._month_end_cache: dict[date, dict[Hashable, Decimal]] = {}
        self._first_active: dict[Hashable, date | None] | None = None
        self._changes: dict[date, _Changes] = {}
        self._change_months: list[date] = []
        self._summaries: dict[str, list[dict[Hashable, _Active]]] = {}
        self._scale = 0
        self._mrr_months: dict[date, MrrMonth] = {}
        self._trailing: dict[date, tuple[Decimal, Decimal, Decimal]] = {}

    @property
    def customers(self) -> list[Hashable]:
        return list(self._customers)

    def restricted(self, customers: Collection[Hashable]) -> MrrLedger:
        """The ledger of only ``customers``' events: the same as ``MrrLedger`` of those
        events, made from this one (sharing its event lists, and what it has worked out)."""
        parts = self.split(
            {customer: True for customer in self._customers if customer in customers}
        )
        return parts[True] if parts else self._part([])

    def split(self, group_of: Mapping[Hashable, _Group]) -> dict[_Group, MrrLedger]:
        """One ledger per group of customers (``group_of``: customer -> group; customers
        missing from it are left out), each the same as ``MrrLedger`` of its customers'
        events, made from this one in one pass (sharing its event lists, and what it has
        worked out)."""
        members: dict[_Group, list[Hashable]] = {}
        for customer in self._customers:
            if customer in group_of:
                members.setdefault(group_of[customer], []).append(customer)
        parts = {group: self._part(customers) for group, customers in members.items()}
        if self._first_active is not None:
            for month in self._change_months:
                changes = self._changes[month]
                positions: dict[_Group, list[int]] = {}
                for position, customer in enumerate(changes.customers):
                    if customer in group_of:
                        positions.setdefault(group_of[customer], []).append(position)
                for group, kept in positions.items():
                    parts[group]._changes[month] = changes.taken(kept)
            for part in parts.values():
                part._change_months = list(part._changes)
        return parts

    def _part(self, customers: list[Hashable]) -> MrrLedger:
        """A ledger of ``customers`` (in this one's order) sharing this one's event lists;
        when this one has swept its events, their months' changes are for the caller to
        fill in (:meth:`split`)."""
        part = MrrLedger.__new__(MrrLedger)
        part._day, part._value = self._day, self._value
        part._customers = customers
        part._low = {customer: self._low[customer] for customer in customers}
        part._high = {customer: self._high[customer] for customer in customers}
        lows = part._low.values()
        part.first_month = month_of(min(self._day[low] for low in lows)) if lows else None
        part._reset()
        if self._first_active is not None:
            part._first_active = {customer: self._first_active[customer] for customer in customers}
            part._scale = self._scale  # any scale <= every exponent gives the same sums
        return part

    def mrr_at(self, customer_id: Hashable, day: date) -> Decimal:
        """MRR after the customer's last event on or before ``day`` (0 before any event)."""
        low = self._low.get(customer_id)
        if low is None:
            return ZERO
        position = bisect_right(self._day, day, low, self._high[customer_id])
        return self._value[position - 1] if position > low else ZERO

    def _sweep(self) -> None:
        """One pass over every customer's events (in customer order): per month with events,
        the customers with an event in it and their MRR at the end of the month before and
        of that month (:class:`_Changes`), and each customer's first month ending with
        MRR > 0."""
        first_active: dict[Hashable, date | None] = {}
        changes: dict[date, _Changes] = {}
        months: dict[date, date] = {}
        days, values, high = self._day, self._value, self._high
        scale = 0
        for customer, low in self._low.items():
            last = high[customer] - 1
            before, before_units, before_exponent = ZERO, 0, None
            first = None
            for position in range(low, last + 1):
                day = days[position]
                if position < last:
                    following = days[position + 1]
                    if following.year == day.year and following.month == day.month:
                        continue  # not the customer's last event of the month
                month = months.get(day)
                if month is None:
                    month = months[day] = month_of(day)
                now = values[position]
                units, exponent = _coefficient(now)
                found = changes.get(month)
                if found is None:
                    found = changes[month] = _Changes()
                found.customers.append(customer)
                found.before.append(before)
                found.now.append(now)
                found.before_units.append(before_units)
                found.before_exponent.append(before_exponent)
                found.units.append(units)
                found.exponent.append(exponent)
                if exponent is not None:
                    if first is None:
                        first = month
                    if exponent < scale:
                        scale = exponent
                before, before_units, before_exponent = now, units, exponent
            first_active[customer] = first
        self._change_months = sorted(changes)
        self._changes = {month: changes[month] for month in self._change_months}
        self._scale = scale
        self._first_active = first_active

    def _last_change_month(self, month: date) -> date | None:
        """The last month on or before ``month`` with an event (its month end MRR is
        ``month``'s); None before the first event."""
        if self._first_active is None:
            self._sweep()
        position = bisect_right(self._change_months, month)
        return self._change_months[position - 1] if position else None

    def _month(self, month: date) -> _Changes | None:
        if self._first_active is None:
            self._sweep()
        return self._changes.get(month)

    def month_changes(self, month: date) -> list[tuple[Hashable, Decimal, Decimal]]:
        """``(customer, MRR at the end of the month before, MRR at the end of ``month``)`` of
        every customer with an event in ``month``, in :attr:`customers` order (any other
        customer's MRR is the same at both month ends)."""
        changes = self._month(month_of(month))
        if changes is None:
            return []
        return list(zip(changes.customers, changes.before, changes.now, strict=True))

    def month_end_mrr(self, month: date) -> dict[Hashable, Decimal]:
        """MRR of every customer (with an event by then) at the end of ``month``."""
        month = month_of(month)
        cached = self._month_end_cache.get(month)
        if cached is None:
            anchor = self._last_change_month(month)
            if anchor is None:
                cached = dict.fromkeys(self._customers, ZERO)
            elif anchor != month:
                cached = self.month_end_mrr(anchor)
            else:
                position = self._change_months.index(anchor)
                known = [m for m in self._change_months[:position] if m in self._month_end_cache]
                if known:
                    cached = dict(self._month_end_cache[known[-1]])
                    after = self._change_months.index(known[-1]) + 1
                else:
                    cached = dict.fromkeys(self._customers, ZERO)
                    after = 0
                for changed in self._change_months[after : position + 1]:
                    changes = self._changes[changed]
                    cached.update(zip(changes.customers, changes.now, strict=True))
            self._month_end_cache[month] = cached
        return cached

    def first_active_month(self, customer_id: Hashable) -> date | None:
        """The first month at whose end the customer had MRR > 0 (None if never)."""
        if self._first_active is None:
            self._sweep()
            assert self._first_active is not None
        return self._first_active.get(customer_id)

    def _summary(self, by: str) -> list[dict[Hashable, _Active]]:
        """Per month with events (``_change_months`` order), the customers with MRR > 0 at its
        end per group (``by``: ``"all"`` one group None, ``"cohort"`` the first active
        month), as :class:`_Active`: carried from month to month, each month changing only
        the groups of the customers with an event in it."""
        found = self._summaries.get(by)
        if found is not None:
            return found
        if self._first_active is None:
            self._sweep()
        first_active = self._first_active
        assert first_active is not None
        scale = self._scale
        powers: dict[int, int] = {}
        groups: dict[Hashable, _Active] = {}
        out = []
        for month in self._change_months:
            changes = self._changes[month]
            copied: set[Hashable] = set()
            for customer, units_before, exponent_before, units_now, exponent_now in zip(
                changes.customers,
                changes.before_units,
                changes.before_exponent,
                changes.units,
                changes.exponent,
                strict=True,
            ):
                if exponent_before is None and exponent_now is None:
                    continue
                key = None if by == "all" else first_active[customer]
                if key not in copied:
                    found_group = groups.get(key)
                    groups[key] = _Active() if found_group is None else found_group.copy()
                    copied.add(key)
                group = groups[key]
                for units, exponent, sign in (
                    (units_before, exponent_before, -1),
                    (units_now, exponent_now, 1),
                ):
                    if exponent is None:
                        continue
                    group.count += sign
                    if units < 0:
                        group.infinite += sign
                        continue
                    power = powers.get(exponent)
                    if power is None:
                        power = powers[exponent] = 10 ** (exponent - scale)
                    group.units += sign * units * power
                    left = group.exponents.get(exponent, 0) + sign
                    if left:
                        group.exponents[exponent] = left
                    else:
                        del group.exponents[exponent]
            out.append(dict(groups))
        self._summaries[by] = out
        return out

    def active_summary(
        self, month: date, by: str = "all"
    ) -> dict[Hashable, tuple[int, Decimal | None]]:
        """Per group (see :meth:`_summary`), the customers with MRR > 0 at the end of
        ``month``: how many and Σ their MRR, exactly ``sum(positive values, Decimal(0))``
        (None when that sum could round: sum the values themselves)."""
        anchor = self._last_change_month(month_of(month))
        if anchor is None:
            return {}
        summary = self._summary(by)[self._change_months.index(anchor)]
        return {key: (group.count, group.total(self._scale)) for key, group in summary.items()}

    def active(self, month: date) -> tuple[int, Decimal]:
        """How many customers have MRR > 0 at the end of ``month`` and Σ that MRR (exactly
        ``sum(MRR > 0 in month_end_mrr(month) order, Decimal(0))``)."""
        count, total = self.active_summary(month).get(None, (0, ZERO))
        if total is None:
            total = sum((v for v in self.month_end_mrr(month).values() if v > 0), ZERO)
        return count, total


def _occurred_on(event: SubscriptionEvent) -> date:
    return event.occurred_on


class _Changes:
    """The customers with an event in a month, in ledger order, as parallel lists: their MRR
    at the end of the month before and of the month, and those MRR as
    :func:`_coefficient`."""

    __slots__ = (
        "before",
        "before_exponent",
        "before_units",
        "customers",
        "exponent",
        "now",
        "units",
    )

    def __init__(self) -> None:
        self.customers: list[Hashable] = []
        self.before: list[Decimal] = []
        self.now: list[Decimal] = []
        self.before_units: list[int] = []
        self.before_exponent: list[int | None] = []
        self.units: list[int] = []
        self.exponent: list[int | None] = []

    def taken(self, positions: list[int]) -> _Changes:
        """The changes at ``positions`` only."""
        part = _Changes()
        for name in self.__slots__:
            values = getattr(self, name)
            setattr(part, name, [values[position] for position in positions])
        return part


_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _coefficient(value: Decimal) -> tuple[int, int | None]:
    """A positive MRR as (coefficient, exponent): ``value = coefficient * 10 ** exponent``;
    (-1, 0) when it is not finite; (0, None) when it is not > 0."""
    if not value > 0:
        return 0, None
    if not value.is_finite():
        return -1, 0
    text = str(value)  # plain notation has every digit of the coefficient (no tuple made)
    if "E" in text or "e" in text:  # scientific notation
        exponent = int(value.as_tuple().exponent)
        return int(value.scaleb(-exponent, _EXACT)), exponent
    point = text.find(".")
    if point < 0:
        return int(text), 0
    return int(text[:point] + text[point + 1 :]), point + 1 - len(text)


class _Active:
    """The MRR > 0 of a group of customers: how many, Σ as an integer number of
    ``10 ** scale`` (exact, in any order) and how many values have each exponent (the
    exponent of their Decimal sum from ``Decimal(0)`` is the smallest of them, or 0)."""

    __slots__ = ("count", "exponents", "infinite", "units")

    def __init__(self) -> None:
        self.count = 0
        self.units = 0
        self.exponents: dict[int, int] = {}
        self.infinite = 0  # values that are not finite: no exact integer sum

    def copy(self) -> _Active:
        other = _Active()
        other.count, other.units, other.exponents = self.count, self.units, dict(self.exponents)
        other.infinite = self.infinite
        return other

    def total(self, scale: int) -> Decimal | None:
        """Σ the values as Decimal addition in the current context gives it from
        ``Decimal(0)`` in any order, or None when that addition could round (more digits
        than the context's precision, or a value not finite: the caller sums the values
        themselves, in order)."""
        if self.infinite:
            return None
        exponent = min([0, *self.exponents])
        coefficient = self.units // 10 ** (exponent - scale)
        if len(str(coefficient)) > getcontext().prec:
            return None
        return Decimal(coefficient).scaleb(exponent, _EXACT)


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
    cached = ledger._mrr_months.get(month)
    if cached is not None:
        return cached
    previous_month = add_months(month, -1)
    new = reactivation = expansion = contraction = churn = ZERO
    new_ids: set[Hashable] = set()
    reactivated_ids: set[Hashable] = set()
    churned_ids: set[Hashable] = set()
    # Only the customers with an event in the month can move (the others end it as they
    # started), in the ledger's customer order.
    changes = ledger._month(month)
    moved = (
        () if changes is None else zip(changes.customers, changes.before, changes.now, strict=True)
    )
    for customer, prev, now in moved:
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
    active_start, start_mrr = ledger.active(previous_month)
    active_end, end_mrr = ledger.active(month)
    result = MrrMonth(
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
    ledger._mrr_months[month] = result
    return result


def mrr_months(ledger: MrrLedger, first: date, last: date) -> list[MrrMonth]:
    """:func:`mrr_month` for every month from ``first`` to ``last`` inclusive."""
    return [mrr_month(ledger, month) for month in months_between(first, last)]


def trailing_12_nrr(ledger: MrrLedger, month: date) -> Decimal | None:
    """Trailing-12-month NRR at m = Σ MRR at m of the customers active at m-12 / Σ their MRR
    at m-12 (docs/metrics.md, "Subscriptions and MRR"); ``None`` when nobody was active at m-12."""
    retained, _kept, start = _trailing_12(ledger, month)
    return ratio(retained, start)


def trailing_12_grr(ledger: MrrLedger, month: date) -> Decimal | None:
    """Trailing-12-month GRR at m: as :func:`trailing_12_nrr` with min(MRR at m, MRR at
    m-12) per customer (docs/metrics.md, "Subscriptions and MRR")."""
    _retained, kept, start = _trailing_12(ledger, month)
    return ratio(kept, start)


def _trailing_12(ledger: MrrLedger, month: date) -> tuple[Decimal, Decimal, Decimal]:
    """For the customers active at the end of m-12, in the ledger's order: Σ their MRR at m,
    Σ min(MRR at m, MRR at m-12) and Σ their MRR at m-12 (one pass, kept per month)."""
    month = month_of(month)
    found = ledger._trailing.get(month)
    if found is None:
        then = ledger.month_end_mrr(add_months(month, -12))
        now = ledger.month_end_mrr(month)
        retained = kept = start = ZERO
        for customer, value in then.items():
            if value > 0:
                current = now.get(customer, ZERO)
                retained += current
                kept += min(current, value)
                start += value
        found = ledger._trailing[month] = (retained, kept, start)
    return found
