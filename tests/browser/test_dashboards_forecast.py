"""The Forecast dashboard in a real browser at 1440 px.

A finance viewer opens FY2026 with a stored forecast (tests/dashboards/forecast_data.py, for
the small company of tests/dashboards/conftest.py): the fan chart is drawn with its 80% and
95% bands filled and its data table under it, the accuracy chart beside its table, no
console error; picking a department shows its accounts, a row charts that series; then an
open spend anomaly is dismissed with a reason through the page's form.
"""

import datetime as dt
from decimal import Decimal

import pytest

# serialized_rollback: the seeded currencies and role groups survive the flush between tests.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

YEAR = "period=ytd&year=2026"

# How many of a canvas's pixels are drawn (not transparent), sampled on a grid.
DRAWN_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const ctx = canvas.getContext('2d');
  const {width, height} = canvas;
  const data = ctx.getImageData(0, 0, width, height).data;
  let drawn = 0;
  for (let y = 0; y < height; y += 4) {
    for (let x = 0; x < width; x += 4) {
      if (data[(y * width + x) * 4 + 3] > 0) drawn += 1;
    }
  }
  return drawn;
}"""


@pytest.fixture
def forecast_data(settings):
    from finhub.core import roles
    from metrics.models import SpendAnomaly
    from tests.dashboards.conftest import make_company
    from tests.dashboards.forecast_data import store_forecast
    from tests.factories import user_with_role

    settings.FINHUB_REPORTING_CURRENCY = "USD"
    company = make_company()
    store_forecast()
    anomaly = SpendAnomaly.objects.create(
        kind=SpendAnomaly.Kind.GL_EXPENSE,
        scope_key="SAL|6500",
        label="Sales — 6500 Advertising",
        account=company["accounts"]["6500"],
        department=company["departments"]["SAL"],
        period_start=dt.date(2026, 3, 9),
        period_end=dt.date(2026, 3, 15),
        actual=Decimal("900.00"),
        expected=Decimal("250.00"),
        low=Decimal("200.00"),
        high=Decimal("300.00"),
        deviation=Decimal("650.00"),
        currency="USD",
        score=Decimal("7.25"),
    )
    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    return {**company, "anomaly": anomaly}


def test_forecast_dashboard(page, live_server, login, screenshot, forecast_data):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.set_viewport_size({"width": 1440, "height": 900})
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/forecast/?{YEAR}")
    page.get_by_role("heading", name="Forecast", level=1).wait_for()

    # The fan chart: drawn, its bands filled (js/forecast.js), its table under it.
    page.locator("#canvas-fan").wait_for()
    fan = page.evaluate(
        """() => {
          const chart = window.finhubCharts && window.finhubCharts['fan'];
          return chart && {n: chart.data.datasets.length,
                           fills: chart.data.datasets.map((d) => d.fill || false)};
        }"""
    )
    assert fan == {"n": 7, "fills": [False, "-1", False, "-1", False, False, False]}
    assert page.evaluate(DRAWN_PIXELS, "canvas-fan") > 100
    assert page.locator('#chart-fan table[data-table="fan"] tbody tr').count() == 12
    assert "Operating income" in page.locator("#chart-fan figcaption").inner_text()
    # The accuracy chart beside its table.
    assert page.evaluate(DRAWN_PIXELS, "canvas-outturn_error") > 100
    assert page.locator('#chart-outturn_error table[data-table="outturn_error"] tr').count() > 1
    assert page.locator("#kpi-accuracy .value").inner_text() == "96.1%"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1440, "the page fits 1440 px without a horizontal scroll"
    screenshot("dashboard-forecast-1440")

    # A department: its accounts; a row charts that series.
    page.locator("#filter-department").select_option(label="Sales")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**department=**")
    accounts = page.locator('table[data-table="outturn_accounts"] tbody tr')
    assert accounts.count() == 3
    accounts.filter(has_text="6500 Advertising").get_by_role("link").first.click()
    page.wait_for_url("**group=series%3ASAL%7C6500**")
    assert "6500 Advertising" in page.locator("#chart-fan figcaption").inner_text()
    page.locator("#canvas-fan").wait_for()
    assert page.evaluate(DRAWN_PIXELS, "canvas-fan") > 100
    screenshot("dashboard-forecast-series-1440")

    # The page fits a laptop and a tablet too (the site-wide walk's check, on this page with
    # every panel filled).
    from tests.browser.test_pages_fit import CHECK

    for width in (1024, 768):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(CHECK) == [], width
    page.set_viewport_size({"width": 1440, "height": 900})

    # Dismiss the open anomaly with a reason; back on the same page, with a message.
    url = page.url
    assert page.locator('table[data-table="anomalies"] tbody tr').count() == 1
    page.locator("#dismiss-reason").fill("Annual trade-show prepayment")
    page.get_by_role("button", name="Dismiss").click()
    page.wait_for_load_state()
    assert page.url == url
    assert "Dismissed" in page.locator(".messages").inner_text()
    assert page.locator('table[data-table="anomalies"]').count() == 0
    forecast_data["anomaly"].refresh_from_db()
    assert forecast_data["anomaly"].dismiss_reason == "Annual trade-show prepayment"

    assert errors == [], errors
