"""Subscription reports inside ``subscriptions_shared`` read the subscription events and the
customer details once and build one MRR ledger per (end, segment, channel), and give exactly
the results they give alone (hand-worked dataset: retention_data.py)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.reports.cac import cac_report
from metrics.reports.cohorts import cohorts_report
from metrics.reports.cs_roi import cs_roi_report
from metrics.reports.subscriptions import (
    customer_events,
    subscription_customers_report,
    subscription_ledger,
    subscriptions_report,
    subscriptions_shared,
)
from tests.metrics.wiring.retention_data import day, subscriptions_dataset

pytestmark = pytest.mark.django_db

PERIODS = [
    (day(3, 1), day(3, 31)),
    (day(2, 10), day(3, 20)),
    (day(1, 1), day(3, 31)),
    (dt.date(2025, 11, 1), day(1, 31)),  # before the first event
]
EVENTS_TABLE = 'FROM "metrics_subscriptionevent"'
#: The customer details read (the CAC report's own read of the acquisition channels is not).
CUSTOMER_DETAILS = '"metrics_customer"."external_id"'


@pytest.fixture
def data(retention_settings):
    return subscriptions_dataset()


def reports(start: dt.date, end: dt.date) -> dict:
    """What the retention, CAC and drill-down pages compute for a period."""
    return {
        "subscriptions": subscriptions_report(start=start, end=end),
        "smb": subscriptions_report(start=start, end=end, segment="SMB"),
        "search": subscriptions_report(start=start, end=end, channel="Search"),
        "customers": subscription_customers_report(start=start, end=end),
        "search_customers": subscription_customers_report(start=start, end=end, channel="Search"),
        "cohorts": cohorts_report(start=start, end=end),
        "cs_roi": cs_roi_report(start=start, end=end),
        "cac": cac_report(start=start, end=end),
    }


def reads(queries: CaptureQueriesContext, text: str) -> int:
    return sum(1 for query in queries.captured_queries if text in query["sql"])


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_shared_reports_equal_alone(data, start, end):
    alone = reports(start, end)
    with subscriptions_shared():
        shared = reports(start, end)
        again = reports(start, end)  # the ledger's memoized months give the same
    assert shared == alone
    assert again == alone
    assert alone["subscriptions"]["months"]  # the reports are not empty
    assert alone["cs_roi"]["segments"]


def test_events_and_customers_read_once(data, django_assert_num_queries):
    start, end = day(2, 1), day(3, 31)
    with CaptureQueriesContext(connection) as alone:
        reports(start, end)
    # Alone: every report reads the events (the CAC report without the customers).
    assert reads(alone, EVENTS_TABLE) == 8
    assert reads(alone, CUSTOMER_DETAILS) == 7
    with CaptureQueriesContext(connection) as shared, subscriptions_shared():
        reports(start, end)
    assert reads(shared, EVENTS_TABLE) == 1
    assert reads(shared, CUSTOMER_DETAILS) == 1
    # Nothing else changes: the same queries less the 7 repeated reads of the events (each
    # with its FX rates) and the 6 of the customer details (each with the channel names).
    with (
        django_assert_num_queries(len(alone.captured_queries) - 7 * 2 - 6 * 2),
        subscriptions_shared(),
    ):
        reports(start, end)


def test_one_ledger_per_end_and_filter(data):
    end = day(3, 31)
    with subscriptions_shared():
        ledger, _missing = subscription_ledger(end=end)
        assert customer_events(end=end).ledger() is ledger
        assert customer_events(end=end, segment="SMB").ledger() is not ledger
        smb = customer_events(end=end, segment="SMB").ledger()
        assert customer_events(end=end, segment="SMB").ledger() is smb
        assert subscription_ledger(end=day(2, 28))[0] is not ledger
    # Outside a block each report builds its own.
    assert subscription_ledger(end=end)[0] is not subscription_ledger(end=end)[0]


def test_nested_block_reuses_the_outer_one_and_the_reads_end_with_it(data):
    start, end = day(3, 1), day(3, 31)
    with CaptureQueriesContext(connection) as queries, subscriptions_shared():
        cohorts_report(start=start, end=end)
        with subscriptions_shared():
            cs_roi_report(start=start, end=end)
        cac_report(start=start, end=end)
    assert reads(queries, EVENTS_TABLE) == 1
    with CaptureQueriesContext(connection) as after:
        cohorts_report(start=start, end=end)
    assert reads(after, EVENTS_TABLE) == 1  # read again: nothing kept after the block
