"""The close's pure arithmetic, with dates worked out on a calendar."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from closing import computations as c

D = dt.date


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        # January 2026 ends on Saturday the 31st.
        (D(2026, 1, 31), 0, D(2026, 1, 31)),  # the last day itself, weekend or not
        (D(2026, 1, 31), 1, D(2026, 2, 2)),  # Monday
        (D(2026, 1, 31), 2, D(2026, 2, 3)),
        (D(2026, 1, 31), 5, D(2026, 2, 6)),  # Friday
        (D(2026, 1, 31), 6, D(2026, 2, 9)),  # over the weekend to Monday
        # July 2026 ends on Friday the 31st.
        (D(2026, 7, 31), 1, D(2026, 8, 3)),
        (D(2026, 7, 31), 3, D(2026, 8, 5)),
        # December 2025 ends on a Wednesday: New Year's Day counts (no holiday calendar).
        (D(2025, 12, 31), 1, D(2026, 1, 1)),
        (D(2025, 12, 31), 3, D(2026, 1, 5)),
    ],
)
def test_working_day_after(day, n, expected):
    assert c.working_day_after(day, n) == expected


def test_working_day_after_refuses_a_negative_count():
    with pytest.raises(ValueError, match="0 or more"):
        c.working_day_after(D(2026, 1, 31), -1)


def test_due_date_counts_from_the_months_last_day():
    # September 2026 ends on Wednesday the 30th.
    assert c.due_date(D(2026, 9, 1), 0) == D(2026, 9, 30)
    assert c.due_date(D(2026, 9, 1), 1) == D(2026, 10, 1)
    assert c.due_date(D(2026, 9, 1), 3) == D(2026, 10, 5)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 2, 1), None),  # Sunday the 1st: working day 1 of January's close is Monday
        (D(2026, 2, 2), D(2026, 1, 1)),
        (D(2026, 2, 20), D(2026, 1, 1)),  # a missed day is caught up
        (D(2026, 8, 2), None),
        (D(2026, 8, 3), D(2026, 7, 1)),
    ],
)
def test_close_month_due(today, expected):
    assert c.close_month_due(today) == expected


def test_period_end_is_local_midnight_starting_the_next_month():
    paris = ZoneInfo("Europe/Paris")
    end = c.period_end(D(2026, 9, 1), paris)
    assert end == dt.datetime(2026, 10, 1, 0, 0, tzinfo=paris)
    assert end.astimezone(dt.UTC) == dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)
    assert c.period_end(D(2026, 12, 1), dt.UTC) == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


# The default template's shape: 1 sync -> 2 freshness -> 3 reconcile; 4 review (manual);
# 5 recompute after 3 and 4; 6 deliver -> 7 lock.
DEPENDS = {2: [1], 3: [2], 5: [3, 4], 6: [5], 7: [6]}


def test_startable_needs_every_dependency_done():
    statuses = dict.fromkeys(range(1, 8), c.WAITING)
    assert c.startable(statuses, DEPENDS) == [1, 4]
    statuses.update({1: c.DONE, 2: c.DONE, 3: c.DONE, 4: c.READY})
    assert c.startable(statuses, DEPENDS) == []  # recompute waits for the review too
    statuses[4] = c.DONE
    assert c.startable(statuses, DEPENDS) == [5]


def test_blocking_failures_reach_every_dependant_downstream():
    statuses = {1: c.DONE, 2: c.DONE, 3: c.FAILED, 4: c.DONE, 5: c.WAITING, 6: c.WAITING}
    statuses[7] = c.WAITING
    assert c.blocking_failures(5, statuses, DEPENDS) == [3]
    assert c.blocking_failures(7, statuses, DEPENDS) == [3]
    assert c.blocking_failures(4, statuses, DEPENDS) == []
    assert c.blocking_failures(3, statuses, DEPENDS) == []  # the failure itself


def test_dependency_order_puts_each_task_after_what_it_waits_for():
    order = {1: 10, 2: 20, 3: 30, 4: 5, 5: 50, 6: 60, 7: 70}  # the review sorts first
    assert c.dependency_order(order, DEPENDS) == [4, 1, 2, 3, 5, 6, 7]
    assert c.dependency_order({1: 2, 2: 1}, {2: [1]}) == [1, 2]  # dependency beats order


def test_has_cycle():
    assert not c.has_cycle(DEPENDS)
    assert c.has_cycle({1: [2], 2: [3], 3: [1]})
    assert c.has_cycle({1: [1]})


@pytest.mark.parametrize(
    ("finished_on", "today", "late"),
    [
        (None, D(2026, 10, 5), False),  # due today
        (None, D(2026, 10, 6), True),  # unfinished past its due date
        (D(2026, 10, 5), D(2026, 10, 20), False),  # finished on time
        (D(2026, 10, 6), D(2026, 10, 20), True),  # finished a day late
    ],
)
def test_is_late(finished_on, today, late):
    assert c.is_late(due=D(2026, 10, 5), finished_on=finished_on, today=today) is late
