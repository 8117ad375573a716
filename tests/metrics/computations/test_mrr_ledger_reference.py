"""The month-at-a-time :class:`MrrLedger` and :func:`mrr_month` against a straightforward
reference (each customer's MRR at each month end by bisect, every customer visited every
month) on random events: several events per customer and day, cancellations, reactivations,
amounts with different exponents. Results must be the same Decimals, exponent included
(``str`` equal), also when the context's precision makes the sums round."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import date
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from finhub.core.calendar import add_months, month_end, month_of, months_between
from metrics.computations.presentation import ratio
from metrics.computations.retention import cohort_table, ledger_segments, segment_ledgers
from metrics.computations.subscriptions import (
    MrrLedger,
    SubscriptionEvent,
    mrr_month,
    mrr_months,
    trailing_12_grr,
    trailing_12_nrr,
)

ZERO = Decimal(0)
FIRST = date(2025, 1, 1)
AMOUNTS = [
    Decimal("0"),
    Decimal("0.00"),
    Decimal("100"),
    Decimal("100.00"),
    Decimal("99.5"),
    Decimal("250.10"),
    Decimal("12.3456789012"),
    Decimal("1E+2"),
    Decimal("-5"),
    Decimal("98765.43"),
    Decimal("0.0000012"),
    Decimal("1.5E-8"),
    Decimal("7.25"),
]


class ReferenceLedger:
    """The ledger as first written: bisect per customer per month end."""

    def __init__(self, events):
        self.days = defaultdict(list)
        self.values = defaultdict(list)
        ordered = sorted(enumerate(events), key=lambda item: (item[1].occurred_on, item[0]))
        for _position, event in ordered:
            self.days[event.customer_id].append(event.occurred_on)
            self.values[event.customer_id].append(Decimal(event.mrr))
        self.first_month = month_of(ordered[0][1].occurred_on) if ordered else None

    def mrr_at(self, customer, day):
        days = self.days.get(customer)
        if not days:
            return ZERO
        position = bisect_right(days, day)
        return self.values[customer][position - 1] if position else ZERO

    def month_end_mrr(self, month):
        end = month_end(month)
        return {customer: self.mrr_at(customer, end) for customer in self.days}

    def first_active_month(self, customer):
        for day, value in zip(self.days[customer], self.values[customer], strict=True):
            if value > 0 and self.mrr_at(customer, month_end(day)) > 0:
                return month_of(day)
        return None


def reference_month(ledger: ReferenceLedger, month: date) -> dict:
    previous_month = add_months(month, -1)
    before = ledger.month_end_mrr(previous_month)
    after = ledger.month_end_mrr(month)
    new = reactivation = expansion = contraction = churn = ZERO
    new_ids, reactivated_ids, churned_ids = set(), set(), set()
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
    return exact(
        {
            "month": month,
            "start_mrr": start_mrr,
            "end_mrr": end_mrr,
            "new": new,
            "reactivation": reactivation,
            "expansion": expansion,
            "contraction": contraction,
            "churn": churn,
            "new_customers": new_ids,
            "reactivated_customers": reactivated_ids,
            "churned_customers": churned_ids,
            "active_at_start": active_start,
            "active_at_end": active_end,
            "arpa": ratio(end_mrr, active_end),
            "logo_churn_rate": ratio(len(churned_ids), active_start),
            "nrr": ratio(start_mrr + expansion - contraction - churn, start_mrr),
            "grr": ratio(start_mrr - contraction - churn, start_mrr),
        }
    )


def reference_trailing(ledger: ReferenceLedger, month: date, gross: bool):
    then = ledger.month_end_mrr(add_months(month, -12))
    now = ledger.month_end_mrr(month)
    cohort = {customer: value for customer, value in then.items() if value > 0}
    if gross:
        retained = sum((min(now.get(c, ZERO), v) for c, v in cohort.items()), ZERO)
    else:
        retained = sum((now.get(c, ZERO) for c in cohort), ZERO)
    return ratio(retained, sum(cohort.values(), ZERO))


def reference_cohorts(ledger: ReferenceLedger, last: date) -> list:
    cohorts = defaultdict(set)
    for customer in ledger.days:
        first = ledger.first_active_month(customer)
        if first is not None and first <= last:
            cohorts[first].add(customer)
    rows = []
    for cohort in sorted(cohorts):
        members = cohorts[cohort]
        start = ledger.month_end_mrr(cohort)
        start_mrr = sum((start[customer] for customer in members), ZERO)
        logo, revenue = [], []
        for month in months_between(cohort, last):
            now = ledger.month_end_mrr(month)
            values = [now.get(customer, ZERO) for customer in members]
            logo.append(ratio(sum(1 for value in values if value > 0), len(members)))
            revenue.append(ratio(sum((v for v in values if v > 0), ZERO), start_mrr))
        rows.append((cohort, members, start_mrr, logo, revenue))
    return exact(rows)


def exact(value):
    """``value`` with every Decimal as its text (so 1.0 and 1.00 differ) and sets sorted."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(map(str, value))
    if isinstance(value, list | tuple):
        return [exact(item) for item in value]
    return value


def fast_month(ledger: MrrLedger, month: date) -> dict:
    result = mrr_month(ledger, month)
    return exact({name: getattr(result, name) for name in result.__dataclass_fields__})


def fast_cohorts(ledger: MrrLedger, last: date) -> list:
    return exact(
        [
            (row.cohort, row.members, row.start_mrr, row.logo, row.revenue)
            for row in cohort_table(ledger, last)
        ]
    )


