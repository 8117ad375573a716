"""The CAC monitoring page: figures from the database, targets as reference lines, channel
filter, drill-down, exports and bounded queries."""

import datetime as dt
import json
import re
from decimal import Decimal

from django.db.models import Sum

from metrics.models import MetricSnapshot
from records import models as m
from tests import factories as f
from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import cell_texts, csv_dicts, export, query_count

URL = "/dashboards/cac/"
Q1 = {"period": "quarter", "quarter": "2026-Q1"}


def chart_data(html: str, chart_id: str) -> dict:
    match = re.search(
        rf'<script id="chart-{chart_id}-data" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(match[1])


def sm_cost(month: int) -> Decimal:
    return m.GLLine.objects.filter(
        posting_date__year=2026, posting_date__month=month, account__is_sales_marketing=True
    ).aggregate(total=Sum("amount"))["total"]


def new_customers(month: int) -> int:
    # every customer of the fixture has one "new" event: its first MRR month
    return m.SubscriptionEvent.objects.filter(
        occurred_on__year=2026, occurred_on__month=month
    ).count()


def test_blended_cac_by_month_equals_the_database(viewer_client, company):
    html = viewer_client.get(URL, Q1).content.decode()
    rows = {row[0]: row for row in cell_texts(html, "cac_months")}
    assert rows["Mar 2026"][1] == str(new_customers(3)) == "4"
    expected = sm_cost(3) / new_customers(3)
    assert rows["Mar 2026"][3] == f"USD {expected:,.2f}" == "USD 62.50"
    assert rows["Feb 2026"][3] == f"USD {sm_cost(2) / new_customers(2):,.2f}" == "USD 125.00"
    assert rows["Jan 2026"][3] == "\u2014"  # no new customers: undefined, never 0
    # paid CAC: Search spend 600 in March / 4 Search customers
    assert rows["Mar 2026"][4] == "USD 150.00"
    data = chart_data(html, "cac")
    assert data["labels"] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert data["series"][0]["values"][0] is None
    assert Decimal(data["series"][0]["values"][2]) == Decimal("62.5")
    assert data["references"] == []  # no targets in the scorecard yet


def test_targets_are_drawn_when_the_scorecard_has_them(viewer_client, company):
    html = viewer_client.get(URL, Q1).content.decode()
    assert "No target in the roadmap scorecard for" in html
    f.SuccessMetricFactory(
        key="ltv_to_cac", name="LTV to CAC", target_value=Decimal("3"), unit="count"
    )
    f.SuccessMetricFactory(
        key="cac_payback_months",
        name="CAC payback",
        target_value=Decimal("12"),
        unit="count",
        direction="at_most",
    )
    html = viewer_client.get(URL, Q1).content.decode()
    ltv = chart_data(html, "ltv_cac")
    assert ltv["references"] == [
        {"label": "Target: LTV to CAC", "value": "3.0000", "color": "#b42318"}
    ]
    payback = {row[0]: row for row in cell_texts(html, "payback_months")}
    # ARPA 100 x margin 0.80 = 80 a month; blended CAC 62.50 → 0.78 months, within 12.
    assert payback["Mar 2026"][1] == "0.78"
    assert payback["Mar 2026"][3] == "Met"
    targets = {row[0]: row for row in cell_texts(html, "targets")}
    assert targets["Blended CAC"][4] == "No target set"
    assert targets["CAC payback (months)"][2] == "12.00"


def test_channel_filter_and_channel_table(viewer_client, company):
    search = company["channels"]["Search"]
    html = viewer_client.get(URL, {**Q1, "channel": search.pk}).content.decode()
    rows = {row[0]: row for row in cell_texts(html, "cac_months")}
    assert rows["Mar 2026"][5] == "USD 150.00"  # Search CAC column
    channels = cell_texts(html, "channel_cac")
    assert {row[1] for row in channels} == {"Search"}
    assert channels[-1][:4] == ["Mar 2026", "Search", "yes", "USD 150.00"]


def test_month_drills_to_sales_and_marketing_lines(viewer_client, company):
    html = viewer_client.get(URL, Q1).content.decode()
    link = (
        "/dashboards/drill/gl-lines/?period=month&amp;month=2026-03&amp;sales_marketing=1"
        "&amp;from=cac"
    )
    assert link in html
    drill = viewer_client.get(
        "/dashboards/drill/gl-lines/", {**MARCH, "sales_marketing": "1"}
    ).content.decode()
    rows = cell_texts(drill, "gl_lines")
    assert [row[1] for row in rows] == ["6500 Advertising"]
    assert chart_data(html, "cac")["series"][0]["links"][2] == link.replace("&amp;", "&")


def test_csv_export(viewer_client, company):
    rows = csv_dicts(export(viewer_client, URL, Q1, "cac_months"))
    march = next(r for r in rows if r["Month"] == "Mar 2026")
    assert march["Blended CAC (USD)"] == "62.50"
    assert next(r for r in rows if r["Month"] == "Jan 2026")["Blended CAC (USD)"] == "undefined"
    period = rows[-1]
    assert period["Month"] == "Period"
    assert period["New customers"] == "6"


def test_bounded_queries(viewer_client, company, django_assert_max_num_queries):
    viewer_client.get(URL, Q1)
    count = query_count(viewer_client, URL, Q1)
    with django_assert_max_num_queries(15):
        viewer_client.get(URL, {**Q1, "channel": company["channels"]["Search"].pk})
    search = company["channels"]["Search"]
    for i in range(30):
        customer = f.CustomerFactory(source=search.source, acquisition_channel=search)
        f.SubscriptionEventFactory(
            source=search.source, customer=customer, occurred_on=dt.date(2026, 3, 1 + i % 28)
        )
    MetricSnapshot.objects.all().delete()
    viewer_client.get(URL, Q1)
    assert query_count(viewer_client, URL, Q1) == count <= 15
