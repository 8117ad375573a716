"""A stored FY2026 forecast for the company of tests/dashboards/conftest.py (Sales SAL and
Engineering ENG; accounts 4000 revenue, 5000 cost of sales, 6100 and 6500 expenses), in the
shape of metrics/reports/forecast.py, made at the end of November 2026.

Every group has the same actual in each closed month (January to November), one forecast
for December with its ranges (forecast ± spread for 80%, ± 2 spread for 95%) and the same
budget every month, so the figures are easy to work by hand:
predicted outturn = 11 x actual + forecast, its 80% range = predicted ± spread,
FY budget = 12 x budget.
"""

from __future__ import annotations

from decimal import Decimal

from metrics.params import forecast_params
from metrics.snapshots import Kind, snapshot_store

FISCAL_YEAR = 2026
ORIGIN = "2026-11-01"
MONTHS = [f"2026-{month:02d}-01" for month in range(1, 13)]
YEAR = {"period": "ytd", "year": "2026"}
TYPE_LABELS = {"revenue": "Revenue", "cost_of_sales": "Cost of sales", "expense": "Expense"}
MODEL_LABELS = {
    "ets": "ETS (additive, damped trend, seasonal)",
    "seasonal_naive": "Seasonal naive",
    "drift": "Drift",
    "naive": "Naive (last value)",
}
DEPARTMENTS = {"SAL": "Sales", "ENG": "Engineering"}
ACCOUNTS = {
    "4000": "Subscription revenue",
    "5000": "Hosting",
    "6100": "Rent",
    "6500": "Advertising",
}


def group(
    level: str,
    key: str,
    *,
    actual: str,
    budget: str,
    forecast: str,
    spread: str,
    department: str = "",
    account: str = "",
    account_type: str = "",
    model: str = "",
    fallback: str = "",
    probability: str = "0.42",
) -> dict:
    a, b, f, s = (Decimal(v) for v in (actual, budget, forecast, spread))
    months = []
    for month in MONTHS:
        closed = month <= ORIGIN
        months.append(
            {
                "month": month,
                "closed": closed,
                "actual": str(a) if closed else None,
                "budget": str(b),
                "forecast": None if closed else str(f),
                "lower80": None if closed else str(f - s),
                "upper80": None if closed else str(f + s),
                "lower95": None if closed else str(f - 2 * s),
                "upper95": None if closed else str(f + 2 * s),
            }
        )
    predicted = 11 * a + f
    fy_budget = 12 * b
    variance = predicted - fy_budget
    kind = account_type or key
    favourable = (
        None if not variance else (variance > 0) == (kind in ("revenue", "operating_income"))
    )
    return {
        "level": level,
        "key": key,
        "label": key,
        "department": department,
        "department_label": DEPARTMENTS.get(department, ""),
        "account": account,
        "account_label": ACCOUNTS.get(account, ""),
        "account_type": account_type,
        "model": model,
        "model_label": MODEL_LABELS.get(model, ""),
        "fallback": fallback,
        "months": months,
        "full_year_budget": f"{fy_budget:.2f}",
        "predicted_outturn": f"{predicted:.2f}",
        "outturn_lower80": f"{predicted - s:.2f}",
        "outturn_upper80": f"{predicted + s:.2f}",
        "outturn_lower95": f"{predicted - 2 * s:.2f}",
        "outturn_upper95": f"{predicted + 2 * s:.2f}",
        "predicted_variance": f"{variance:.2f}",
        "predicted_variance_pct": f"{variance / fy_budget * 100:.2f}" if fy_budget else "undefined",
        "favourable": favourable,
        "probability_over_budget": probability,
    }


def series(dept, account, account_type, model, actual, budget, forecast, spread, fallback=""):
    return group(
        "series",
        f"{dept}|{account}",
        department=dept,
        account=account,
        account_type=account_type,
        model=model,
        fallback=fallback,
        actual=actual,
        budget=budget,
        forecast=forecast,
        spread=spread,
    )


