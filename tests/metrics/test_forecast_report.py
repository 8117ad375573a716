"""The forecast report from ledger and budget data (metrics.reports.forecast)."""

import datetime as dt
from decimal import Decimal

import pytest

from finhub.core.calendar import add_months
from metrics import selectors
from metrics.reports.forecast import forecast_report
from tests.factories import (
    AccountFactory,
    BudgetFactory,
    BudgetLineFactory,
    ConnectorFactory,
    DepartmentFactory,
    FxRateFactory,
    GLLineFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = dt.date(2026, 11, 15)  # the origin is October 2026
INITIAL_LOAD = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
FIRST = dt.date(2024, 1, 1)
MONTHS = 34  # January 2024 … October 2026


def ledger(source, department, account, amount_of, *, months=MONTHS, created_at=INITIAL_LOAD):
    for i in range(months):
        month = add_months(FIRST, i)
        GLLineFactory(
            source=source,
            account=account,
            department=department,
            department_external_id=department.external_id,
            posting_date=month.replace(day=15),
            amount=D(amount_of(i)),
            created_at=created_at,
        )


def budget_lines(source, budget, department, account, amount):
    for month in range(1, 13):
        BudgetLineFactory(
            source=source,
            budget=budget,
            account=account,
            department=department,
            month=dt.date(2026, month, 1),
            amount=D(amount),
        )


@pytest.fixture
def company():
    source = ConnectorFactory()
    cs = DepartmentFactory(source=source, name="Customer Success", code="DEP-CS")
    sales = DepartmentFactory(source=source, name="Sales", code="DEP-SA")
    revenue = AccountFactory(source=source, code="4100", name="Subscriptions", type="revenue")
    salaries = AccountFactory(source=source, code="6100", name="Salaries", type="expense")
    budget = BudgetFactory(source=source, fiscal_year=2026, is_current=True)
    budget_lines(source, budget, cs, revenue, "1300.00")
    budget_lines(source, budget, cs, salaries, "400.00")
    budget_lines(source, budget, sales, salaries, "300.00")
    ledger(source, cs, revenue, lambda i: 1000 + 10 * i)
    ledger(source, cs, salaries, lambda i: 400 + (i % 3) * 5)
    ledger(source, sales, salaries, lambda i: 300)
    # A euro line in March 2026, converted at that day's rate: 10 EUR x 1.1 = 11.00 USD.
    FxRateFactory(source=source, currency_id="EUR", date=dt.date(2026, 3, 15), rate=D("1.1"))
    GLLineFactory(
        source=source,
        account=salaries,
        department=cs,
        department_external_id=cs.external_id,
        posting_date=dt.date(2026, 3, 15),
        amount=D("10.00"),
        currency_id="EUR",
        created_at=INITIAL_LOAD,
    )
    return source


def by_key(report, level):
    return {group["key"]: group for group in report["groups"] if group["level"] == level}


def test_report_shape_labels_and_closed_months(company, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):  # set-based: no query per series
        report = forecast_report(fiscal_year=2026, today=TODAY)
    assert report["origin"] == "2026-10-01"
    assert report["series_count"] == 3
    assert report["months"][0] == "2026-01-01" and len(report["months"]) == 12
    series = by_key(report, "series")
    assert set(series) == {"DEP-CS|4100", "DEP-CS|6100", "DEP-SA|6100"}
    revenue = series["DEP-CS|4100"]
    assert revenue["label"] == "4100 Subscriptions"
    assert revenue["department_label"] == "Customer Success"
    assert revenue["account_type"] == "revenue" and revenue["model"] in ("ets", "drift")
    october, november = revenue["months"][9], revenue["months"][10]
    assert october == {
        "month": "2026-10-01",
        "closed": True,
        "actual": "1330.00",  # 1000 + 10 x 33
        "budget": "1300.00",
        "forecast": None,
        "lower80": None,
        "upper80": None,
        "lower95": None,
        "upper95": None,
    }
    assert november["closed"] is False and november["actual"] is None
    assert D(november["lower95"]) <= D(november["forecast"]) <= D(november["upper95"])
    # A steady climb of 10 a month: the forecast continues it within a few units.
    assert abs(D(november["forecast"]) - D(1340)) < 15
    assert (
        series["DEP-CS|6100"]["months"][2]["actual"] == str(D(400 + (26 % 3) * 5) + D("11.00")) + ""
    )
    assert revenue["favourable"] is False  # revenue under budget
    assert D("0") <= D(revenue["probability_over_budget"]) <= D("1")
    accuracy = report["accuracy"]
    assert accuracy["window"] == ["2025-11-01", "2026-10-01"]
    assert [row["horizon"] for row in accuracy["overall"]] == [1, 3, 6]
    assert accuracy["overall"][0]["points"] == 36
    assert sum(accuracy["model_mix"].values()) == 3
    assert accuracy["scorecard_accuracy_percent"] == accuracy["overall"][0]["accuracy_percent"]
    assert [row["origin"] for row in accuracy["outturn_error"]] == [
        f"2025-{m:02d}-01" for m in range(1, 13)
    ]


def test_totals_add_exactly(company):
    report = forecast_report(fiscal_year=2026, today=TODAY)
    series = by_key(report, "series")
    parts = {
        "revenue": [series["DEP-CS|4100"]],
        "expense": [series["DEP-CS|6100"], series["DEP-SA|6100"]],
    }
    types = by_key(report, "account_type")
    income = by_key(report, "company")["operating_income"]
    for field in ("predicted_outturn", "full_year_budget"):
        for kind, groups in parts.items():
            assert D(types[kind][field]) == sum(D(g[field]) for g in groups)
        assert D(income[field]) == D(types["revenue"][field]) - D(types["expense"][field])
    for month in (10, 11):
        forecast = [D(g["months"][month]["forecast"]) for g in parts["expense"]]
        assert D(types["expense"]["months"][month]["forecast"]) == sum(forecast)
    # The total's interval is narrower than the parts' added (independent errors).
    width = D(types["expense"]["outturn_upper95"]) - D(types["expense"]["outturn_lower95"])
    widths = sum(D(g["outturn_upper95"]) - D(g["outturn_lower95"]) for g in parts["expense"])
    assert 0 < width <= widths
    department = by_key(report, "department")["DEP-CS|expense"]
    assert department["predicted_outturn"] == series["DEP-CS|6100"]["predicted_outturn"]
    assert income["label"] == "Operating income" and income["model"] == ""


def test_late_lines_count_from_their_arrival():
    """A June line stored in October (after the initial load) is left out of the forecasts
    made before October: naive at h = 1 errs only on June (50 of 1250), not on July too."""
    source = ConnectorFactory()
    sales = DepartmentFactory(source=source, name="Sales", code="DEP-SA")
    salaries = AccountFactory(source=source, code="6100", name="Salaries", type="expense")
    budget_lines(source, BudgetFactory(source=source), sales, salaries, "100.00")
    ledger(source, sales, salaries, lambda i: 100)
    late = GLLineFactory(
        source=source,
        account=salaries,
        department=sales,
        department_external_id=sales.external_id,
        posting_date=dt.date(2026, 6, 20),
        amount=D("50.00"),
        created_at=dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC),
    )
    report = forecast_report(fiscal_year=2026, today=TODAY)
    naive = next(
        row
        for row in report["accuracy"]["by_model"]
        if row["model"] == "naive" and row["horizon"] == 1
    )
    assert naive["accuracy_percent"] == "96.00"
    assert by_key(report, "series")["DEP-SA|6100"]["months"][5]["actual"] == "150.00"
    # Known from the start (stored on the initial-load day), it would leak into July.
    late.created_at = INITIAL_LOAD
    late.save()
    report = forecast_report(fiscal_year=2026, today=TODAY)
    naive = next(
        row
        for row in report["accuracy"]["by_model"]
        if row["model"] == "naive" and row["horizon"] == 1
    )
    assert naive["accuracy_percent"] == "92.00"


