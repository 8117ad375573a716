"""The forecast dashboard (issue #13) and the executive page's predicted outturn.

The page reads the fiscal year's stored forecast and never computes one; the figures below
are worked by hand from tests/dashboards/forecast_data.py (predicted outturn = 11 x the
monthly actual + the December forecast, 80% range = predicted ± spread, FY budget = 12 x
the monthly budget).
"""

import datetime as dt
import json
import re
from decimal import Decimal

from django.test import Client

from metrics import anomalies, scenarios
from metrics.models import MetricSnapshot
from tests.dashboards.forecast_data import YEAR, forecast_result, store_forecast
from tests.dashboards.helpers import assert_login_needed, cell_texts, csv_dicts, export

URL = "/dashboards/forecast/"
EXECUTIVE = "/dashboards/executive/"
DISMISS = "/dashboards/forecast/anomalies/dismiss/"


def page(client, **params):
    response = client.get(URL, {**YEAR, **params})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def rows_by_first(html: str, table: str) -> dict[str, list[str]]:
    return {row[0]: row for row in cell_texts(html, table)}


def chart_data(html: str, chart: str) -> dict:
    match = re.search(
        rf'<script id="chart-{chart}-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no chart {chart!r}"
    return json.loads(match[1])


# --- access ------------------------------------------------------------------------------------


def test_login_and_the_dashboard_role_are_needed(nobody_client, company):
    assert_login_needed(Client(), URL)
    assert nobody_client.get(URL, YEAR).status_code == 403
    store_forecast()
    assert (
        nobody_client.get(URL, {**YEAR, "table": "outturn_company", "format": "csv"}).status_code
        == 403
    )


def test_the_navigation_links_the_page(viewer_client, company):
    html = page(viewer_client)
    assert 'href="/dashboards/forecast/" aria-current="page"' in html


# --- empty state --------------------------------------------------------------------------------


def test_without_a_stored_forecast_the_page_says_when_it_is_computed(viewer_client, company):
    html = page(viewer_client)
    assert 'id="no-forecast"' in html
    assert "computed in the background" in html
    assert "after a sync changes the ledger or budgets" in html
    assert "the next nightly run is at" in html
    assert 'data-table="outturn_company"' not in html  # an empty state, no table
    # Viewing never computes a forecast.
    assert not MetricSnapshot.objects.filter(kind=MetricSnapshot.Kind.FORECAST).exists()


def test_next_nightly_run_follows_the_schedule(settings):
    from dashboards.pages.forecast import next_nightly_run

    settings.TIME_ZONE = "UTC"
    before = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
    after = dt.datetime(2026, 12, 2, 18, 0, tzinfo=dt.UTC)
    assert next_nightly_run(before) == dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC)
    assert next_nightly_run(after) == dt.datetime(2026, 12, 3, 2, 30, tzinfo=dt.UTC)


def test_another_years_forecast_is_not_shown(viewer_client, company):
    store_forecast()
    html = page(viewer_client, year="2025")
    assert 'id="no-forecast"' in html and "FY2025" in html


# --- outturn vs budget --------------------------------------------------------------------------


def test_company_outturn_from_the_stored_forecast(viewer_client, company):
    store_forecast()
    html = page(viewer_client)
    assert 'id="no-forecast"' not in html
    rows = rows_by_first(html, "outturn_company")
    assert list(rows) == ["Revenue", "Cost of sales", "Operating expenses", "Operating income"]
    # Revenue: 11 x 1,200 + 1,250; range ± 30; budget 12 x 1,200; variance +50 of 14,400.
    assert rows["Revenue"][1:8] == [
        "USD 14,450.00",
        "USD 14,420.00",
        "USD 14,480.00",
        "USD 14,400.00",
        "USD 50.00",
        "0.4%",  # 50 / 14,400 stored as 0.35 (%)
        "42.0%",
    ]
    # Cost of sales: 11 x 150 + 160 = 1,810 against 1,200, 97% likely over budget.
    assert rows["Cost of sales"][1] == "USD 1,810.00"
    assert rows["Cost of sales"][5] == "USD 610.00"
    assert rows["Cost of sales"][7] == "97.0%"
    assert rows["Operating income"][1:5] == [
        "USD 4,820.00",
        "USD 4,780.00",
        "USD 4,860.00",
        "USD 4,200.00",
    ]
    # Green when favourable: more revenue; red when not: more cost.
    assert re.search(r'class="num favourable"[^>]*>USD 50\.00', html)
    assert re.search(r'class="num unfavourable"[^>]*>USD 610\.00', html)
    assert "Forecast computed" in html
    assert "made at the end of Nov 2026" in html