def department(dept, account_type, actual, budget, forecast, spread):
    return group(
        "department",
        f"{dept}|{account_type}",
        department=dept,
        account_type=account_type,
        actual=actual,
        budget=budget,
        forecast=forecast,
        spread=spread,
    )


SHORT_HISTORY = "Fewer than 24 closed months of history: a seasonal model cannot be fitted."


def forecast_result() -> dict:
    groups = [
        series("SAL", "4000", "revenue", "ets", "1000", "900", "1050", "20"),
        series("ENG", "4000", "revenue", "naive", "200", "300", "200", "10"),
        series("ENG", "5000", "cost_of_sales", "drift", "150", "100", "160", "10"),
        series("SAL", "6100", "expense", "ets", "100", "100", "110", "5"),
        series(
            "SAL", "6500", "expense", "seasonal_naive", "250", "400", "260", "12", SHORT_HISTORY
        ),
        series("ENG", "6100", "expense", "ets", "300", "250", "300", "8"),
        department("SAL", "revenue", "1000", "900", "1050", "20"),
        department("SAL", "expense", "350", "500", "370", "15"),
        department("ENG", "revenue", "200", "300", "200", "10"),
        department("ENG", "cost_of_sales", "150", "100", "160", "10"),
        department("ENG", "expense", "300", "250", "300", "8"),
        group(
            "account_type", "revenue", actual="1200", budget="1200", forecast="1250", spread="30"
        ),
        group(
            "account_type",
            "cost_of_sales",
            actual="150",
            budget="100",
            forecast="160",
            spread="10",
            probability="0.97",
        ),
        group("account_type", "expense", actual="650", budget="750", forecast="670", spread="20"),
        group(
            "company",
            "operating_income",
            actual="400",
            budget="350",
            forecast="420",
            spread="40",
        ),
    ]
    accuracy = {
        "window": ["2025-12-01", ORIGIN],
        "horizons": [1, 3, 6],
        "overall": [
            {
                "horizon": h,
                "accuracy_percent": acc,
                "direction_accuracy_percent": "81.00",
                "points": 66,
            }
            for h, acc in ((1, "96.10"), (3, "92.40"), (6, "88.00"))
        ],
        "by_model": [
            {
                "model": "ets",
                "model_label": MODEL_LABELS["ets"],
                "horizon": 1,
                "accuracy_percent": "95.50",
                "direction_accuracy_percent": "80.00",
                "points": 66,
            },
            {
                "model": "naive",
                "model_label": MODEL_LABELS["naive"],
                "horizon": 1,
                "accuracy_percent": "undefined",
                "direction_accuracy_percent": "undefined",
                "points": 0,
            },
        ],
        "by_group": [
            {
                "group": "expense",
                "label": "Expense",
                "horizon": 1,
                "accuracy_percent": "97.25",
                "direction_accuracy_percent": "75.00",
                "points": 33,
            }
        ],
        "outturn_error": [
            {"origin": f"2025-{month:02d}-01", "error_percent": f"{13 - month}.50"}
            for month in range(1, 13)
        ],
        "model_mix": {"ets": 3, "seasonal_naive": 1, "drift": 1, "naive": 1, "zero": 0},
        "scorecard_accuracy_percent": "96.10",
    }
    return {
        "fiscal_year": FISCAL_YEAR,
        "origin": ORIGIN,
        "reporting_currency": "USD",
        "budget_versions": [1],
        "months": MONTHS,
        "groups": groups,
        "accuracy": accuracy,
        "series_count": 6,
    }


def store_forecast(result: dict | None = None, fiscal_year: int = FISCAL_YEAR):
    """Store the forecast snapshot the way the forecast task does (params of the current
    budget version)."""
    return snapshot_store(
        kind=Kind.FORECAST,
        params=forecast_params(fiscal_year=fiscal_year),
        result=result if result is not None else forecast_result(),
        inputs_freshness=None,
    )
