"""The Product ROI dashboard in a real browser at 1440 px, against the generated company.

A finance viewer opens the page for 2026 to date, checks an initiative's tagged GL cost
against the database, sees the cumulative cost vs benefit chart drawn with its data table,
picks one initiative for the chart and drills from its tagged GL cost to the lines.
"""

import datetime as dt
from decimal import Decimal

import pytest

# serialized_rollback: the seeded currencies and role groups survive the flush between tests.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

END_MONTH = dt.date(2026, 10, 1)  # the generated company's last month (deterministic)
YTD = "period=ytd&year=2026"


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


def tagged_total(initiative, start: dt.date, end: dt.date) -> Decimal:
    """Σ GL lines tagged with ``initiative`` in the reporting currency, at each line's date."""
    from finhub.core.money import present_money
    from metrics import selectors
    from records import models as m

    rows = list(
        m.GLLine.objects.filter(
            initiative=initiative, posting_date__gte=start, posting_date__lte=end
        ).values_list("currency_id", "posting_date", "amount")
    )
    rates = selectors.fx_rates(start=min(r[1] for r in rows), end=max(r[1] for r in rows))
    return present_money(sum((rates.convert(a, c, d) for c, d, a in rows), Decimal(0)))


def test_product_dashboard(page, live_server, login, screenshot, company_data):
    from django.db.models import Count
    from django.utils import timezone

    from dashboards.tables import format_value
    from records import models as m

    currency = company_data.reporting_currency
    start, end = dt.date(2026, 1, 1), timezone.localdate()
    busiest = (
        m.GLLine.objects.filter(
            initiative__isnull=False, posting_date__gte=start, posting_date__lte=end
        )
        .values("initiative")
        .annotate(lines=Count("id"))
        .order_by("-lines", "initiative")
        .first()
    )
    assert busiest is not None, "the generated company tags GL lines with initiatives"
    initiative = m.Initiative.objects.get(pk=busiest["initiative"])
    expected = format_value(tagged_total(initiative, start, end), "money", currency)

    page.set_viewport_size({"width": 1440, "height": 900})
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/product/?{YTD}")
    page.get_by_role("heading", name="Product ROI", level=1).wait_for()

    # A figure against the database: the initiative's tagged GL cost (column 7).
    row = page.locator('table[data-table="initiatives"] tbody tr').filter(
        has=page.get_by_role("link", name=initiative.name, exact=True)
    )
    tagged_cell = row.locator("td").nth(6)
    assert tagged_cell.inner_text() == expected

    # The chart is drawn (Chart.js instance with both lines) and its table is shown.
    page.locator("#canvas-cumulative").wait_for()
    datasets = page.evaluate(
        "() => window.finhubCharts && window.finhubCharts['cumulative'].data.datasets.length"
    )
    assert datasets == 2
    months = page.locator('table[data-table="cumulative"] tbody tr')
    assert months.count() == end.month
    assert page.locator("#kpi-coverage .value").inner_text()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1440, "the page fits 1440 px without a horizontal scroll"
    screenshot("dashboard-product-1440")

    # One initiative's chart, through the picker.
    page.locator("#picker-initiative").select_option(label=initiative.name)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**initiative={initiative.pk}**")
    assert initiative.name in page.locator("#chart-cumulative figcaption").inner_text()
    screenshot("dashboard-product-initiative-1440")

    # Drill: the tagged GL cost → its lines, totalling the figure clicked.
    page.locator('table[data-table="initiatives"] tbody tr').filter(
        has=page.get_by_role("link", name=initiative.name, exact=True)
    ).locator("td").nth(6).get_by_role("link").click()
    page.wait_for_url("**/dashboards/drill/gl-lines/**")
    assert f"initiative={initiative.pk}" in page.url
    assert f"Total {expected}" in page.locator("#table-gl_lines").inner_text()
    screenshot("dashboard-product-drill-1440")