def test_department_rows_and_the_department_selection(viewer_client, company):
    store_forecast()
    sales = company["departments"]["SAL"]
    rows = cell_texts(page(viewer_client), "outturn_departments")
    assert [(r[0], r[1]) for r in rows] == [
        ("Engineering", "Cost of sales"),
        ("Engineering", "Operating expenses"),
        ("Engineering", "Revenue"),
        ("Sales", "Operating expenses"),
        ("Sales", "Revenue"),
    ]
    html = page(viewer_client, department=sales.pk)
    rows = cell_texts(html, "outturn_departments")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("Sales", "Operating expenses", "USD 4,220.00"),  # 11 x 350 + 370
        ("Sales", "Revenue", "USD 12,050.00"),
    ]
    accounts = rows_by_first(html, "outturn_accounts")
    assert list(accounts) == ["4000 Subscription revenue", "6100 Rent", "6500 Advertising"]
    assert accounts["6500 Advertising"][2] == "USD 3,010.00"  # 11 x 250 + 260
    assert accounts["6500 Advertising"][-2] == "Seasonal naive"
    assert "Fewer than 24 closed months" in accounts["6500 Advertising"][-1]
    assert accounts["6100 Rent"][-2] == "ETS (additive, damped trend, seasonal)"
    assert 'id="all-departments"' in html
    # Without a department there is no account table.
    assert 'data-table="outturn_accounts"' not in page(viewer_client)


def test_a_bad_department_or_group_is_a_400(viewer_client, company):
    store_forecast()
    assert viewer_client.get(URL, {**YEAR, "department": "999999"}).status_code == 400
    response = viewer_client.get(URL, {**YEAR, "group": "series:NOPE|1"})
    assert response.status_code == 400
    assert "group" in response.content.decode()


# --- fan chart ----------------------------------------------------------------------------------


def test_fan_chart_defaults_to_operating_income(viewer_client, company):
    store_forecast()
    html = page(viewer_client)
    data = chart_data(html, "fan")
    assert data["type"] == "line"
    assert [s["label"] for s in data["series"]] == [
        "95% range (low)",
        "95% range",
        "80% range (low)",
        "80% range",
        "Forecast",
        "Actual",
        "Budget",
    ]
    values = {s["label"]: s["values"] for s in data["series"]}
    assert values["Actual"][:11] == ["400"] * 11 and values["Actual"][11] is None
    # The fan opens at the last actual (November) and spreads in December.
    assert values["Forecast"][10:] == ["400", "420"]
    assert values["80% range (low)"][11] == "380" and values["80% range"][11] == "460"
    assert values["95% range (low)"][11] == "340" and values["95% range"][11] == "500"
    assert values["Budget"] == ["350"] * 12
    # The bands are filled by js/forecast.js from this data.
    assert 'id="forecast-fan-fill"' in html and "js/forecast.js" in html
    # The same figures in the table under the chart.
    months = cell_texts(html, "fan")
    assert len(months) == 12
    assert months[0] == ["Jan 2026", "USD 400.00", "—", "—", "—", "—", "—", "USD 350.00"]
    assert months[11] == [
        "Dec 2026",
        "—",
        "USD 420.00",
        "USD 380.00",
        "USD 460.00",
        "USD 340.00",
        "USD 500.00",
        "USD 350.00",
    ]
    assert "Forecast fan chart — Operating income" in html


def test_a_department_and_a_series_can_be_charted(viewer_client, company):
    store_forecast()
    sales = company["departments"]["SAL"]
    html = page(viewer_client, department=sales.pk)
    assert "Forecast fan chart — Sales — Revenue" in html  # its first group
    html = page(viewer_client, department=sales.pk, group="series:SAL|6500")
    assert "Forecast fan chart — Sales — 6500 Advertising" in html
    assert "Seasonal naive" in html and "Fewer than 24 closed months" in html
    values = {s["label"]: s["values"] for s in chart_data(html, "fan")["series"]}
    assert values["Forecast"][11] == "260" and values["Budget"][0] == "400"
    # The row charted is marked; its links keep the department.
    assert re.search(
        r'<tr class="chosen">\s*<td[^>]*><a href="[^"]*group=series%3ASAL%7C6500', html
    )


