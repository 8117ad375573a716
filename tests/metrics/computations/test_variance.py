"""Budget vs actual (docs/metrics.md, "Budget vs actual")."""

from datetime import date
from decimal import Decimal

from metrics.computations.variance import budget_variance, full_year_outturn

D = Decimal


def test_revenue_above_budget_is_favourable():
    result = budget_variance(actual=D("120"), budget=D("100"), account_type="revenue")
    assert (result.variance, result.variance_pct, result.favourable) == (D("20"), D("0.2"), True)
    below = budget_variance(actual=D("90"), budget=D("100"), account_type="revenue")
    assert (below.variance, below.favourable) == (D("-10"), False)


def test_cost_and_expense_below_budget_is_favourable():
    over = budget_variance(actual=D("120"), budget=D("100"), account_type="cost")
    assert (over.variance, over.favourable) == (D("20"), False)
    under = budget_variance(actual=D("80"), budget=D("100"), account_type="expense")
    assert (under.variance, under.variance_pct, under.favourable) == (D("-20"), D("-0.2"), True)


def test_variance_pct_uses_absolute_budget_and_is_undefined_for_zero_budget():
    negative = budget_variance(actual=D("-50"), budget=D("-100"), account_type="revenue")
    assert negative.variance == D("50") and negative.variance_pct == D("0.5")
    zero = budget_variance(actual=D("10"), budget=D("0"), account_type="cost")
    assert zero.variance == D("10") and zero.variance_pct is None and zero.favourable is False


def test_on_budget_and_other_account_types_are_neither():
    assert budget_variance(actual=D("5"), budget=D("5"), account_type="revenue").favourable is None
    assert budget_variance(actual=D("9"), budget=D("5"), account_type="asset").favourable is None


def test_full_year_outturn():
    months = [date(2026, m, 1) for m in range(1, 13)]
    actual = {month: D("110") for month in months[:3]}
    budget = {month: D("100") for month in months}
    # 3 closed months of actuals (330) + 9 months of budget (900).
    assert full_year_outturn(
        actual_by_month=actual, budget_by_month=budget, closed_months=months[:3]
    ) == D("1230")
    # A closed month without GL lines counts 0.
    assert full_year_outturn(
        actual_by_month=actual, budget_by_month=budget, closed_months=months[:4]
    ) == D("1130")
