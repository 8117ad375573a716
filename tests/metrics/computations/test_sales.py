"""Sales metrics (docs/metrics.md, "Sales")."""

from datetime import UTC, date, datetime
from decimal import Decimal

from metrics.computations.sales import (
    amounts_consistent,
    average_deal_size,
    quota_attainment,
    sales_cycle,
    sales_finance_consistency,
    sales_roi,
    win_rate,
)

D = Decimal


def test_win_rate_and_average_deal_size():
    assert win_rate(won=3, lost=1) == D("0.75")
    assert win_rate(won=0, lost=0) is None
    assert average_deal_size([D("100"), D("250"), D("50")]) == D(400) / D(3)
    assert average_deal_size([]) is None


def test_sales_cycle_median_and_mean():
    deals = [
        (date(2026, 1, 1), date(2026, 1, 11)),  # 10 days
        (date(2026, 1, 1), date(2026, 1, 21)),  # 20
        (date(2026, 1, 1), date(2026, 2, 10)),  # 40
    ]
    cycle = sales_cycle(deals)
    assert cycle.median_days == D(20) and cycle.mean_days == D(70) / D(3)
    even = sales_cycle([*deals, (date(2026, 1, 1), date(2026, 1, 31))])  # + 30
    assert even.median_days == D(25) and even.mean_days == D(25)
    fractional = sales_cycle(
        [(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, 12, tzinfo=UTC))]
    )
    assert fractional.median_days == D("1.5")
    assert sales_cycle([]).median_days is None


def test_quota_attainment_and_sales_roi():
    assert quota_attainment(won_revenue=D("90000"), quota=D("120000")) == D("0.75")
    assert quota_attainment(won_revenue=D("1"), quota=D("0")) is None
    assert sales_roi(won_revenue=D("50000"), sales_cost=D("20000")) == D("1.5")
    assert sales_roi(won_revenue=D("50000"), sales_cost=D("0")) is None


def test_consistency_tolerance_half_percent_and_at_least_one_cent():
    assert amounts_consistent(D("1000.00"), D("1005.00"))  # 0.5% of 1000 = 5.00
    assert not amounts_consistent(D("1000.00"), D("1005.01"))
    assert amounts_consistent(D("1000.00"), D("995.00"))
    assert amounts_consistent(D("1.00"), D("1.01"))  # 0.5% = 0.005 < 1 cent minimum
    assert not amounts_consistent(D("1.00"), D("1.02"))
    assert not amounts_consistent(D("1.00"), None)  # no ERP revenue recorded
    assert amounts_consistent(D("1000.00"), D("1010.00"), tolerance=D("0.01"))


def test_sales_finance_consistency_ratio():
    pairs = [(D("100"), D("100")), (D("100"), D("90")), (D("100"), None), (D("10"), D("10.01"))]
    assert sales_finance_consistency(pairs) == D("0.5")
    assert sales_finance_consistency([]) is None