def test_arrival_month_only_after_the_source_initial_load():
    first, second = ConnectorFactory(), ConnectorFactory()

    def line(source, amount, created_at):
        GLLineFactory(
            source=source,
            posting_date=dt.date(2026, 2, 3),
            amount=D(amount),
            created_at=created_at,
        )

    line(first, "1.00", INITIAL_LOAD)
    line(first, "2.00", INITIAL_LOAD + dt.timedelta(hours=3))  # same day: the initial load
    line(first, "3.00", dt.datetime(2026, 4, 2, tzinfo=dt.UTC))  # stored later: arrived in April
    # The second source's first load is in April: its lines' timestamps say nothing.
    line(second, "4.00", dt.datetime(2026, 4, 9, tzinfo=dt.UTC))
    loads = selectors.gl_initial_load_days()
    assert loads == {first.id: dt.date(2026, 1, 5), second.id: dt.date(2026, 4, 9)}
    rows = selectors.ledger_totals_by_arrival(
        start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), initial_load=loads
    )
    assert {(row[-1], row[-2]) for row in rows} == {
        (D(1), None),
        (D(2), None),
        (D(3), dt.date(2026, 4, 1)),
        (D(4), None),
    }
    assert {row[-3] for row in rows} == {dt.date(2026, 2, 1)}  # grouped by posting month


def test_processes_two_match_one(company):
    assert forecast_report(fiscal_year=2026, today=TODAY, processes=2) == forecast_report(
        fiscal_year=2026, today=TODAY
    )


def test_no_data():
    report = forecast_report(fiscal_year=2026, today=TODAY)
    assert report["series_count"] == 0
    income = by_key(report, "company")["operating_income"]
    assert income["predicted_outturn"] == "0.00" and income["months"][11]["forecast"] == "0.00"
    assert report["accuracy"]["scorecard_accuracy_percent"] == "undefined"
    assert report["accuracy"]["model_mix"] == dict.fromkeys(
        ("zero", "naive", "seasonal_naive", "drift", "ets"), 0
    )


def test_refresh_end_to_end_stores_the_report_and_measures_the_scorecard(company, monkeypatch):
    """No fakes between the ledger and the scorecard: the nightly refresh computes the real
    report, stores it, and the success metric gets its h = 1 backtest accuracy."""
    from metrics.forecasts import SCORECARD_METRIC, forecast_snapshot, forecasts_refresh
    from roadmap.models import Measurement
    from roadmap.services import programme_load

    programme_load()
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: TODAY)
    summary = forecasts_refresh(today=TODAY)
    assert summary["computed"] is True and summary["accuracy_pushed"] is True
    stored = forecast_snapshot(fiscal_year=2026).result
    assert stored["origin"] == "2026-10-01" and stored["series_count"] == 3
    accuracy = stored["accuracy"]
    measured = Measurement.objects.get(metric__key=SCORECARD_METRIC)
    assert measured.value == D(accuracy["scorecard_accuracy_percent"])
    assert measured.note.startswith("h=1 backtest 2025-11..2026-10; models: ")
    assert forecasts_refresh(today=TODAY)["computed"] is False  # nothing changed
