"""The sales cycle computed on integer microseconds equals the cycle computed on Fractions of
a day with ``statistics.median`` (the reference below: the computation before it was made
fast), to the last digit, for datetimes, dates and a mix of both."""

import datetime as dt
import statistics
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from finhub.core.money import to_decimal
from metrics.computations.sales import SalesCycle, sales_cycle


def reference_days(created: dt.date, closed: dt.date) -> Fraction:
    if isinstance(created, dt.datetime) and isinstance(closed, dt.datetime):
        delta = closed - created
        return Fraction(
            delta.days * 86_400 * 10**6 + delta.seconds * 10**6 + delta.microseconds, 86_400 * 10**6
        )
    if isinstance(created, dt.datetime):
        created = created.date()
    if isinstance(closed, dt.datetime):
        closed = closed.date()
    return Fraction((closed - created).days)


def reference_cycle(pairs: list[tuple[dt.date, dt.date]]) -> SalesCycle:
    days = [reference_days(created, closed) for created, closed in pairs]
    if not days:
        return SalesCycle(deals=0, median_days=None, mean_days=None)
    return SalesCycle(
        deals=len(days),
        median_days=to_decimal(statistics.median(days)),
        mean_days=to_decimal(sum(days, Fraction(0)) / len(days)),
    )


ORIGIN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ZONES = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=-5)),
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
]


@st.composite
def moments(draw) -> dt.date:
    """A datetime (aware, any microsecond, in one of several offsets) or a date."""
    offset = draw(st.integers(min_value=-400 * 86_400 * 10**6, max_value=400 * 86_400 * 10**6))
    moment = (ORIGIN + dt.timedelta(microseconds=offset)).astimezone(draw(st.sampled_from(ZONES)))
    return moment.date() if draw(st.booleans()) else moment


# Pairs whose created may come after closed (negative cycles) and with repeats (ties).
pairs = st.lists(st.tuples(moments(), moments()), max_size=40)
datetime_pairs = st.lists(
    st.tuples(moments().filter(lambda m: isinstance(m, dt.datetime)), st.just(ORIGIN)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(pairs)
def test_sales_cycle_equals_the_fraction_median_and_mean(pairs):
    assert sales_cycle(pairs) == reference_cycle(pairs)


@settings(max_examples=200, deadline=None)
@given(datetime_pairs, st.integers(min_value=0, max_value=3))
def test_sales_cycle_with_ties_and_even_counts(pairs, repeats):
    doubled = pairs + pairs[:repeats]  # equal lengths, odd and even counts
    result = sales_cycle(iter(doubled))  # any iterable, read once
    assert result == reference_cycle(doubled)
    assert str(result.median_days) == str(reference_cycle(doubled).median_days)


def test_sales_cycle_middle_values_and_representation():
    day = dt.timedelta(days=1)
    odd = [(ORIGIN, ORIGIN + day * n + dt.timedelta(microseconds=1)) for n in (3, 1, 2)]
    assert sales_cycle(odd).median_days == to_decimal(
        Fraction(2 * 86_400 * 10**6 + 1, 86_400 * 10**6)
    )
    even = [(dt.date(2026, 1, 1), dt.date(2026, 1, 1) + day * n) for n in (1, 4)]
    cycle = sales_cycle(even)
    assert (str(cycle.median_days), str(cycle.mean_days)) == ("2.5", "2.5")
    assert sales_cycle([]) == SalesCycle(deals=0, median_days=None, mean_days=None)