# --- accuracy -----------------------------------------------------------------------------------


def test_accuracy_panel(viewer_client, company):
    store_forecast()
    html = page(viewer_client)
    tile = re.search(r'<li class="kpi" id="kpi-accuracy">(.*?)</li>', html, re.S)[1]
    assert "96.1%" in tile
    assert "Dec 2025 \u2013 Nov 2026" in tile
    assert "ets 3, drift 1, seasonal naive 1, naive 1" in tile
    rows = cell_texts(html, "accuracy_horizons")
    assert rows[0] == ["1", "Chosen per series", "96.1%", "81.0%", "66"]
    assert rows[1] == ["1", "ETS (additive, damped trend, seasonal)", "95.5%", "80.0%", "66"]
    assert rows[2][:4] == ["1", "Naive (last value)", "—", "—"]  # no actuals: undefined
    assert [r[0] for r in rows[3:]] == ["3", "6"]
    assert cell_texts(html, "accuracy_groups") == [
        ["Operating expenses", "1", "97.3%", "75.0%", "33"]
    ]
    errors = cell_texts(html, "outturn_error")
    assert errors[0] == ["Jan 2025", "12.5%"] and errors[-1] == ["Dec 2025", "1.5%"]
    assert chart_data(html, "outturn_error")["valueKind"] == "percent"


def test_tables_export(viewer_client, company):
    store_forecast()
    rows = csv_dicts(export(viewer_client, URL, YEAR, "outturn_company"))
    revenue = next(r for r in rows if r["Measure"] == "Revenue")
    assert Decimal(revenue["Predicted outturn (USD)"]) == Decimal("14450.00")
    assert revenue["P(over budget)"] == "42.00"
    fan = csv_dicts(export(viewer_client, URL, YEAR, "fan"))
    assert fan[-1]["Month"] == "Full year"
    assert Decimal(fan[-1]["Actual (USD)"]) == Decimal(4400)  # 11 x 400
    assert Decimal(fan[-1]["Budget (USD)"]) == Decimal(4200)


def test_no_page_text_says_undefined(viewer_client, company):
    result = forecast_result()
    result["accuracy"]["scorecard_accuracy_percent"] = "undefined"
    store_forecast(result)
    html = re.sub(r"<script\b.*?</script>", "", page(viewer_client), flags=re.S)
    assert "undefined" not in re.sub(r"<[^>]+>", " ", html).lower()


# --- the page never computes; bounded queries ------------------------------------------------


def test_page_reads_in_bounded_queries(viewer_client, company, django_assert_max_num_queries):
    store_forecast()
    sales = company["departments"]["SAL"]
    page(viewer_client)
    with django_assert_max_num_queries(10):
        page(viewer_client)
    # Listed anomalies (with the account their link names) add no query per row.
    for week in range(5):
        make_anomaly(
            scope_key="SAL|6500",
            account=company["accounts"]["6500"],
            department=sales,
            period_start=dt.date(2026, 3, 2) + dt.timedelta(weeks=week),
            period_end=dt.date(2026, 3, 8) + dt.timedelta(weeks=week),
        )
    with django_assert_max_num_queries(10):
        html = page(viewer_client, department=sales.pk, group="series:SAL|6100")
    assert len(cell_texts(html, "anomalies")) == 5


# --- anomalies ----------------------------------------------------------------------------------


def make_anomaly(**kwargs):
    from metrics.models import SpendAnomaly

    values = {
        "kind": SpendAnomaly.Kind.GL_EXPENSE,
        "scope_key": "SAL|6500",
        "label": "Sales — 6500 Advertising",
        "period_start": dt.date(2026, 3, 9),
        "period_end": dt.date(2026, 3, 15),
        "actual": Decimal("900.00"),
        "expected": Decimal("250.00"),
        "low": Decimal("200.00"),
        "high": Decimal("300.00"),
        "deviation": Decimal("650.00"),
        "currency": "USD",
        "score": Decimal("7.25"),
        **kwargs,
    }
    return SpendAnomaly.objects.create(**values)


