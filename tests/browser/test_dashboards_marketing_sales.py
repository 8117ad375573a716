"""The Marketing ROI and Sales dashboards in a real browser, against generated company data.

A finance viewer opens each dashboard, checks a figure against the value computed from the
database here, changes the period and a filter through the form, clicks a chart bar to drill
down to the rows behind it, and downloads a CSV. Screenshots go to test-artifacts/screenshots/.
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
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


@pytest.fixture
def company_data(settings):
    from connectors.sandbox.company import generate
    from finhub.core import roles
    from records.ingestion.bulk import records_bulk_load
    from tests.factories import ConnectorFactory, user_with_role

    company = generate(seed=7, scale=0.05, end_month=END_MONTH)
    settings.FINHUB_REPORTING_CURRENCY = company.reporting_currency
    source = ConnectorFactory(name="Generated company", kind="crm")
    records_bulk_load(company.entities, source=source)
    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    return company


def converted(rows) -> Decimal:
    """Σ of ``(currency, day, amount)`` in the reporting currency at each day's rate."""
    from metrics import selectors

    rows = list(rows)
    if not rows:
        return Decimal(0)
    rates = selectors.fx_rates(start=min(r[1] for r in rows), end=max(r[1] for r in rows))
    return sum((rates.convert(a, c, d) for c, d, a in rows), Decimal(0))


def money(value: Decimal, currency: str) -> str:
    from dashboards.tables import format_value

    return format_value(value, "money", currency)


def click_bar(page, chart_id: str, dataset: int, index: int) -> None:
    """Click bar ``index`` of dataset ``dataset`` of a dashboard chart (opens its drill)."""
    x, y = page.evaluate(
        """([id, ds, i]) => { const bar = window.finhubCharts[id].getDatasetMeta(ds).data[i];
            return [bar.x, (bar.y + bar.base) / 2]; }""",
        [chart_id, dataset, index],
    )
    page.locator(f"#canvas-{chart_id}").click(position={"x": x, "y": y})


