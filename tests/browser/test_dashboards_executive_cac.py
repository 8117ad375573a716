"""The executive and CAC dashboards in a real browser, against generated company data.

A finance viewer opens each dashboard, changes the period and a filter through the form,
clicks a chart bar to drill down to the GL lines behind it, downloads a CSV, and checks a
figure on the page against the value computed from the database here.
"""

import csv
import datetime as dt
from decimal import Decimal

import pytest

# serialized_rollback: the seeded currencies and role groups survive the flush between tests.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

END_MONTH = dt.date(2026, 10, 1)  # the generated company's last month (deterministic)


@pytest.fixture
def company_data(settings):
    from connectors.sandbox.company import generate
    from finhub.core import roles
    from records.ingestion.bulk import records_bulk_load
    from tests.factories import ConnectorFactory, user_with_role

    company = generate(seed=7, scale=0.05, end_month=END_MONTH)
    settings.FINHUB_REPORTING_CURRENCY = company.reporting_currency
    source = ConnectorFactory(name="Generated company", kind="erp")
    records_bulk_load(company.entities, source=source)
    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    return company


def converted_total(lines) -> Decimal:
    """Σ of GL lines in the reporting currency at each line's date, rounded to cents."""
    from finhub.core.money import present_money
    from metrics import selectors

    rows = list(lines.values_list("currency_id", "posting_date", "amount"))
    rates = selectors.fx_rates(start=min(r[1] for r in rows), end=max(r[1] for r in rows))
    return present_money(sum((rates.convert(a, c, d) for c, d, a in rows), Decimal(0)))


def usd(value: Decimal, currency: str) -> str:
    from dashboards.tables import format_value

    return format_value(value, "money", currency)


def click_bar(page, chart_id: str, dataset: int, index: int) -> None:
    """Click the bar ``index`` of dataset ``dataset`` of a dashboard chart."""
    x, y = page.evaluate(
        """([id, ds, i]) => { const c = window.finhubCharts[id];
            const bar = c.getDatasetMeta(ds).data[i];
            const box = c.canvas.getBoundingClientRect();
            return [bar.x, (bar.y + bar.base) / 2]; }""",
        [chart_id, dataset, index],
    )
    page.locator(f"#canvas-{chart_id}").click(position={"x": x, "y": y})


def test_executive_dashboard(page, live_server, login, screenshot, company_data, tmp_path):
    from records import models as m

    currency = company_data.reporting_currency
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/executive/?period=month&month=2026-09")
    page.get_by_role("heading", name="Executive dashboard").wait_for()
    revenue = converted_total(
        m.GLLine.objects.filter(
            posting_date__gte=dt.date(2026, 9, 1),
            posting_date__lte=dt.date(2026, 9, 30),
            account__type="revenue",
        )
    )
    summary = page.locator('table[data-table="summary"] tbody tr').first
    assert summary.locator("td").nth(1).inner_text() == usd(revenue, currency)
    assert page.locator("#kpi-revenue .value").inner_text() == usd(revenue, currency)
    screenshot("dashboard-executive")

    # Period: Q3 2026 through the picker.
    page.locator("#picker-period").select_option("quarter")
    page.get_by_role("textbox", name="Quarter").fill("2026-Q3")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**quarter=2026-Q3**")
    assert "Q3 2026" in page.locator("#period-label").inner_text()
    # Filter: the Sales department.
    page.locator("#filter-department").select_option(label="Sales")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**department=**")
    assert "quarter=2026-Q3" in page.url
    sales = m.Department.objects.get(name="Sales")
    assert f"department={sales.pk}" in page.url
    sales_revenue = converted_total(
        m.GLLine.objects.filter(
            posting_date__gte=dt.date(2026, 7, 1),
            posting_date__lte=dt.date(2026, 9, 30),
            account__type__in=["cost_of_sales", "expense"],
            department=sales,
        )
    )
    expenses = page.locator('table[data-table="summary"] tbody tr').nth(3)
    assert expenses.locator("td").first.inner_text() == "Total expenses"
    assert expenses.locator("td").nth(1).inner_text() == usd(sales_revenue, currency)
    screenshot("dashboard-executive-q3-sales")

    # CSV export of the summary table.
    with page.expect_download() as download_info:
        page.locator("#table-summary").get_by_role("link", name="CSV").click()
    path = tmp_path / "summary.csv"
    download_info.value.save_as(path)
    with path.open(encoding="utf-8") as handle:
        rows = {row[0]: row for row in csv.reader(handle)}
    assert Decimal(rows["Total expenses"][1]) == sales_revenue

    # Drill down: the September expenses bar of the trend chart → its GL lines.
    click_bar(page, "trend", 2, 11)  # dataset 2 = expenses, last of the 12 months
    page.wait_for_url("**/dashboards/drill/gl-lines/**")
    assert "month=2026-09" in page.url and "type=expenses" in page.url
    assert page.get_by_role("heading", name="GL lines", level=1).is_visible()
    lines = m.GLLine.objects.filter(
        posting_date__gte=dt.date(2026, 9, 1),
        posting_date__lte=dt.date(2026, 9, 30),
        account__type__in=["cost_of_sales", "expense"],
        department=sales,
    )
    shown = page.locator('table[data-table="gl_lines"] tbody tr').count()
    assert shown == min(50, lines.count()) > 0
    screenshot("dashboard-executive-drill")


def test_cac_dashboard(page, live_server, login, screenshot, company_data, tmp_path):
    from records import models as m

    currency = company_data.reporting_currency
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/cac/")
    page.get_by_role("heading", name="CAC monitoring").wait_for()
    page.locator("#picker-period").select_option("quarter")
    page.get_by_role("textbox", name="Quarter").fill("2026-Q3")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**quarter=2026-Q3**")
    cost = converted_total(
        m.GLLine.objects.filter(
            posting_date__gte=dt.date(2026, 8, 1),
            posting_date__lte=dt.date(2026, 8, 31),
            account__is_sales_marketing=True,
        )
    )
    august = page.locator('table[data-table="cac_months"] tbody tr').nth(1)
    assert august.locator("td").first.inner_text() == "Aug 2026"
    assert august.locator("td").nth(2).inner_text() == usd(cost, currency)
    screenshot("dashboard-cac")

    channel = m.Channel.objects.filter(is_paid=True).order_by("name").first()
    page.locator("#filter-channel").select_option(label=channel.name)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**channel={channel.pk}**")
    assert page.locator('table[data-table="cac_months"] thead').inner_text().count(channel.name)
    screenshot("dashboard-cac-channel")

    with page.expect_download() as download_info:
        page.locator("#table-cac_months").get_by_role("link", name="CSV").click()
    path = tmp_path / "cac.csv"
    download_info.value.save_as(path)
    with path.open(encoding="utf-8") as handle:
        rows = {row[0]: row for row in csv.reader(handle)}
    assert Decimal(rows["Aug 2026"][2]) == cost

    click_bar(page, "cac", 0, 1)  # blended CAC, August
    page.wait_for_url("**/dashboards/drill/gl-lines/**")
    assert "month=2026-08" in page.url and "sales_marketing=1" in page.url
    assert page.locator('table[data-table="gl_lines"] tbody tr').count() > 0
    screenshot("dashboard-cac-drill")
