"""Marketing page (issue #18, item 6): ROI of the paid campaigns only, unpaid revenue apart,
"(no campaign)" never "cost missing", and the cards agree with the tables.

Data: the March 2026 dataset of tests/metrics/wiring/conftest.py plus a touchpoint without a
campaign (Email) for contact C, so that D3 (50.00) is attributed to "(no campaign)". Under
the linear model: Spring 425.00 of spend and 850.00 of revenue, Dud 50.00 and 0, Ghost
120.00 and none (paid: 595.00 of spend, 850.00 of revenue, ROI (850 - 595) / 595 = 42.9%);
Newsletter 550.00 without spend (cost missing); "(no campaign)" 50.00 (unpaid)."""

import datetime as dt
from decimal import Decimal

import pytest

from dashboards.pages import marketing
from records import models as m
from tests import factories as f
from tests.dashboards.helpers import cell_texts
from tests.metrics.wiring.conftest import END, START, dataset  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
URL = "/dashboards/marketing/"
MARCH = {"period": "month", "month": "2026-03", "model": "linear"}


@pytest.fixture
def organic(dataset):  # noqa: F811
    contact = m.Contact.objects.get(name="C")
    email = m.Channel.objects.get(name="Email")
    f.TouchpointFactory(
        source=dataset,
        contact=contact,
        channel=email,
        occurred_at=dt.datetime(2026, 3, 14, 10, tzinfo=dt.UTC),
    )
    return dataset


def test_totals_are_the_roi_of_paid_campaigns(organic):
    page = marketing.marketing_page(start=START, end=END, model="linear")
    totals = page.campaign_totals
    assert totals.cost == Decimal("595.00")
    assert totals.revenue == Decimal("1450.00")  # every row shown
    assert totals.paid_revenue == Decimal("850.00")
    assert totals.roi == (Decimal("850.00") - Decimal("595.00")) / Decimal("595.00")
    assert totals.unpaid_revenue == Decimal("50.00")
    assert totals.cost_missing_revenue == Decimal("550.00")
    assert [row.key for row in page.cost_missing] == ["Newsletter"]


def test_cards_agree_with_the_tables(organic, viewer_client):
    html = viewer_client.get(URL, MARCH).content.decode()
    campaigns = {row[0]: row for row in cell_texts(html, "campaigns")}
    assert campaigns["(no campaign)"][6] == "unpaid: no campaign, no spend"
    assert campaigns["Newsletter"][6] == "cost missing"
    channels = {row[0]: row for row in cell_texts(html, "channels")}
    assert channels["Email"][5] == "unpaid: no spend"
    assert [row[0] for row in cell_texts(html, "cost_missing")] == ["Newsletter"]
    assert "ROI of paid campaigns" in html and "42.9%" in html
    assert 'id="kpi-unpaid"' in html and "USD 50.00" in html
    assert '<dt>Campaigns with revenue, no spend (cost missing)</dt><dd class="">1</dd>' in html
    drill = viewer_client.get(
        "/dashboards/drill/marketing/", {**MARCH, "group_by": "campaign", "key": "(no campaign)"}
    ).content.decode()
    assert "unpaid: no campaign, no spend" in drill and "cost missing" not in drill
