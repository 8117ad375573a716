"""Budget reports inside ``ledger_shared`` read each year's GL totals once and
give exactly the results they give alone: periods inside one year, across two years and a
whole year, every grouping, foreign-currency lines converted per day, a line without a rate
listed as missing and a line whose account is still pending."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.reports.budget import budget_report, ledger_shared
from metrics.selectors import BUDGET_GROUPINGS
from tests.factories import (
    AccountFactory,
    BudgetFactory,
    BudgetLineFactory,
    CampaignFactory,
    ConnectorFactory,
    DepartmentFactory,
    FxRateFactory,
    GLLineFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 7, 10)
PERIODS = [
    (dt.date(2026, 2, 10), dt.date(2026, 5, 20)),
    (dt.date(2025, 6, 15), dt.date(2026, 3, 31)),  # across two years
    (dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
    (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
]


@pytest.fixture
def ledger():
    source = ConnectorFactory()
    sales, ops = DepartmentFactory(source=source, code="S"), DepartmentFactory(source=source)
    revenue = AccountFactory(source=source, type="revenue")
    expense = AccountFactory(source=source, type="expense")
    campaign = CampaignFactory(source=source)
    days = [dt.date(2025, 3, 3), dt.date(2025, 11, 14), dt.date(2026, 1, 31), dt.date(2026, 4, 2)]
    for number, day in enumerate(days):
        FxRateFactory(source=source, date=day, rate=Decimal("1.0812345678"))
        for account, department in ((revenue, sales), (expense, ops), (expense, sales)):
            GLLineFactory(
                source=source,
                account=account,
                department=department,
                posting_date=day,
                amount=Decimal("1234.57") + number,
            )
            GLLineFactory(
                source=source,
                account=account,
                department=department,
                posting_date=day,
                amount=Decimal("99.99"),
                currency_id="EUR",
                campaign=campaign if number % 2 else None,
            )
    # No EUR rate that day: left out and listed as missing.
    GLLineFactory(source=source, account=revenue, posting_date=dt.date(2026, 3, 9), amount=7)
    GLLineFactory(
        source=source,
        account=revenue,
        posting_date=dt.date(2026, 3, 9),
        amount=Decimal("5.55"),
        currency_id="EUR",
    )
    # An account reference still pending: unclassified.
    GLLineFactory(
        source=source,
        account=None,
        account_external_id="pending",
        department=ops,
        posting_date=dt.date(2025, 12, 30),
        amount=Decimal("-42.10"),
    )
    for year in (2025, 2026):
        budget = BudgetFactory(source=source, fiscal_year=year)
        for month in (1, 4, 11):
            BudgetLineFactory(
                source=source,
                budget=budget,
                account=revenue,
                department=sales,
                month=dt.date(year, month, 1),
                amount=Decimal("3000.00"),
            )


def _comparable(report: dict) -> dict:
    """The report with its missing rates in a fixed order (a report lists them in the order
    the database returns rows). On SQLite, whose rates come back as binary floats with many
    digits, a sum near the 28-digit Decimal precision keeps more or fewer trailing zeros
    depending on the order of the rows, so the unrounded values compare as numbers there;
    on PostgreSQL (exact NUMERIC rates) they must be the same text."""
    rows = report["rows"]
    if connection.vendor != "postgresql":
        rows = [{**row, "exact": {k: Decimal(v) for k, v in row["exact"].items()}} for row in rows]
    missing = sorted(report["missing_fx"], key=lambda r: sorted(r.items()))
    return {**report, "rows": rows, "missing_fx": missing}


@pytest.mark.parametrize("group_by", sorted(BUDGET_GROUPINGS))
def test_shared_reads_give_the_reports_read_alone(ledger, group_by):
    alone = [
        budget_report(start=start, end=end, group_by=group_by, today=TODAY)
        for start, end in PERIODS
    ]
    with ledger_shared():
        shared = [
            budget_report(start=start, end=end, group_by=group_by, today=TODAY)
            for start, end in PERIODS
        ]
    assert [_comparable(r) for r in shared] == [_comparable(r) for r in alone]
    assert any(r["missing_fx"] for r in alone) and any(r["rows"] for r in alone)


def _ledger_queries(report) -> int:
    with CaptureQueriesContext(connection) as queries:
        report()
    return sum('"metrics_glline"' in q["sql"] for q in queries.captured_queries)


def test_each_year_and_grouping_is_read_once_inside_the_block(ledger):
    def report(start, end, group_by="department"):
        return lambda: budget_report(start=start, end=end, group_by=group_by, today=TODAY)

    with ledger_shared():
        assert _ledger_queries(report(dt.date(2026, 2, 1), dt.date(2026, 2, 28))) == 1
        assert _ledger_queries(report(dt.date(2026, 3, 1), dt.date(2026, 6, 30))) == 0
        with ledger_shared():  # nested: the outer block's reads
            assert _ledger_queries(report(dt.date(2026, 5, 1), dt.date(2026, 5, 31))) == 0
        assert _ledger_queries(report(dt.date(2025, 12, 1), dt.date(2026, 1, 31))) == 1  # 2025
        # One read of a year serves the account, type and department groupings alike.
        for group_by in ("account", "account_type", "department_account"):
            assert _ledger_queries(report(dt.date(2026, 2, 1), dt.date(2026, 2, 28), group_by)) == 0
        assert _ledger_queries(report(dt.date(2026, 2, 1), dt.date(2026, 2, 28), "campaign")) == 1
    # Outside the block every report reads the ledger itself again.
    assert _ledger_queries(report(dt.date(2026, 3, 1), dt.date(2026, 6, 30))) == 1