def download_csv(page, table_id: str, path) -> list[list[str]]:
    with page.expect_download() as download_info:
        page.locator(f"#table-{table_id}").get_by_role("link", name="CSV").click()
    download_info.value.save_as(path)
    with path.open(encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_marketing_dashboard(page, live_server, login, screenshot, company_data, tmp_path):
    from records import models as m

    currency = company_data.reporting_currency
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/marketing/?period=quarter&quarter=2026-Q3")
    page.get_by_role("heading", name="Marketing ROI").wait_for()

    # The first campaign's spend equals Σ of its spend rows in Q3 (converted at their date).
    first = page.locator('table[data-table="campaigns"] tbody tr').first
    name = first.locator("td").first.inner_text()
    spend = converted(
        m.CampaignSpend.objects.filter(
            campaign__name=name, date__gte=Q3[0], date__lte=Q3[1]
        ).values_list("currency_id", "date", "amount")
    )
    assert first.locator("td").nth(2).inner_text() == money(spend, currency)
    total = converted(
        m.CampaignSpend.objects.filter(
            campaign__isnull=False, date__gte=Q3[0], date__lte=Q3[1]
        ).values_list("currency_id", "date", "amount")
    )
    assert page.locator("#kpi-spend .value").inner_text() == money(total, currency)
    assert page.locator('table[data-table="comparison"] tbody tr').count() > 0
    screenshot("dashboard-marketing")

    # Period: September 2026 through the picker; model: last touch.
    page.locator("#picker-period").select_option("month")
    page.get_by_label("Month").fill("2026-09")
    page.locator("#picker-model").select_option("last_touch")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**month=2026-09**")
    assert "model=last_touch" in page.url
    assert "September 2026" in page.locator("#period-label").inner_text()
    # Filter: one channel.
    channel = m.Channel.objects.get(
        pk=m.CampaignSpend.objects.filter(
            date__gte=dt.date(2026, 9, 1), campaign__channel__isnull=False
        )
        .order_by("campaign__channel__name")
        .values_list("campaign__channel", flat=True)
        .first()
    )
    page.locator("#filter-channel").select_option(label=channel.name)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**channel={channel.pk}**")
    channels = page.locator('table[data-table="channels"] tbody tr')
    assert channels.count() == 1
    assert channels.first.locator("td").first.inner_text() == channel.name
    screenshot("dashboard-marketing-september-channel")

    # CSV export of the channel table: the same spend as on the page.
    rows = download_csv(page, "channels", tmp_path / "channels.csv")
    assert rows[1][0] == channel.name
    september = converted(
        m.CampaignSpend.objects.filter(
            campaign__channel=channel, date__gte=dt.date(2026, 9, 1), date__lte=dt.date(2026, 9, 30)
        ).values_list("currency_id", "date", "amount")
    )
    assert Decimal(rows[1][1]) == september.quantize(Decimal("0.01"))

    # Drill down: the channel's revenue bar → its won deals and touchpoints.
    click_bar(page, "channel_roi", 1, 0)
    page.wait_for_url("**/dashboards/drill/marketing/**")
    assert "group_by=channel" in page.url and "model=last_touch" in page.url
    page.get_by_role("heading", name=f"Channel {channel.name}: deals and touchpoints").wait_for()
    screenshot("dashboard-marketing-drill-deals")
    page.locator("#tab-touchpoints").click()
    page.wait_for_url("**show=touchpoints**")
    assert page.locator('table[data-table="touchpoints"] tbody tr').count() > 0
    screenshot("dashboard-marketing-drill-touchpoints")


def test_sales_dashboard(page, live_server, login, screenshot, company_data, tmp_path):
    from metrics import selectors
    from records import models as m

    currency = company_data.reporting_currency
    login("fiona")
    page.goto(f"{live_server.url}/dashboards/sales/?period=quarter&quarter=2026-Q3")
    page.get_by_role("heading", name="Sales analytics").wait_for()
    low, high = selectors.period_bounds(*Q3)
    won = m.Deal.objects.filter(status="won", closed_at__gte=low, closed_at__lt=high)
    won_revenue = converted(
        (c, selectors.local_date(at), a)
        for c, at, a in won.values_list("currency_id", "closed_at", "amount")
    )
    assert page.locator("#kpi-won-revenue .value").inner_text() == money(
        won_revenue.quantize(Decimal("0.01")), currency
    )
    assert page.locator('table[data-table="reps"] tbody tr').count() > 0
    screenshot("dashboard-sales")

    # Period: the previous quarter; filter: one team.
    page.locator("#prior-period").click()
    page.wait_for_url("**quarter=2026-Q2**")
    from django.db.models import Count

    q2_low, q2_high = selectors.period_bounds(dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    team = m.SalesTeam.objects.get(
        pk=m.Deal.objects.filter(
            opened_at__gte=q2_low, opened_at__lt=q2_high, rep__team__isnull=False
        )
        .values("rep__team")
        .annotate(n=Count("id"))
        .order_by("-n", "rep__team")
        .values_list("rep__team", flat=True)
        .first()
    )
    page.locator("#filter-team").select_option(label=team.name)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**team={team.pk}**")
    assert "quarter=2026-Q2" in page.url
    reps = page.locator('table[data-table="reps"] tbody tr')
    assert reps.count() > 0
    for i in range(reps.count()):
        assert reps.nth(i).locator("td").nth(1).inner_text() == team.name
    screenshot("dashboard-sales-q2-team")

    # CSV export of the per-rep attainment.
    rows = download_csv(page, "reps", tmp_path / "reps.csv")
    assert rows[0][:2] == ["Rep", "Team"]
    assert {row[1] for row in rows[1:]} == {team.name}

    # Drill down: the first stage's bar of the pipeline → the team's deals at that stage.
    stage = page.locator('table[data-table="pipeline_stages"] tbody tr').first
    stage_name = stage.locator("td").first.inner_text()
    deals = int(stage.locator("td").nth(1).inner_text().replace(",", ""))
    click_bar(page, "pipeline", 0, 0)
    page.wait_for_url("**/dashboards/drill/deals/**")
    assert "stage=" in page.url and f"team={team.pk}" in page.url
    page.get_by_role("heading", name=f"stage {stage_name}").wait_for()
    expected = m.Deal.objects.filter(
        opened_at__gte=q2_low, opened_at__lt=q2_high, stage=stage_name, rep__team=team
    ).count()
    assert deals == expected
    assert page.locator('table[data-table="deals"] tbody tr').count() == min(50, expected)
    screenshot("dashboard-sales-drill")
