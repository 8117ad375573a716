"""Building reports: each report runs its dashboard builder (or the governance / locks
selectors) for the report's period and parameters, and its figures are the metrics API's for
the same period and filters. Bad parameters raise ReportParamError naming the parameter."""

import datetime as dt
from decimal import Decimal

import pytest

from finhub.core.calendar import MONTH, Period
from records import locks
from records.models import PostCloseAdjustment
from reports.building import (
    ReportParamError,
    report_build,
    report_params_from_dict,
    report_params_from_query,
)
from reports.definitions import REPORTS
from reports.rendering import render
from tests import factories as f
from tests.dashboards.conftest import MARCH, make_company
from tests.dashboards.forecast_data import YEAR, store_forecast
from tests.dashboards.sales_data import sales_dataset
from tests.dashboards.test_product import initiatives  # noqa: F401 (a fixture)
from tests.reports.conftest import TODAY, row_of, rows

pytestmark = pytest.mark.django_db
MARCH_RANGE = {"start": "2026-03-01", "end": "2026-03-31"}
BUDGET_API = "/api/v1/metrics/budget-variance/"
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def company(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return make_company()


def api_rows(api, url: str, query: dict) -> list[dict]:
    response = api.get(url, query)
    assert response.status_code == 200, response.content[:300]
    return response.json()["result"]["rows"]


def test_pnl_by_department_is_the_budget_report_of_the_api(company, build, api):
    report = build("pnl_department", MARCH)
    assert [t.id for t in report.tables] == ["summary", "pnl_departments", "trend"]
    assert [c.id for c in report.charts] == ["trend"]
    sales = row_of(report, "pnl_departments", "department", "Sales")
    eng = row_of(report, "pnl_departments", "department", "Engineering")
    # Sales: revenue 1,000; rent 100 + advertising 250; budget 900 - 100 - 400 = 400.
    assert (sales["revenue"], sales["expense"], sales["operating"]) == (
        Decimal("1000.00"),
        Decimal("350.00"),
        Decimal("650.00"),
    )
    assert sales["variance"] == Decimal("250.00")
    # Engineering: 200 - 150 - 300 = -250 against a budget of 300 - 100 - 250 = -50.
    assert eng["operating"] == Decimal("-250.00") and eng["variance"] == Decimal("-200.00")
    table = next(t for t in report.tables if t.id == "pnl_departments")
    assert table.totals["operating"] == Decimal("400.00")
    by_api = api_rows(api, BUDGET_API, {**MARCH_RANGE, "group_by": "department"})
    api_sales = next(r for r in by_api if r["key"] == "SAL" and r["account_type"] == "revenue")
    assert Decimal(api_sales["actual"]) == sales["revenue"]
    assert report.computed_at is not None
    assert report.params.described() == [("Period", "March 2026")]


def test_pnl_narrowed_to_a_department(company, build):
    sales = company["departments"]["SAL"]
    report = build("pnl_department", {**MARCH, "department": str(sales.pk)})
    assert [r["department"] for r in rows(report, "pnl_departments")] == ["Sales"]
    assert report.params.described()[1] == ("Department", "Sales")


def test_budget_vs_actual_matches_the_api(company, build, api):
    report = build("budget_vs_actual", MARCH)
    assert [t.id for t in report.tables] == [
        "summary",
        "variance_departments",
        "variance_accounts",
        "outturn",
        "trend",
    ]
    advertising = row_of(report, "variance_accounts", "name", "6500 Advertising")
    api_row = next(
        r
        for r in api_rows(api, BUDGET_API, {**MARCH_RANGE, "group_by": "account"})
        if r["key"] == "6500"
    )
    assert advertising["actual"] == api_row["actual"] == "250.00"
    assert advertising["budget"] == api_row["budget"] == "400.00"
    assert advertising["variance"] == api_row["variance"] == "-150.00"


def test_budget_vs_actual_of_another_budget_version(company, build, api):
    stretch = f.BudgetFactory(
        source=company["src"], fiscal_year=2026, name="Stretch", version=2, is_current=False
    )
    f.BudgetLineFactory(
        source=company["src"],
        budget=stretch,
        account=company["accounts"]["4000"],
        department=company["departments"]["SAL"],
        month=dt.date(2026, 3, 1),
        amount=Decimal("2000.00"),
        currency_id="USD",
    )
    report = build("budget_vs_actual", {**MARCH, "budget": str(stretch.pk)})
    # The executive page compares with the current budget only: not in this report.
    assert [t.id for t in report.tables] == ["variance_departments", "variance_accounts"]
    revenue = row_of(report, "variance_accounts", "name", "4000 Subscription revenue")
    assert (revenue["budget"], revenue["variance"]) == ("2000.00", "-800.00")
    api_row = next(
        r
        for r in api_rows(
            api, BUDGET_API, {**MARCH_RANGE, "group_by": "account", "budget": stretch.pk}
        )
        if r["key"] == "4000"
    )
    assert api_row["budget"] == revenue["budget"]
    assert ("Budget version", "Stretch (FY2026, version 2)") in report.params.described()


def test_forecast_outturn_is_the_stored_forecast(company, build, api):
    store_forecast()
    report = build("forecast_outturn", YEAR)
    revenue = row_of(report, "outturn_company", "measure", "Revenue")
    response = api.get("/api/v1/metrics/forecast/", {"fiscal_year": "2026"})
    assert response.status_code == 200, response.content[:300]
    group = next(
        g
        for g in response.json()["result"]["groups"]
        if g["level"] == "account_type" and g["key"] == "revenue"
    )
    assert Decimal(revenue["predicted"]) == Decimal(group["predicted_outturn"])
    assert any(c.id == "fan" for c in report.charts)
    # The fan chart's bands are CSS rgba() colours: the PDF draws them all the same.
    pdf = render([report], fmt="pdf", title="Outturn", generated_by="t", generated_at=NOW)
    assert pdf.startswith(b"%PDF")


def test_campaign_roi_matches_the_api(company, build, api):
    report = build("campaign_roi", {**MARCH, "model": "linear"})
    spring = row_of(report, "campaigns", "key", "Spring")
    # Two won deals of 1,000.00 with a Spring and an Email touch: half each, linear.
    assert (spring["cost"], spring["revenue"]) == (Decimal("600.00"), Decimal("1000.00"))
    response = api.get(
        "/api/v1/metrics/campaign-roi/", {**MARCH_RANGE, "model": "linear", "group_by": "campaign"}
    )
    api_spring = next(r for r in response.json()["result"]["rows"] if r["key"] == "Spring")
    assert Decimal(api_spring["revenue"]) == spring["revenue"]
    assert report.params.described()[1] == ("Attribution model", "Linear")


def test_cac_ltv_matches_the_api(company, build, api):
    report = build("cac_ltv", MARCH)
    march = row_of(report, "cac_months", "month", "Mar 2026")
    (api_month,) = api.get("/api/v1/metrics/cac/", MARCH_RANGE).json()["result"]["months"]
    # 250.00 / 4; compared as numbers (PostgreSQL's numeric keeps the scale: "62.50")
    assert Decimal(march["blended_cac"]) == Decimal(api_month["blended_cac"]) == Decimal("62.5")


def test_retention_matches_the_api(company, build, api):
    report = build("retention_cs_roi", MARCH)
    march = row_of(report, "mrr_movements", "month", "Mar 2026")
    (api_month,) = api.get("/api/v1/metrics/subscriptions/", MARCH_RANGE).json()["result"]["months"]
    assert march["ending_mrr"] == api_month["ending_mrr"] == "600.00"
    assert {c.id for c in report.charts} == {"waterfall", "movements", "retention"}


def test_product_roi_matches_the_api(initiatives, build, api):  # noqa: F811
    report = build("product_roi", {"period": "ytd", "year": "2026"})
    onboarding = row_of(report, "initiatives", "name", "Onboarding")
    result = api.get(
        "/api/v1/metrics/initiative-roi/", {"start": "2026-01-01", "end": "2026-07-01"}
    ).json()["result"]
    api_row = next(r for r in result["initiatives"] if r["name"] == "Onboarding")
    # 1,000 time + 500 GL-kind + 300 tagged salaries.
    assert Decimal(onboarding["cost_total"]) == Decimal(api_row["cost"]["total"])
    assert Decimal(onboarding["cost_total"]) == Decimal("1800.00")


def test_sales_performance_matches_the_api(settings, build, api):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    data = sales_dataset()
    report = build("sales_performance", MARCH)
    north = row_of(report, "teams", "team", "North")
    result = api.get("/api/v1/metrics/sales/", MARCH_RANGE).json()["result"]
    api_north = next(t for t in result["quota_attainment"]["teams"] if t["team"] == "North")
    # Ann 600 + 600 (EUR 500 at 1.20) + Bob 200.
    assert Decimal(north["won_revenue"]) == Decimal(api_north["won_revenue"]) == Decimal("1400.00")
    narrowed = build("sales_performance", {**MARCH, "team": str(data["south"].pk)})
    assert [r["team"] for r in rows(narrowed, "teams")] == ["South"]


def test_roadmap_status_reads_the_governance_dashboard(db, build):
    programme = f.ProgrammeFactory()
    f.PhaseFactory(programme=programme, number=1, name="Foundations")
    f.RiskFactory(programme=programme, title="Data quality", likelihood=4, impact=5)
    metric = f.SuccessMetricFactory(
        programme=programme, key="roi_tracking", name="ROI tracking", target_value=Decimal("95")
    )
    f.MeasurementFactory(metric=metric, value=Decimal("97"))
    report = build("roadmap_status", MARCH)
    assert [t.id for t in report.tables] == [
        "phases",
        "checklist",
        "scorecard",
        "attention",
        "risks",
    ]
    (phase,) = rows(report, "phases")
    assert phase["phase"] == "1. Foundations"
    (risk,) = rows(report, "risks")
    assert (risk["risk"], risk["score"]) == ("Data quality", 20)
    scorecard = row_of(report, "scorecard", "metric", "ROI tracking")
    assert scorecard["latest"].startswith("97") and scorecard["met"] in ("Met", "Not met")
    assert report.computed_at is None  # live data


def test_post_close_adjustments_since_the_previous_lock(db, build):
    source = f.ConnectorFactory(name="ERP")
    locks.period_lock(month=dt.date(2026, 2, 1))
    feb = PostCloseAdjustment.objects.create(
        month=dt.date(2026, 2, 1),
        entity="gl_lines",
        source=source,
        external_id="=HYPERLINK(1)",
        outcome="updated",
        via="api",
        summary="amount 100.00 -> 120.00",
    )
    old = PostCloseAdjustment.objects.create(
        month=dt.date(2026, 1, 1),
        entity="gl_lines",
        source=source,
        external_id="old",
        outcome="created",
        via="import",
    )
    PostCloseAdjustment.objects.filter(pk=old.pk).update(
        recorded_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    report = build("post_close_adjustments", MARCH)
    (row,) = rows(report, "post_close_adjustments")
    assert (row["external_id"], row["outcome"], row["source"]) == (
        feb.external_id,
        "Updated",
        str(source),
    )
    assert "month before this period was locked" in report.notes[0]


def test_every_report_builds_with_its_title_even_without_a_user(company):
    # A scheduled pack runs as nobody: the builders see an anonymous user.
    for key, definition in REPORTS.items():
        params = report_params_from_query(key=key, query=MARCH, today=TODAY)
        report = report_build(key=key, params=params, user=None)
        assert report.title == definition.title and report.key == key
        assert report.freshness is not None


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "query", "named"),
    [
        ("pnl_department", {"period": "month", "month": "2026-13"}, "month:"),
        ("pnl_department", {"period": "week"}, "period:"),
        ("pnl_department", {"department": "999999"}, "department: no department has id"),
        ("pnl_department", {"department": "abc"}, "department:"),
        ("pnl_department", {"channel": "1"}, "channel: the report"),
        ("campaign_roi", {"model": "magic"}, "model: 'magic' is not one of"),
        ("budget_vs_actual", {"budget": "999999"}, "budget: no budget"),
        ("budget_vs_actual", {"budget": "x"}, "budget:"),
        ("retention_cs_roi", {"segment": "Nowhere"}, "segment:"),
        ("nope", {}, "report:"),
    ],
)
def test_bad_parameters_name_the_parameter(company, key, query, named):
    with pytest.raises(ReportParamError) as error:
        report_params_from_query(key=key, query=query, today=TODAY)
    assert str(error.value).startswith(named), str(error.value)


