"""The ledger pre-aggregates (metrics/ledger_aggregates.py): budget vs actual read from them
equals budget vs actual read from the GL lines, for any period (whole months, months covered
in part, across years), every grouping, foreign currencies at daily rates, a day without a
rate and a pending account; a write through the ingestion path marks its months so they are
read from the GL lines until rebuilt; the rebuild deletes only the marks it read."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import ledger_aggregates
from metrics.ledger_aggregates import ledger_aggregates_refresh, valid_months
from metrics.models import LedgerDirtyMonth, LedgerMonthBuild, LedgerMonthTotal
from metrics.reports.budget import budget_report, ledger_shared
from metrics.selectors import BUDGET_GROUPINGS, sales_marketing_cost_rows
from records.ingestion.services import Actor, ingest_records
from tests import factories as f
from tests.metrics.test_budget_ledger_shared import PERIODS, TODAY, _comparable, ledger

pytestmark = pytest.mark.django_db
__all__ = ["ledger"]  # the fixture, shared with the ledger_shared tests
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2026, 12, 31)


def from_gl_lines(**kwargs) -> dict:
    """The report as read from the GL lines (no pre-aggregate valid)."""
    saved = ledger_aggregates.valid_months
    ledger_aggregates.valid_months = set  # type: ignore[assignment]
    try:
        return budget_report(today=TODAY, **kwargs)
    finally:
        ledger_aggregates.valid_months = saved


def _gl_reads(report) -> int:
    with CaptureQueriesContext(connection) as queries:
        report()
    return sum('"metrics_glline"' in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("group_by", sorted(BUDGET_GROUPINGS))
def test_reports_from_the_pre_aggregates_equal_reports_from_the_gl_lines(ledger, group_by):
    ledger_aggregates_refresh()
    assert valid_months() and LedgerMonthTotal.objects.exists()
    for start, end in PERIODS:
        fast = budget_report(start=start, end=end, group_by=group_by, today=TODAY)
        assert _comparable(fast) == _comparable(
            from_gl_lines(start=start, end=end, group_by=group_by)
        )
    assert any(
        budget_report(start=s, end=e, group_by=group_by, today=TODAY)["missing_fx"]
        for s, e in PERIODS
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.dates(min_value=FIRST, max_value=LAST),
    days=st.integers(min_value=0, max_value=500),
    group_by=st.sampled_from(["department", "account", "department_account", "account_type"]),
)
def test_any_period_equals_the_gl_lines(ledger, first, days, group_by):
    if not LedgerMonthBuild.objects.exists():
        ledger_aggregates_refresh()
    end = min(LAST, first + dt.timedelta(days=days))
    with ledger_shared():
        fast = budget_report(start=first, end=end, group_by=group_by, today=TODAY)
    slow = from_gl_lines(start=first, end=end, group_by=group_by)
    assert _comparable(fast) == _comparable(slow)


def test_built_months_read_no_gl_line_and_months_covered_in_part_read_days(ledger):
    ledger_aggregates_refresh()

    def report(start, end):
        return lambda: budget_report(start=start, end=end, group_by="department", today=TODAY)

    with ledger_shared():
        assert _gl_reads(report(dt.date(2026, 2, 1), dt.date(2026, 5, 31))) == 0
        assert _gl_reads(report(dt.date(2025, 6, 15), dt.date(2026, 3, 9))) == 0
    # Two queries for a whole-month report: validity and the year's month rows.
    with CaptureQueriesContext(connection) as queries:
        budget_report(
            start=dt.date(2026, 2, 1), end=dt.date(2026, 5, 31), group_by="account", today=TODAY
        )
    assert sum("metrics_ledger" in q["sql"] for q in queries.captured_queries) == 2


def _ingest_line(source, external_id: str, day: dt.date, amount: str, currency="USD") -> None:
    result = ingest_records(
        source=source,
        entity="gl_lines",
        records=[
            {
                "external_id": external_id,
                "account": "4000",
                "posting_date": day.isoformat(),
                "amount": amount,
                "currency": currency,
            }
        ],
        actor=Actor(via="api"),
    )
    assert not result.errors, result.errors


def test_a_write_marks_its_month_which_reads_the_gl_lines_until_rebuilt(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    source = f.ConnectorFactory()
    f.AccountFactory(source=source, external_id="4000", code="4000", type="revenue")
    _ingest_line(source, "L1", dt.date(2026, 3, 5), "100.00")
    _ingest_line(source, "L2", dt.date(2026, 4, 5), "50.00")
    ledger_aggregates_refresh()
    year = {dt.date(2026, month, 1) for month in range(1, 13)}  # the ledger's calendar year
    assert valid_months() == year

    _ingest_line(source, "L3", dt.date(2026, 4, 20), "7.25")  # April changes
    assert valid_months() == year - {dt.date(2026, 4, 1)}
    report = budget_report(
        start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 30), group_by="account", today=TODAY
    )
    assert Decimal(report["rows"][0]["exact"]["actual"]) == Decimal("157.25")

    summary = ledger_aggregates_refresh()
    assert summary["months"] == 1 and not LedgerDirtyMonth.objects.exists()
    assert valid_months() == year
    again = budget_report(
        start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 30), group_by="account", today=TODAY
    )
    assert again["rows"] == report["rows"]

    settings.FINHUB_REPORTING_CURRENCY = "EUR"  # built in another currency: not used
    assert valid_months() == set()


def test_an_fx_rate_change_marks_its_month(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    source = f.ConnectorFactory()
    f.AccountFactory(source=source, external_id="4000", code="4000", type="revenue")
    _ingest_line(source, "L1", dt.date(2026, 5, 5), "100.00", currency="EUR")
    ledger_aggregates_refresh()
    # No rate yet: kept in EUR on its day, so the report still lists it as missing.
    assert LedgerMonthTotal.objects.get().currency == "EUR"
    result = ingest_records(
        source=source,
        entity="fx_rates",
        records=[
            {
                "external_id": "EUR-2026-05-05",
                "currency": "EUR",
                "quote_currency": "USD",
                "date": "2026-05-05",
                "rate": "1.1000000000",
            }
        ],
        actor=Actor(via="api"),
    )
    assert not result.errors, result.errors
    assert dt.date(2026, 5, 1) not in valid_months()
    ledger_aggregates_refresh()
    total = LedgerMonthTotal.objects.get()
    assert (total.currency, Decimal(total.total)) == ("USD", Decimal("110"))


def test_the_rebuild_keeps_a_mark_written_while_it_ran(ledger, monkeypatch):
    LedgerDirtyMonth.objects.create(month=dt.date(2026, 4, 1))
    build = ledger_aggregates.month_build

    def build_while_writing(month):
        LedgerDirtyMonth.objects.create(month=dt.date(2026, 4, 1))  # a write during the build
        return build(month)

    monkeypatch.setattr(ledger_aggregates, "month_build", build_while_writing)
    ledger_aggregates_refresh()
    assert LedgerDirtyMonth.objects.count() == LedgerMonthBuild.objects.count()
    assert dt.date(2026, 4, 1) not in valid_months()


def test_a_mark_of_every_month_rebuilds_every_month(ledger):
    ledger_aggregates_refresh()
    LedgerDirtyMonth.objects.create(month=None)
    assert valid_months() == set()
    assert ledger_aggregates_refresh()["months"] == LedgerMonthBuild.objects.count()
    assert valid_months() == set(LedgerMonthBuild.objects.values_list("month", flat=True))


def test_sales_and_marketing_cost_of_whole_months_comes_from_the_pre_aggregates(ledger):
    from metrics.reports.cac import cac_report
    from records import models as m

    m.Account.objects.filter(type="expense").update(is_sales_marketing=True)
    ledger_aggregates_refresh()
    with CaptureQueriesContext(connection) as queries:
        rows = sales_marketing_cost_rows(start=dt.date(2025, 1, 1), end=dt.date(2026, 6, 30))
    assert not any('"metrics_glline"' in q["sql"] for q in queries.captured_queries)
    assert ("EUR", dt.date(2026, 3, 9), Decimal("5.55")) not in rows  # a revenue line
    saved = ledger_aggregates.valid_months
    ledger_aggregates.valid_months = set  # type: ignore[assignment]
    try:
        slow_rows = sales_marketing_cost_rows(start=dt.date(2025, 1, 1), end=dt.date(2026, 6, 30))
        slow = [cac_report(start=s, end=e) for s, e in PERIODS]
    finally:
        ledger_aggregates.valid_months = saved
    assert _by_month(rows) == _by_month(slow_rows) and _by_month(rows)
    fast = [cac_report(start=s, end=e) for s, e in PERIODS]
    assert [_sorted_missing(r) for r in fast] == [_sorted_missing(r) for r in slow]


def _by_month(rows) -> dict:
    """Σ per (currency, month) with the rates applied as the CAC report does."""
    from metrics.selectors import converter

    convert = converter(start=dt.date(2025, 1, 1), end=dt.date(2026, 12, 31))
    out: dict = {}
    for currency, day, amount in rows:
        value = convert(amount, currency, day)
        key = (day.replace(day=1), value is None)
        out[key] = out.get(key, Decimal(0)) + (amount if value is None else value)
    return out


def _sorted_missing(report: dict) -> dict:
    return {**report, "missing_fx": sorted(report["missing_fx"], key=lambda r: sorted(r.items()))}


def test_a_departments_cost_by_month_comes_from_the_pre_aggregates(ledger):
    from metrics.selectors import converter, department_cost_by_month

    ledger_aggregates_refresh()
    start, end = dt.date(2025, 1, 1), dt.date(2026, 12, 31)

    def cost():
        convert = converter(start=start, end=end)
        by_month = department_cost_by_month(
            start=start, end=end, departments=["S"], convert=convert
        )
        return by_month, sorted(convert.missing, key=lambda r: sorted(r.items()))

    with CaptureQueriesContext(connection) as queries:
        fast = cost()
    assert not any('"metrics_glline"' in q["sql"] for q in queries.captured_queries)
    saved = ledger_aggregates.valid_months
    ledger_aggregates.valid_months = set  # type: ignore[assignment]
    try:
        slow = cost()
    finally:
        ledger_aggregates.valid_months = saved
    assert fast == slow and fast[0]


@pytest.mark.parametrize("start, end", PERIODS)
def test_sales_cost_of_any_period_comes_from_the_pre_aggregates(ledger, settings, start, end):
    from metrics.selectors import converter, sales_cost_rows

    settings.FINHUB_SALES_DEPARTMENTS = ["S"]
    ledger_aggregates_refresh()

    def cost():
        convert = converter(start=start, end=end)
        rows = sales_cost_rows(start=start, end=end)
        total = sum((convert(t, c, d) or Decimal(0) for c, d, t in rows), Decimal(0))
        return total, convert.missing

    with CaptureQueriesContext(connection) as queries:
        fast = cost()
    assert not any('"metrics_glline"' in q["sql"] for q in queries.captured_queries)
    saved = ledger_aggregates.valid_months
    ledger_aggregates.valid_months = set  # type: ignore[assignment]
    try:
        slow = cost()
    finally:
        ledger_aggregates.valid_months = saved
    assert fast == slow and fast[0]