events_strategy = st.lists(
    st.builds(
        SubscriptionEvent,
        customer_id=st.sampled_from(["a", "b", "c", "d", "e", 1, 2, 3]),
        # 20 months, often several events of a customer on one day or in one month.
        occurred_on=st.builds(
            lambda month, day: add_months(FIRST, month).replace(day=day),
            st.integers(0, 19),
            st.sampled_from([1, 2, 15, 28]),
        ),
        mrr=st.sampled_from(AMOUNTS),
    ),
    max_size=40,
)


def check_against_reference(events: list[SubscriptionEvent], make=MrrLedger) -> None:
    """``make(events)`` (a fresh :class:`MrrLedger` at each call) against the reference."""
    fast, reference = make(events), ReferenceLedger(events)
    assert fast.first_month == reference.first_month
    assert fast.customers == list(reference.days)
    months = list(months_between(add_months(FIRST, -2), add_months(FIRST, 23)))
    for customer in reference.days:
        assert fast.first_active_month(customer) == reference.first_active_month(customer)
    # Months out of order: the month-end states are built from whichever came first.
    for month in [*months[::3], *months]:
        assert exact(fast.month_end_mrr(month)) == exact(reference.month_end_mrr(month))
        assert list(fast.month_end_mrr(month)) == list(reference.month_end_mrr(month))
    fresh = make(events)
    for month in reversed(months):
        assert fast_month(fresh, month) == reference_month(reference, month)
        assert fast_month(fresh, month) == reference_month(reference, month)  # memoized
        for gross, function in ((False, trailing_12_nrr), (True, trailing_12_grr)):
            assert exact(function(fresh, month)) == exact(
                reference_trailing(reference, month, gross)
            )
    assert [fast_month(fast, m.month) for m in mrr_months(fast, months[0], months[-1])] == [
        reference_month(reference, month) for month in months
    ]
    for last in (months[0], months[5], months[-1]):
        assert fast_cohorts(make(events), last) == reference_cohorts(reference, last)


@settings(max_examples=300, deadline=None)
@given(events_strategy)
def test_ledger_matches_reference(events):
    check_against_reference(events)


@settings(max_examples=100, deadline=None)
@given(events_strategy)
def test_ledger_matches_reference_when_sums_round(events):
    """With 6 digits of precision the sums of MRR round: the same rounding as the reference's
    sums in customer order."""
    with localcontext() as context:
        context.prec = 6
        check_against_reference(events)


@settings(max_examples=150, deadline=None)
@given(events_strategy, st.sets(st.sampled_from(["a", "b", "c", 1, 2])), st.booleans())
def test_restricted_ledger_matches_reference(events, kept, swept):
    """A ledger cut to some customers (before or after it worked out its months) is the
    ledger of their events."""

    def make(chosen):
        whole = MrrLedger(events)
        if swept:
            mrr_months(whole, FIRST, add_months(FIRST, 20))
        return whole.restricted(kept)

    check_against_reference([event for event in events if event.customer_id in kept], make)


@settings(max_examples=100, deadline=None)
@given(events_strategy)
def test_ledger_segments_are_segment_ledgers(events):
    """``ledger_segments`` (cut from one ledger) = ``segment_ledgers`` (built per segment)."""
    segment_of = {"a": "SMB", "b": "SMB", 1: "Enterprise", 2: ""}  # others: no segment
    whole = MrrLedger(events)
    mrr_months(whole, FIRST, add_months(FIRST, 20))
    cut, built = ledger_segments(whole, segment_of), segment_ledgers(events, segment_of)
    assert list(cut) == list(built)
    months = list(months_between(add_months(FIRST, -1), add_months(FIRST, 21)))
    for name, ledger in built.items():
        assert cut[name].first_month == ledger.first_month
        assert cut[name].customers == ledger.customers
        assert [fast_month(cut[name], month) for month in months] == [
            fast_month(ledger, month) for month in months
        ]


def test_not_finite_mrr_is_summed_like_the_reference():
    """An infinite MRR has no exact integer sum: the month's MRR is summed value by value."""
    infinite = Decimal("Infinity")
    events = [
        SubscriptionEvent("a", date(2025, 1, 5), Decimal("10.5")),
        SubscriptionEvent("b", date(2025, 2, 5), infinite),
        SubscriptionEvent("b", date(2025, 4, 5), Decimal("0")),
    ]
    fast, reference = MrrLedger(events), ReferenceLedger(events)
    for month in months_between(date(2024, 12, 1), date(2025, 5, 1)):
        values = reference.month_end_mrr(month).values()
        expected = (
            sum(1 for value in values if value > 0),
            sum((value for value in values if value > 0), ZERO),
        )
        assert exact(fast.active(month)) == exact(expected)
    assert fast.active(date(2025, 3, 1)) == (2, infinite)


def test_many_customers_many_months():
    """A larger history: 300 customers over 30 months, a deterministic mix of starts,
    changes, same-day corrections, cancellations and comebacks."""
    events = []
    for number in range(300):
        start = add_months(FIRST, number % 17)
        events.append(SubscriptionEvent(number, start.replace(day=1 + number % 27), AMOUNTS[2]))
        for step in range(number % 6):
            day = add_months(start, step * (1 + number % 4)).replace(day=1 + (number * step) % 28)
            events.append(SubscriptionEvent(number, day, AMOUNTS[(number + step) % len(AMOUNTS)]))
            if (number + step) % 5 == 0:  # a second event that day
                events.append(SubscriptionEvent(number, day, AMOUNTS[(step * 3) % len(AMOUNTS)]))
    check_against_reference(events)
