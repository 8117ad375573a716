"""The Retention & customer success dashboard in a real browser at 1440 px, against the
generated company.

A finance viewer opens Q3 2026, checks August's ending MRR against the database (every
customer's last MRR on or before 31 August, in the reporting currency), sees the waterfall
and NRR/GRR charts drawn with their data tables and the cohort heat map, then clicks
one of August's movements and gets the customers behind it, totalling the figure clicked.
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
Q3 = "period=quarter&quarter=2026-Q3"


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


def mrr_at(day: dt.date) -> Decimal:
    """Σ over customers of the MRR after their last event on or before ``day`` (same-day
    events in the order stored), each converted at its event's date; an event without a rate
    does not count."""
    from finhub.core.money import present_money
    from metrics import selectors
    from records import models as m

    rows = list(
        m.SubscriptionEvent.objects.filter(customer__isnull=False, occurred_on__lte=day)
        .order_by("occurred_on", "id")
        .values_list("customer_id", "occurred_on", "mrr_after", "currency_id")
    )
    convert = selectors.converter(start=rows[0][1], end=day)
    latest: dict[int, Decimal] = {}
    for customer, occurred_on, mrr, currency in rows:
        value = convert(mrr, currency, occurred_on)
        if value is not None:
            latest[customer] = value
    return present_money(sum(latest.values(), Decimal(0)))


def test_retention_dashboard(page, live_server, login, screenshot, company_data):
    from dashboards.tables import format_value

    currency = company_data.reporting_currency
    expected = format_value(mrr_at(dt.date(2026, 8, 31)), "money", currency)

    page.set_viewport_size({"width": 1440, "height": 900})
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/retention/?{Q3}")
    page.get_by_role("heading", name="Retention & customer success", level=1).wait_for()

    # A figure against the database: August's ending MRR (column 9 of the month table).
    august = page.locator('table[data-table="mrr_movements"] tbody tr').nth(1)
    assert august.locator("td").first.inner_text() == "Aug 2026"
    assert august.locator("td").nth(8).inner_text() == expected

    # The charts are drawn by Chart.js and their data tables are shown.
    page.locator("#canvas-waterfall").wait_for()
    drawn = page.evaluate(
        """() => ['waterfall', 'movements', 'retention'].map(id => {
            const c = window.finhubCharts && window.finhubCharts[id];
            return c ? [c.data.datasets.length, c.canvas.height > 0] : null; })"""
    )
    assert drawn == [[4, True], [6, True], [4, True]]
    waterfall = page.locator('table[data-table="mrr_waterfall"] tbody tr')
    assert waterfall.count() == 7
    assert (
        waterfall.last.locator("td").nth(1).inner_text()
        == page.locator('table[data-table="mrr_movements"] tbody tr')
        .nth(2)
        .locator("td")
        .nth(8)
        .inner_text()
    )  # ending MRR of the period = September's
    assert page.locator('table[data-table="retention_months"] tbody tr').count() == 3
    assert page.locator('table[data-table="cohort_logo"] td.heat').count() > 0
    assert page.locator('table[data-table="cs_roi_segments"] tbody tr').count() >= 2
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1440, "the page fits 1440 px without a horizontal scroll"
    screenshot("dashboard-retention-1440")

    # Drill: August's first movement with customers behind it → those customers, totalling
    # the figure clicked.
    zero = format_value(Decimal(0), "money", currency)
    column, label = next(
        (index, name)
        for index, name in (
            (2, "New"),
            (3, "Reactivation"),
            (4, "Expansion"),
            (5, "Contraction"),
            (6, "Churn"),
        )
        if august.locator("td").nth(index).inner_text() != zero
    )
    cell = august.locator("td").nth(column)
    figure = cell.inner_text()
    cell.get_by_role("link").click()
    page.wait_for_url("**/dashboards/drill/retention-customers/**")
    assert "in_month=2026-08" in page.url
    assert page.locator("#drill-h").inner_text() == f"{label} MRR, Aug 2026: {figure}"
    assert page.locator('table[data-table="movement_customers"] tbody tr').count() > 0
    totals = page.locator('table[data-table="movement_customers"] tfoot td')
    assert totals.last.inner_text() == figure
    screenshot("dashboard-retention-drill-1440")
    page.locator("#drill-back").click()
    page.wait_for_url("**/dashboards/retention/?**quarter=2026-Q3**")
