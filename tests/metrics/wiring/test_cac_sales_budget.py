"""CAC, sales analytics and budget vs actual through the database (hand-worked numbers)."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics.params import budget_params, period_params
from metrics.snapshots import snapshot_get_or_compute
from tests import factories as f
from tests.metrics.wiring.conftest import END, START

pytestmark = pytest.mark.django_db
MARCH_1 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def compute(kind, params):
    return snapshot_get_or_compute(kind=kind, params=params).result


@pytest.fixture
def src(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return f.ConnectorFactory(name="erp")


def test_cac_with_zero_new_customers_is_undefined_not_a_crash(src):
    marketing = f.AccountFactory(source=src, is_sales_marketing=True)
    f.GLLineFactory(source=src, account=marketing, posting_date=dt.date(2026, 3, 3))
    result = compute("cac", period_params(start=START, end=END))
    (month,) = result["months"]
    assert month["new_customers"] == 0
    assert month["sales_marketing_cost"] == "100.00"
    assert month["blended_cac"] == "undefined"
    assert month["ltv_to_cac"] == "undefined"
    assert month["payback_months"] == "undefined"


def test_cac_blended_paid_channel_and_payback(src, settings):
    settings.FINHUB_GROSS_MARGIN = Decimal("0.50")
    paid = f.ChannelFactory(source=src, name="Search", is_paid=True)
    organic = f.ChannelFactory(source=src, name="Organic")
    marketing = f.AccountFactory(source=src, is_sales_marketing=True)
    other = f.AccountFactory(source=src, is_sales_marketing=False)
    f.GLLineFactory(
        source=src, account=marketing, posting_date=dt.date(2026, 3, 3), amount="900.00"
    )
    f.GLLineFactory(
        source=src, account=marketing, posting_date=dt.date(2026, 3, 9), amount="300.00"
    )
    f.GLLineFactory(source=src, account=other, posting_date=dt.date(2026, 3, 9), amount="5000.00")
    f.CampaignSpendFactory(
        source=src,
        campaign=f.CampaignFactory(source=src, channel=paid),
        date=dt.date(2026, 3, 2),
        amount="400.00",
    )
    customers = [
        f.CustomerFactory(source=src, acquisition_channel=channel)
        for channel in (paid, paid, organic)
    ]
    for customer in customers:
        f.SubscriptionEventFactory(
            source=src, customer=customer, occurred_on=dt.date(2026, 3, 5), mrr_after="100.00"
        )
    # A customer active since February is not new in March.
    f.SubscriptionEventFactory(source=src, occurred_on=dt.date(2026, 2, 5), mrr_after="100.00")
    result = compute("cac", period_params(start=START, end=END))
    assert result["gross_margin"] == "0.50"
    assert result["paid_channels"] == ["Search"]
    (month,) = result["months"]
    assert month["new_customers"] == 3
    assert month["sales_marketing_cost"] == "1200.00"
    assert Decimal(month["blended_cac"]) == Decimal("400")  # 1200 / 3
    assert Decimal(month["paid_cac"]) == Decimal("200")  # 400 / 2 paid-channel customers
    assert Decimal(month["channel_cac"]["Search"]) == Decimal("200")
    assert Decimal(month["channel_cac"]["Organic"]) == Decimal("0")
    assert Decimal(month["arpa"]) == Decimal("100")  # 400 MRR / 4 active
    # No churn in March: churn rate 0 → LTV undefined.
    assert month["ltv"] == "undefined"
    assert month["ltv_12_month"] == "undefined"  # fewer than 12 months of history
    # payback = 400 / (100 x 0.5) = 8 months.
    assert Decimal(month["payback_months"]) == Decimal("8")


def test_sales_analytics_and_consistency(dataset):
    result = compute("sales", period_params(start=START, end=END))
    assert (result["won_deals"], result["lost_deals"]) == (4, 1)
    assert Decimal(result["win_rate"]) == Decimal("0.8")
    assert result["won_revenue"] == "1460.00"  # 1100 + 300 + 50 + 10
    assert Decimal(result["average_deal_size"]) == Decimal("365")
    assert Decimal(result["sales_finance_consistency"]) == Decimal("0.5")
    assert {row["why"] for row in result["mismatches"]} == {
        "amount differs from the ERP revenue",
        "no ERP revenue (invoice) recorded for the deal",
    }
    assert sorted(row["amount"] for row in result["mismatches"]) == ["10.00", "300.00"]
    # All deals opened 1 Feb: outside the March pipeline.
    assert result["pipeline"] == []
    assert result["sales_cost"] == "0.00"
    assert result["sales_roi"] == "undefined"


def test_quota_attainment_and_sales_roi(src):
    team = f.SalesTeamFactory(source=src, name="East")
    rep = f.SalesRepFactory(source=src, name="Rita", team=team)
    f.QuotaFactory(
        source=src,
        rep=rep,
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 3, 31),
        amount="1000.00",
    )
    f.DealFactory(
        source=src,
        rep=rep,
        amount="250.00",
        opened_at=MARCH_1,
        closed_at=dt.datetime(2026, 3, 9, tzinfo=dt.UTC),
    )
    f.DealFactory(
        source=src,
        rep=rep,
        amount="500.00",
        opened_at=MARCH_1,
        closed_at=dt.datetime(2026, 3, 19, tzinfo=dt.UTC),
    )
    sales = f.DepartmentFactory(source=src, name="Sales")
    f.GLLineFactory(source=src, department=sales, posting_date=dt.date(2026, 3, 2), amount="500.00")
    result = compute("sales", period_params(start=START, end=END))
    (rep_row,) = result["quota_attainment"]["reps"]
    assert (rep_row["rep"], rep_row["team"]) == ("Rita", "East")
    assert Decimal(rep_row["attainment"]) == Decimal("0.75")
    assert Decimal(result["quota_attainment"]["teams"][0]["attainment"]) == Decimal("0.75")
    assert result["sales_cost"] == "500.00"
    assert Decimal(result["sales_roi"]) == Decimal("0.5")  # (750 - 500) / 500
    median = result["sales_cycle_days"]["median"]
    assert Decimal(median) == Decimal("13")  # 8 and 18 days
    assert Decimal(result["sales_cycle_days"]["mean"]) == Decimal("13")


@pytest.fixture
def budget_data(src):
    revenue = f.AccountFactory(source=src, code="4000", name="Sales revenue", type="revenue")
    rent = f.AccountFactory(source=src, code="6100", name="Rent", type="expense")
    travel = f.AccountFactory(source=src, code="6200", name="Travel", type="expense")
    budget = f.BudgetFactory(source=src)
    old = f.BudgetFactory(source=src, version=1, is_current=False, name="Old")
    for account, actual, planned in (
        (revenue, "1200.00", "1000.00"),
        (rent, "900.00", "1000.00"),
        (travel, "1100.00", "1000.00"),
    ):
        f.GLLineFactory(
            source=src, account=account, posting_date=dt.date(2026, 1, 20), amount=actual
        )
        for month in (1, 2):
            f.BudgetLineFactory(
                source=src,
                budget=budget,
                account=account,
                month=dt.date(2026, month, 1),
                amount=planned,
            )
        f.BudgetLineFactory(
            source=src, budget=old, account=account, month=dt.date(2026, 1, 1), amount="10.00"
        )
    return budget, old


def test_budget_variance_signs_per_account_type(budget_data, monkeypatch):
    # Today 1 Feb 2026: January is the last closed month (the outturn's "as of").
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 2, 1))
    params = budget_params(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    rows = {row["key"]: row for row in compute("budget_variance", params)["rows"]}
    assert rows["4000"]["variance"] == "200.00"
    assert Decimal(rows["4000"]["variance_pct"]) == Decimal("0.2")
    assert rows["4000"]["favourable"] is True  # revenue above budget
    assert rows["6100"]["variance"] == "-100.00"
    assert rows["6100"]["favourable"] is True  # expense below budget
    assert rows["6200"]["variance"] == "100.00"
    assert rows["6200"]["favourable"] is False  # expense above budget
    # Outturn for 2026 as of January (closed): January actual + February budget.
    assert rows["4000"]["full_year_outturn"] == "2200.00"
    assert rows["4000"]["full_year_budget"] == "2000.00"


def test_budget_variance_by_type_and_chosen_version(budget_data):
    _current, old = budget_data
    params = budget_params(
        start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), group_by="account_type", budget=old.pk
    )
    result = compute("budget_variance", params)
    rows = {row["key"]: row for row in result["rows"]}
    assert result["budget_versions"] == [old.pk]
    assert rows["expense"]["actual"] == "2000.00"
    assert rows["expense"]["budget"] == "20.00"
    assert rows["revenue"]["budget"] == "10.00"
