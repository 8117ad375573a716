"""Marketing ROI page size: each per-campaign table shows the top TOP_CAMPAIGNS campaigns
(biggest spend first) with "N of M campaigns — see all"; ``?list=<table>`` lists them all,
paginated; the exports and the campaign ROI report keep every campaign.

Data: the hand-worked March 2026 dataset of tests/metrics/wiring/conftest.py (Spring 425.00
spend, 850.00 linear revenue; Ghost 120.00 spend, no revenue; Dud 50.00 spend; Newsletter
no spend, 550.00 revenue), with the page cut to 2 campaigns."""

import datetime as dt
import json
import re

import pytest

from dashboards.pages import marketing
from reports.building import report_build, report_params_from_query
from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import cell_texts, csv_dicts, export
from tests.metrics.wiring.conftest import dataset  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

URL = "/dashboards/marketing/"
MARCH_TODAY = dt.date(2026, 7, 1)


@pytest.fixture
def top2(monkeypatch):
    monkeypatch.setattr(marketing, "TOP_CAMPAIGNS", 2)


def chart_labels(html: str, chart_id: str) -> list[str]:
    script = re.search(rf'id="chart-{chart_id}-data"[^>]*>(.*?)</script>', html, re.S)
    return json.loads(script[1])["labels"]


def campaign_names(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows]


def test_page_shows_the_top_campaigns_by_spend_and_the_rest_as_other(
    dataset,  # noqa: F811
    viewer_client,
    top2,
):
    html = viewer_client.get(URL, MARCH).content.decode()
    campaigns = cell_texts(html, "campaigns")
    assert campaign_names(campaigns) == ["Spring", "Ghost", "Other 2 campaigns"]
    # Dud's 50.00 spend and Newsletter's 550.00 revenue; ROI of the one with spend (Dud, no
    # revenue): -100%.
    assert campaigns[2][2:5] == ["USD 50.00", "USD 550.00", "\u2212100.0%"]
    assert "2 of 4 campaigns" in html and "see all 4" in html
    assert 'href="?period=month&amp;month=2026-03&amp;list=campaigns"' in html
    # The chart draws what its table shows; the totals stay those of every campaign.
    assert chart_labels(html, "campaign_roi") == ["Spring", "Ghost", "Other 2 campaigns"]
    assert "USD 595.00" in html  # Σ spend of the four
    comparison = cell_texts(html, "comparison")
    assert campaign_names(comparison) == ["Spring", "Ghost", "Other 2 campaigns"]
    assert len(chart_labels(html, "model_comparison")) == 3
    # Lists: the biggest spend first, no "other" row.
    assert campaign_names(cell_texts(html, "no_roi")) == ["Ghost"]
    assert 'id="see-all-no_roi"' not in html
    # The export link of a shortened table still exports the whole table.
    assert 'href="/dashboards/marketing/?period=month&amp;month=2026-03&amp;table=campaigns' in html


def test_the_list_view_has_every_campaign_a_page_at_a_time(
    dataset,  # noqa: F811
    viewer_client,
    top2,
    monkeypatch,
):
    monkeypatch.setattr(marketing, "PER_PAGE", 3)
    first = viewer_client.get(URL, {**MARCH, "list": "campaigns"}).content.decode()
    assert campaign_names(cell_texts(first, "campaigns")) == ["Spring", "Ghost", "Dud"]
    assert "Rows 1\u20133 of 4" in first and "list=campaigns&amp;page=2" in first
    assert 'id="back"' in first and "kpi-spend" not in first  # one table, no charts
    second = viewer_client.get(URL, {**MARCH, "list": "campaigns", "page": 2}).content.decode()
    assert campaign_names(cell_texts(second, "campaigns")) == ["Newsletter"]
    assert "USD 595.00" in second  # the total of every campaign on every page
    listed = viewer_client.get(URL, {**MARCH, "list": "comparison"}).content.decode()
    assert len(cell_texts(listed, "comparison")) == 3


def test_short_tables_whole_and_an_unknown_list_is_a_400(dataset, viewer_client):  # noqa: F811
    html = viewer_client.get(URL, MARCH).content.decode()
    assert "see all" not in html and "Other" not in html
    assert campaign_names(cell_texts(html, "campaigns")) == ["Spring", "Ghost", "Dud", "Newsletter"]
    response = viewer_client.get(URL, {**MARCH, "list": "deals"})
    assert response.status_code == 400
    assert "list: &#x27;deals&#x27; is not one of campaigns" in response.content.decode()


def test_exports_and_the_report_keep_every_campaign(
    dataset,  # noqa: F811
    viewer_client,
    finance_viewer,
    top2,
):
    every = {"Spring", "Ghost", "Dud", "Newsletter"}
    for table in ("campaigns", "comparison"):
        rows = csv_dicts(export(viewer_client, URL, MARCH, table))
        assert {row["Campaign"] for row in rows} - {"Total"} == every
    listed = csv_dicts(export(viewer_client, URL, {**MARCH, "list": "campaigns"}, "campaigns"))
    assert len(listed) == 5  # four campaigns and the total
    params = report_params_from_query(key="campaign_roi", query=MARCH, today=MARCH_TODAY)
    report = report_build(key="campaign_roi", params=params, user=finance_viewer)
    campaigns = next(t for t in report.tables if t.id == "campaigns")
    assert {row.values["key"] for row in campaigns.rows} == every
    chart = next(c for c in report.charts if c.id == "campaign_roi")
    assert set(chart.labels) == every


def test_revenue_without_a_campaign_is_ranked_first_not_lumped_into_other():
    """Touchpoints without a campaign have no spend but often the most revenue: their row
    leads every shortened table instead of disappearing into "Other N campaigns"."""
    from dashboards.tables import Column, Row, Table
    from metrics.selectors import NO_CAMPAIGN

    rows = [
        Row({"key": "Spring", "cost": 425, "revenue": 850}),
        Row({"key": NO_CAMPAIGN, "cost": 0, "revenue": 9000}),
        Row({"key": "Ghost", "cost": 120, "revenue": None}),
    ]
    table = Table(id="campaigns", title="t", columns=[Column("key", "Campaign")], rows=rows)
    assert [r.values["key"] for r in marketing._ranked(table, "linear")] == [
        NO_CAMPAIGN,
        "Spring",
        "Ghost",
    ]