def test_default_period_is_the_last_month_ended(company):
    params = report_params_from_query(key="cac_ltv", query={}, today=dt.date(2026, 4, 15))
    assert params.period == Period(MONTH, dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_params_round_trip_through_json(company):
    sales = company["departments"]["SAL"]
    params = report_params_from_query(
        key="budget_vs_actual",
        query={"period": "ytd", "year": "2026", "department": str(sales.pk), "budget": ""},
        today=TODAY,
    )
    data = params.as_dict()
    assert data["values"] == {"department": str(sales.pk)}
    assert data["period"]["start"] == "2026-01-01" and data["period"]["end"] == "2026-07-01"
    again = report_params_from_dict(key="budget_vs_actual", data=data)
    assert again == params and again.labels == {"department": "Sales"}
    with pytest.raises(ReportParamError, match=r"^period:"):
        report_params_from_dict(key="budget_vs_actual", data={"period": {"kind": "month"}})
    sales.delete()
    with pytest.raises(ReportParamError, match=r"^department:"):
        report_params_from_dict(key="budget_vs_actual", data=data)


def test_a_page_parameter_error_becomes_a_report_param_error(company, finance_viewer):
    params = report_params_from_query(key="campaign_roi", query=MARCH, today=TODAY)
    # Values are validated on the way in; a value that slips past (a hand-made params) is
    # still refused by the page's own check with the page's message.
    bad = type(params)(params.period, {"model": "magic"})
    with pytest.raises(ReportParamError, match=r"^model:"):
        report_build(key="campaign_roi", params=bad, user=finance_viewer)