def test_open_anomalies_are_listed(client, project_manager, company):
    client.force_login(project_manager)
    anomaly = make_anomaly()
    make_anomaly(scope_key="ENG|6100", label="Closed one", status="dismissed")
    html = page(client)
    rows = cell_texts(html, "anomalies")
    assert rows == [
        [
            "GL expense (weekly)",
            "Sales — 6500 Advertising",
            "9 Mar \u2013 15 Mar 2026",
            "USD 900.00",
            "USD 250.00",
            "USD 200.00",
            "USD 300.00",
            "USD 650.00",
            "260.0%",
            "7.25",
        ]
    ]
    link = anomalies.anomaly_lines_url(anomaly)
    if link:
        assert link.replace("&", "&amp;") in html
    # A project manager may look but not dismiss.
    assert 'id="dismiss-form"' not in html


def test_dismiss_needs_the_permission_and_a_reason(
    client, project_manager, finance_viewer, company
):
    anomaly = make_anomaly()
    client.force_login(project_manager)
    back = f"{URL}?period=ytd&year=2026"
    assert (
        client.post(DISMISS, {"anomaly": anomaly.pk, "reason": "x", "next": back}).status_code
        == 403
    )
    client.force_login(finance_viewer)  # finance triages anomalies
    assert client.get(DISMISS).status_code == 405
    html = page(client)
    assert 'id="dismiss-form"' in html and "csrfmiddlewaretoken" in html
    # No reason: not dismissed, and the page says why.
    response = client.post(
        DISMISS, {"anomaly": anomaly.pk, "reason": "  ", "next": back}, follow=True
    )
    assert response.redirect_chain[-1][0] == back
    assert "Not dismissed" in response.content.decode()
    anomaly.refresh_from_db()
    assert anomaly.status == "open"
    response = client.post(
        DISMISS, {"anomaly": anomaly.pk, "reason": "Annual prepayment", "next": back}, follow=True
    )
    assert response.redirect_chain[-1][0] == back
    assert "Dismissed" in response.content.decode()
    anomaly.refresh_from_db()
    assert anomaly.status == "dismissed" and anomaly.dismiss_reason == "Annual prepayment"
    assert anomaly.dismissed_by == finance_viewer
    assert 'data-table="anomalies"' not in response.content.decode()  # none open any more
    # An unknown anomaly is a 404; a foreign "next" is not followed.
    assert client.post(DISMISS, {"anomaly": 999999, "reason": "x"}).status_code == 404
    other = make_anomaly(scope_key="ENG|6100", label="Rent")
    response = client.post(
        DISMISS, {"anomaly": other.pk, "reason": "ok", "next": "https://evil.example/"}
    )
    assert response["Location"] == URL


def test_dismiss_needs_csrf(client, finance_viewer, company):
    anomaly = make_anomaly()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(finance_viewer)
    assert strict.post(DISMISS, {"anomaly": anomaly.pk, "reason": "x"}).status_code == 403
    anomaly.refresh_from_db()
    assert anomaly.status == "open"


# --- scenarios ----------------------------------------------------------------------------------


