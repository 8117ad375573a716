"""A custom period's CAC, subscriptions, cohorts or CS ROI report cut from a stored, longer report
(``metrics.period_cuts``) equals the report computed for the period; no cut while a change
it reads waits for the recompute, when the stored report left amounts out for want of an FX
rate, when the filters differ or the months are not covered (hand-worked dataset:
retention_data.py, January to March 2026)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.incremental import EVENT, TOUCHPOINT
from metrics.models import ChangedMonth, MetricSnapshot
from metrics.params import (
    attribution_params,
    default_attribution_model,
    period_params,
    subscriptions_params,
)
from metrics.period_cuts import history_requests, period_cut
from metrics.reports.cac import cac_report
from metrics.snapshots import COMPUTERS, snapshot_compute, snapshots_get, warm_requests
from tests import factories as f
from tests.metrics.wiring.retention_data import day, subscriptions_dataset

pytestmark = pytest.mark.django_db
Kind = MetricSnapshot.Kind
WHOLE = (dt.date(2025, 12, 1), day(3, 31))
PERIODS = [
    (day(1, 1), day(1, 31)),
    (day(1, 15), day(3, 3)),
    (day(2, 1), day(2, 28)),
    (day(3, 31), day(3, 31)),
    (day(1, 10), day(3, 31)),
    (dt.date(2025, 12, 20), day(2, 2)),  # a month before the first event
]
EVENTS_TABLE = 'FROM "metrics_subscriptionevent"'


@pytest.fixture
def data(retention_settings):
    return subscriptions_dataset()


def requests(start: dt.date, end: dt.date) -> list[tuple[str, dict]]:
    return [
        (Kind.CAC, period_params(start=start, end=end)),
        (Kind.SUBSCRIPTIONS, subscriptions_params(start=start, end=end)),
        (Kind.SUBSCRIPTIONS, subscriptions_params(start=start, end=end, segment="SMB")),
        (Kind.COHORTS, period_params(start=start, end=end)),
        (Kind.CS_ROI, period_params(start=start, end=end)),
    ]


def store_whole() -> None:
    """The covering reports, computed and stored after every write was recomputed."""
    ChangedMonth.objects.all().delete()
    for kind, params in requests(*WHOLE):
        snapshot_compute(kind=kind, params=params)


def test_cac_row_of_a_month_is_the_same_whatever_the_period_start(data):
    # The pooled 12-month churn counts subscription history only: a period starting a year
    # before the first event used to make March's 12-month-churn LTV defined.
    long = cac_report(start=dt.date(2025, 1, 1), end=day(3, 31))
    short = cac_report(start=day(3, 1), end=day(3, 31))
    assert long["months"][-1] == short["months"][0]
    assert short["months"][0]["new_customers"] == 1  # D


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_cut_equals_computed(data, start, end):
    store_whole()
    for kind, params in requests(start, end):
        cut = period_cut(kind, params)
        assert cut is not None, (kind, params)
        assert cut[0] == COMPUTERS[kind](params)
        assert cut[0].get("months") or cut[0].get("cohorts") or cut[0]["total"]["months"]


def test_read_served_by_a_cut_reads_no_event(data):
    store_whole()
    start, end = day(1, 15), day(3, 3)
    with CaptureQueriesContext(connection) as queries:
        served = snapshots_get(requests(start, end))
    assert not any(EVENTS_TABLE in query["sql"] for query in queries.captured_queries)
    assert [s.result for s in served] == [COMPUTERS[k](p) for k, p in requests(start, end)]
    whole = MetricSnapshot.objects.get(kind=Kind.CAC, period_start=WHOLE[0])
    assert served[0].inputs_freshness == whole.inputs_freshness


def test_no_cut_while_a_change_it_reads_waits(data):
    store_whole()
    ChangedMonth.objects.create(table=TOUCHPOINT, month=day(2, 1))  # not read by either
    assert period_cut(*requests(day(3, 1), day(3, 31))[0]) is not None
    ChangedMonth.objects.create(table=EVENT, month=day(2, 1))  # MRR from February on
    assert period_cut(*requests(day(3, 1), day(3, 31))[0]) is None
    assert period_cut(*requests(day(3, 1), day(3, 31))[1]) is None


def test_no_cut_from_a_report_missing_fx(data):
    customer = data["customers"]["A"]
    f.SubscriptionEventFactory(
        source=data["source"],
        customer=customer,
        occurred_on=day(2, 20),
        mrr_after=Decimal("90.00"),
        type="contraction",
        currency_id="GBP",  # no rate
    )
    store_whole()
    assert MetricSnapshot.objects.get(kind=Kind.CAC, period_start=WHOLE[0]).result["missing_fx"]
    assert period_cut(*requests(day(3, 1), day(3, 31))[0]) is None


def test_no_cut_across_filters_or_outside_the_months(data):
    store_whole()
    search = subscriptions_params(start=day(2, 1), end=day(2, 28), channel="Search")
    assert period_cut(Kind.SUBSCRIPTIONS, search) is None
    before = period_params(start=dt.date(2025, 11, 1), end=day(1, 31))
    assert period_cut(Kind.CAC, before) is None
    after = period_params(start=day(3, 1), end=day(4, 30))
    assert period_cut(Kind.CAC, after) is None
    assert period_cut(Kind.SALES, period_params(start=day(2, 1), end=day(2, 28))) is None


def test_whole_history_reports_are_warmed_first(data):
    expected = [
        (Kind.CAC, period_params(start=day(1, 1), end=day(3, 31))),
        (Kind.SUBSCRIPTIONS, subscriptions_params(start=day(1, 1), end=day(3, 31))),
        (Kind.COHORTS, period_params(start=day(1, 1), end=day(3, 31))),
        (Kind.CS_ROI, period_params(start=day(1, 1), end=day(3, 31))),
        (
            Kind.ATTRIBUTION_DAYS,
            attribution_params(model=default_attribution_model(), start=day(1, 1), end=day(3, 31)),
        ),
    ]
    assert history_requests(today=day(3, 20)) == expected
    assert warm_requests(today=day(3, 20))[:5] == expected


def test_no_history_without_data(db):
    assert history_requests(today=day(3, 20)) == []
