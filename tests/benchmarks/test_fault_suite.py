"""The fault suite's pure checks (benchmarks/faults/checks.py) and its worker queue list.

The suite itself (``make fault-test``) starts PostgreSQL, Redis and workers: too heavy for
pytest. What decides PASS/FAIL is tested here: a 1-cent difference, a row counted twice,
a bucket only one side has, and empty buckets that must not count.
"""

import datetime as dt
from decimal import Decimal

import pytest

from benchmarks.faults.checks import cents, duplicate_ids, month_of, totals_compare, totals_of
from benchmarks.faults.processes import free_port

JAN = dt.date(2026, 1, 1)
FEB = dt.date(2026, 2, 1)


def source():
    return {("gl_lines", JAN): (3, Decimal("100.10")), ("gl_lines", FEB): (2, Decimal("-5.00"))}


def test_equal_sides_reconcile_at_100_percent():
    comparison = totals_compare(label="erp", expected=source(), actual=source())
    assert comparison.ok
    assert comparison.matched_pct == Decimal("100.00")
    assert (comparison.buckets, comparison.expected_rows, comparison.actual_rows) == (2, 5, 5)
    assert comparison.actual_amount == Decimal("95.10")
    assert "reconciliation 100.00% (2/2 buckets)" in comparison.summary()


def test_one_cent_difference_is_flagged():
    ours = {**source(), ("gl_lines", JAN): (3, Decimal("100.11"))}
    comparison = totals_compare(label="erp", expected=source(), actual=ours)
    assert not comparison.ok
    assert comparison.matched_pct == Decimal("50.00")
    (diff,) = comparison.diffs
    assert diff.key == ("gl_lines", JAN)
    assert diff.expected == (3, Decimal("100.10"))
    assert diff.actual == (3, Decimal("100.11"))
    assert "differs" in comparison.summary()


def test_a_row_counted_twice_is_flagged_by_count_and_sum():
    # The same 40.00 line stored twice: one more row and 40.00 more in its month.
    ours = {**source(), ("gl_lines", FEB): (3, Decimal("35.00"))}
    comparison = totals_compare(label="erp", expected=source(), actual=ours)
    assert [d.key for d in comparison.diffs] == [("gl_lines", FEB)]
    assert comparison.actual_rows == comparison.expected_rows + 1


def test_a_bucket_only_one_side_has_is_a_difference_and_empty_ones_are_ignored():
    ours = {**source(), ("gl_lines", dt.date(2026, 3, 1)): (1, Decimal("1.00"))}
    theirs = {**source(), ("deals", JAN): (0, Decimal("0"))}  # nothing on either side
    comparison = totals_compare(label="erp", expected=theirs, actual=ours)
    assert [d.key for d in comparison.diffs] == [("gl_lines", dt.date(2026, 3, 1))]
    assert comparison.diffs[0].expected == (0, Decimal("0.00"))
    assert comparison.buckets == 3


def test_count_only_entities_compare_counts():
    theirs = {("accounts", None): (23, None)}
    assert totals_compare(label="x", expected=theirs, actual={("accounts", None): (23, None)}).ok
    assert not totals_compare(
        label="x", expected=theirs, actual={("accounts", None): (24, None)}
    ).ok


def test_totals_of_what_was_sent_counts_the_last_version_of_each_id_once():
    sent = [
        {"external_id": "a", "posting_date": "2026-01-31", "amount": "10.005"},
        {"external_id": "b", "posting_date": "2026-02-01", "amount": "-2.50"},
        {"external_id": "a", "posting_date": "2026-01-15", "amount": "7.25"},  # re-sent
    ]
    assert totals_of(sent, date_field="posting_date", amount_field="amount") == {
        JAN: (1, Decimal("7.25")),
        FEB: (1, Decimal("-2.50")),
    }


def test_helpers():
    assert duplicate_ids(["x", "y", "x", "z", "y"]) == ["x", "y"]
    assert duplicate_ids(["x"]) == []
    assert cents("1.005") == Decimal("1.01")  # half up, as the sandbox's control totals
    assert cents(None) is None
    utc_late = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert month_of(utc_late) == FEB  # months are UTC months
    assert 0 < free_port() < 65536


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ({}, ["celery"]),
        (
            {"connectors.tasks.*": {"queue": "sync"}, "metrics.*": {"queue": "metrics"}},
            ["celery", "metrics", "sync"],
        ),
    ],
)
def test_worker_consumes_every_routed_queue(settings, routes, expected):
    from benchmarks.faults.setup import worker_queues

    settings.CELERY_TASK_ROUTES = routes
    settings.CELERY_TASK_DEFAULT_QUEUE = "celery"
    settings.CELERY_TASK_QUEUES = ()
    assert worker_queues() == expected


def test_worker_consumes_every_declared_queue(settings):
    from kombu import Queue

    from benchmarks.faults.setup import worker_queues

    settings.CELERY_TASK_DEFAULT_QUEUE = "p-celery"
    settings.CELERY_TASK_QUEUES = (Queue("p-sync"), Queue("p-alerts"))
    assert worker_queues() == ["p-alerts", "p-celery", "p-sync"]