def test_scenario_comparison(viewer_client, company, monkeypatch):
    from records import models as m

    plan = m.Budget.objects.get(fiscal_year=2026, name="Plan")
    scenario = scenarios.scenario_create(base_budget=plan, name="Hiring freeze")
    html = page(viewer_client)
    assert 'id="scenario-pick"' in html
    assert f'<option value="{scenario.pk}">Hiring freeze</option>' in html

    calls = []

    def comparison(*, scenario_id, today=None):
        calls.append(scenario_id)
        return {
            "scenario": {
                "id": scenario_id,
                "name": "Hiring freeze",
                "label": "Scenario: Hiring freeze",
                "fiscal_year": 2026,
                "based_on_id": plan.pk,
                "based_on_label": "Plan",
            },
            "current": {"id": plan.pk, "label": "Plan (current)"},
            "drivers": [
                {
                    "kind": "headcount",
                    "kind_label": "Headcount cost",
                    "target": "ENG",
                    "percent": "-10.00",
                    "from_month": "2026-12-01",
                }
            ],
            "rows": [
                {
                    "key": "operating_income",
                    "label": "Operating income",
                    "unit": "money",
                    "current": "4200.00",
                    "scenario": "4500.00",
                    "difference": "300.00",
                },
                {
                    "key": "variance_pct.revenue",
                    "label": "Outturn variance %: Revenue",
                    "unit": "percent",
                    "current": "1.50",
                    "scenario": "2.00",
                    "difference": "0.50",
                },
                {
                    "key": "ltv_cac",
                    "label": "Blended CAC",
                    "unit": "ratio",
                    "current": None,
                    "scenario": "3.10",
                    "difference": None,
                },
            ],
            "notes": ["Closed months are actuals in both columns."],
        }

    from dashboards.pages import forecast

    monkeypatch.setattr(forecast.scenarios, "scenario_comparison", comparison)
    html = page(viewer_client, scenario=scenario.pk)
    assert calls == [scenario.pk]
    rows = rows_by_first(html, "scenario_comparison")
    assert rows["Operating income"] == [
        "Operating income",
        "USD 4,200.00",
        "USD 4,500.00",
        "USD 300.00",
    ]
    assert rows["Outturn variance %: Revenue"][1:] == ["1.5%", "2.0%", "0.5 pp"]
    assert rows["Blended CAC"][1:] == ["—", "3.10", "—"]
    assert cell_texts(html, "scenario_drivers") == [
        ["Headcount cost", "ENG", "\u221210.0%", "Dec 2026"]
    ]
    assert "Closed months are actuals in both columns." in html
    assert "copied from Plan" in html
    assert f'<option value="{scenario.pk}" selected>' in html
    # A scenario of another year, or no scenario, is a 400.
    assert viewer_client.get(URL, {**YEAR, "scenario": "abc"}).status_code == 400
    assert viewer_client.get(URL, {**YEAR, "scenario": scenario.pk + 1000}).status_code == 400


def test_without_scenarios_the_page_links_the_budget_admin(viewer_client, company):
    html = page(viewer_client)
    assert 'id="no-scenario"' in html
    assert "Copy into a scenario" in html


# --- the executive page's predicted outturn --------------------------------------------------


def test_executive_outturn_shows_the_predicted_outturn(viewer_client, company):
    store_forecast()
    html = viewer_client.get(EXECUTIVE, YEAR).content.decode()
    rows = rows_by_first(html, "outturn")
    assert rows["Revenue"][5:8] == ["USD 14,450.00", "USD 14,420.00", "USD 14,480.00"]
    # Total expenses add the two predicted outturns (1,810 + 7,820) and have no range.
    assert rows["Total expenses"][5:8] == ["USD 9,630.00", "—", "—"]
    assert rows["Operating income"][5:8] == ["USD 4,820.00", "USD 4,780.00", "USD 4,860.00"]
    assert "made at the end of November 2026" in html


def test_executive_predicted_outturn_of_a_department(viewer_client, company):
    store_forecast()
    sales = company["departments"]["SAL"]
    html = viewer_client.get(EXECUTIVE, {**YEAR, "department": sales.pk}).content.decode()
    rows = rows_by_first(html, "outturn")
    assert rows["Revenue"][5:8] == ["USD 12,050.00", "USD 12,030.00", "USD 12,070.00"]
    assert rows["Cost of sales"][5:8] == ["USD 0.00", "—", "—"]
    assert rows["Total expenses"][5] == "USD 4,220.00"
    assert rows["Operating income"][5:8] == ["USD 7,830.00", "—", "—"]


def test_executive_without_a_forecast_shows_a_dash_and_a_note(viewer_client, company):
    html = viewer_client.get(EXECUTIVE, YEAR).content.decode()
    rows = rows_by_first(html, "outturn")
    assert rows["Revenue"][5:8] == ["—", "—", "—"]
    assert "no forecast is stored for this fiscal year yet" in html


def test_executive_with_a_forecast_but_no_budget_still_renders(viewer_client, company):
    """January before the new budget is loaded: no outturn rows, yet a stored forecast."""
    from records.models import Budget, BudgetLine

    store_forecast()
    BudgetLine.objects.all().delete()
    Budget.objects.all().delete()
    response = viewer_client.get(EXECUTIVE, YEAR)
    assert response.status_code == 200
    assert "Predicted outturn" not in response.content.decode()
