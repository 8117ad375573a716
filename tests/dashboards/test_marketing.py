"""Marketing ROI dashboard: page selectors, the page, filters, drill-down, exports, 403s and
query counts. Data: the hand-worked March 2026 dataset of tests/metrics/wiring/conftest.py
(Spring 425.00 spend, Ghost EUR 100 = 120.00, Dud 50.00; D1 USD 1,100.00 via Spring then
Newsletter, D2 300.00 via Spring; D3 and D4 unattributed 60.00)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from dashboards.pages import marketing
from metrics import selectors
from metrics.computations.attribution import MODELS
from metrics.models import MetricSnapshot
from records import models as m
from tests.dashboards.conftest import MARCH, make_company
from tests.dashboards.helpers import (
    assert_login_needed,
    assert_role_needed,
    cell_texts,
    csv_dicts,
    export,
    query_count,
)
from tests.metrics.wiring.conftest import END, START, dataset  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def by_key(rows):
    return {row.key: row for row in rows}


def test_page_figures_under_linear(dataset):  # noqa: F811
    page = marketing.marketing_page(start=START, end=END, model="linear")
    campaigns = by_key(page.campaigns)
    spend = m.CampaignSpend.objects.filter(
        campaign__name="Spring", date__gte=START, date__lte=END
    ).aggregate(total=Sum("amount"))["total"]
    assert campaigns["Spring"].cost == spend == Decimal("425.00")
    assert campaigns["Spring"].revenue == Decimal("850.00")  # 550 of D1 + 300 of D2
    assert campaigns["Spring"].roi == Decimal(1)
    assert campaigns["Spring"].roas == Decimal(2)
    assert campaigns["Spring"].channel == "Search"
    assert campaigns["Dud"].roi == Decimal(-1)
    assert campaigns["Ghost"].status == "not_tracked"
    assert [row.key for row in page.cost_missing] == ["Newsletter"]
    assert page.cost_missing[0].revenue == Decimal("550.00")
    assert [(row.key, row.cost) for row in page.lacking_roi] == [("Ghost", Decimal("120.00"))]
    assert page.tracking_capability_percent.quantize(Decimal("0.01")) == Decimal("66.67")
    channels = by_key(page.channels)
    assert channels["Search"].cost == Decimal("595.00")
    assert channels["Search"].revenue == Decimal("850.00")
    assert channels["Email"].status == "cost_missing"
    assert page.won_deals == 4
    assert page.unattributed_deals == 2
    assert page.unattributed_revenue == Decimal("60.00")
    assert page.attributed_revenue == Decimal("1400.00")
    # Totals of the campaign table: 595 spend, 1,400 attributed revenue.
    assert page.campaign_totals.cost == Decimal("595.00")
    assert page.campaign_totals.revenue == Decimal("1400.00")
    # ROI and ROAS of the paid campaigns only (issue #18): Spring 850 of revenue, Dud 0 and
    # Ghost none on 595 of spend; Newsletter's 550 has no spend (cost missing).
    assert page.campaign_totals.roas == Decimal("850.00") / Decimal("595.00")
    assert page.campaign_totals.cost_missing_revenue == Decimal("550.00")


def test_comparison_has_every_model_side_by_side(dataset):  # noqa: F811
    page = marketing.marketing_page(start=START, end=END, model="last_touch")
    assert page.models == MODELS
    spring = by_key(page.comparison)["Spring"]
    assert set(spring.revenue) == set(MODELS)
    assert spring.revenue["last_touch"] == Decimal("300.00")
    assert spring.revenue["first_touch"] == Decimal("1400.00")
    assert spring.revenue["linear"] == Decimal("850.00")
    assert spring.cost == Decimal("425.00")
    # Every model allocates all attributed revenue (1,400.00) across the campaigns.
    for model in MODELS:
        assert sum(
            (row.revenue[model] or Decimal(0) for row in page.comparison), Decimal(0)
        ) == Decimal("1400.00")
    # The last-touch page reads the last-touch snapshot.
    assert by_key(page.campaigns)["Newsletter"].revenue == Decimal("1100.00")


def test_snapshots_are_stored_and_read_back(dataset, django_assert_num_queries):  # noqa: F811
    marketing.marketing_page(start=START, end=END, model="linear")
    assert MetricSnapshot.objects.filter(kind="campaign_roi").count() == len(MODELS) + 1
    with django_assert_num_queries(2):  # the snapshots, the campaign → channel names
        marketing.marketing_page(start=START, end=END, model="linear")


def test_missing_snapshots_share_one_read_of_the_inputs(dataset):  # noqa: F811
    from unittest import mock

    from metrics import snapshots
    from metrics.reports.attribution import AttributionContext

    with mock.patch.object(AttributionContext, "read", wraps=AttributionContext.read) as context:
        marketing.marketing_page(start=START, end=END, model="markov")
    assert context.call_count == 1  # 9 snapshots (7 models + channel + attribution) stored
    assert MetricSnapshot.objects.count() == 9
    # Stored exactly as the engine computes them.
    stored = MetricSnapshot.objects.get(kind="campaign_roi", model="linear", group_by="campaign")
    fresh = snapshots.COMPUTERS["campaign_roi"](stored.params)
    assert stored.result == fresh


def test_channel_and_campaign_filters(dataset):  # noqa: F811
    page = marketing.marketing_page(start=START, end=END, model="linear", channel="Email")
    assert [row.key for row in page.campaigns] == ["Newsletter"]
    assert [row.key for row in page.channels] == ["Email"]
    assert [row.key for row in page.comparison] == ["Newsletter"]
    assert page.lacking_roi == []
    page = marketing.marketing_page(start=START, end=END, model="linear", campaign="Ghost")
    assert [row.key for row in page.campaigns] == ["Ghost"]
    assert [row.key for row in page.channels] == ["Search"]
    assert page.cost_missing == []


def test_unknown_model_is_an_error(dataset):  # noqa: F811
    with pytest.raises(ValueError, match="unknown model"):
        marketing.marketing_page(start=START, end=END, model="nope")


def test_drill_deals_and_touchpoints_of_a_campaign(dataset):  # noqa: F811
    deals = selectors.attributed_deals(group_by="campaign", key="Spring", start=START, end=END)
    assert sorted(row["amount"] for row in deals) == [Decimal("300.00"), Decimal("1000.00")]
    newsletter = selectors.attributed_deals(
        group_by="campaign", key="Newsletter", start=START, end=END
    )
    assert [row["contact_name"] for row in newsletter] == ["A"]
    assert (
        list(selectors.attributed_deals(group_by="campaign", key="Ghost", start=START, end=END))
        == []
    )
    touches = selectors.group_touchpoints(group_by="campaign", key="Spring", start=START, end=END)
    assert [row["contact_name"] for row in touches] == ["B", "A"]  # newest first


def test_drill_by_channel_follows_the_campaigns_channel(dataset):  # noqa: F811
    # A's Newsletter touch has no channel of its own: it counts for Email through its campaign.
    touches = selectors.group_touchpoints(group_by="channel", key="Email", start=START, end=END)
    assert [row["campaign_name"] for row in touches] == ["Newsletter"]
    deals = selectors.attributed_deals(group_by="channel", key="Email", start=START, end=END)
    assert [row["contact_name"] for row in deals] == ["A"]
    # The October 2025 Email touch of D is outside the 90-day lookback of its deal.
    wide = selectors.group_touchpoints(
        group_by="channel", key="Email", start=START, end=END, lookback=dt.timedelta(days=200)
    )
    assert len(wide) == 2


def test_drill_deals_respects_the_lookback_window(dataset):  # noqa: F811
    late = dt.date(2026, 3, 31)
    assert (
        list(selectors.attributed_deals(group_by="channel", key="Email", start=late, end=late))
        == []
    )


# --- the page ----------------------------------------------------------------------------

URL = "/dashboards/marketing/"
DRILL = "/dashboards/drill/marketing/"


def test_urls_are_named():
    assert reverse("dashboards:marketing") == URL
    assert reverse("dashboards:marketing_drill") == DRILL


def test_page_shows_the_figures_formatted(dataset, viewer_client):  # noqa: F811
    response = viewer_client.get(URL, MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    campaigns = {row[0]: row for row in cell_texts(html, "campaigns")}
    assert campaigns["Spring"][1:6] == ["Search", "USD 425.00", "USD 850.00", "100.0%", "2.00"]
    assert campaigns["Dud"][4] == "\u2212100.0%"  # negative values are marked
    assert campaigns["Newsletter"][4] == "\u2014"  # undefined, reason on hover
    assert campaigns["Newsletter"][6] == "cost missing"
    assert "USD 1,400.00" in html  # thousands separator in the totals and KPI
    assert [row[0] for row in cell_texts(html, "cost_missing")] == ["Newsletter"]
    assert [row[0] for row in cell_texts(html, "no_roi")] == ["Ghost"]
    comparison = {row[0]: row for row in cell_texts(html, "comparison")}
    assert comparison["Spring"][1] == "USD 425.00"


def test_model_picker_reads_another_model(dataset, viewer_client):  # noqa: F811
    html = viewer_client.get(URL, {**MARCH, "model": "last_touch"}).content.decode()
    campaigns = {row[0]: row for row in cell_texts(html, "campaigns")}
    assert campaigns["Spring"][3] == "USD 300.00"
    assert campaigns["Newsletter"][3] == "USD 1,100.00"
    # Drill links keep the model and the period.
    assert "model=last_touch" in html and "drill/marketing/?" in html


def test_bad_model_is_a_400_naming_it(dataset, viewer_client):  # noqa: F811
    response = viewer_client.get(URL, {**MARCH, "model": "magic"})
    assert response.status_code == 400
    assert "model: &#x27;magic&#x27; is not one of" in response.content.decode()


def test_channel_filter_narrows_the_tables(dataset, viewer_client):  # noqa: F811
    email = m.Channel.objects.get(name="Email")
    html = viewer_client.get(URL, {**MARCH, "channel": email.pk}).content.decode()
    assert [row[0] for row in cell_texts(html, "campaigns")] == ["Newsletter"]
    assert [row[0] for row in cell_texts(html, "channels")] == ["Email"]


def test_campaign_filter(dataset, viewer_client):  # noqa: F811
    ghost = m.Campaign.objects.get(name="Ghost")
    html = viewer_client.get(URL, {**MARCH, "campaign": ghost.pk}).content.decode()
    assert [row[0] for row in cell_texts(html, "campaigns")] == ["Ghost"]


def test_empty_period_says_what_to_do(dataset, viewer_client):  # noqa: F811
    html = viewer_client.get(URL, {"period": "month", "month": "2024-01"}).content.decode()
    assert "No campaign spend or attributed revenue in this period" in html
    assert "sync the marketing and CRM connectors" in html


def test_csv_export_of_campaigns(dataset, viewer_client):  # noqa: F811
    rows = csv_dicts(export(viewer_client, URL, MARCH, "campaigns"))
    spring = next(row for row in rows if row["Campaign"] == "Spring")
    assert spring["Spend (USD)"] == "425.00"
    assert spring["Attributed revenue (USD)"] == "850.00"
    assert spring["ROI"] == "100.00"
    assert rows[-1]["Campaign"] == "Total"
    assert rows[-1]["Spend (USD)"] == "595.00"
    comparison = csv_dicts(export(viewer_client, URL, MARCH, "comparison"))
    assert {row["Campaign"] for row in comparison} >= {"Spring", "Newsletter"}
    assert "Markov (removal effect) revenue (USD)" in comparison[0]
    assert export(viewer_client, URL, MARCH, "no_roi", "xlsx").status_code == 200


def test_export_is_formula_safe(dataset, viewer_client):  # noqa: F811
    m.Campaign.objects.filter(name="Ghost").update(name="=HYPERLINK(1)")
    rows = csv_dicts(export(viewer_client, URL, MARCH, "no_roi"))
    assert rows[0]["Campaign"] == "'=HYPERLINK(1)"


def test_drill_campaign_to_deals_and_touchpoints(dataset, viewer_client):  # noqa: F811
    params = {**MARCH, "group_by": "campaign", "key": "Spring", "model": "linear"}
    html = viewer_client.get(DRILL, params).content.decode()
    deals = cell_texts(html, "deals")
    expected = sorted(
        m.Deal.objects.filter(contact__name__in=["A", "B"]).values_list("external_id", flat=True)
    )
    assert sorted(row[1] for row in deals) == expected
    assert "USD 850.00" in html  # the campaign's attributed revenue under linear
    html = viewer_client.get(DRILL, {**params, "show": "touchpoints"}).content.decode()
    assert [row[2] for row in cell_texts(html, "touchpoints")] == ["B", "A"]
    rows = csv_dicts(export(viewer_client, DRILL, {**params, "show": "touchpoints"}, "touchpoints"))
    assert [row["Contact"] for row in rows] == ["B", "A"]
    rows = csv_dicts(export(viewer_client, DRILL, params, "deals"))
    assert sorted(row["Amount"] for row in rows) == ["1000.00", "300.00"]


def test_drill_needs_a_key(dataset, viewer_client):  # noqa: F811
    response = viewer_client.get(DRILL, {**MARCH, "group_by": "campaign"})
    assert response.status_code == 400


def test_drill_is_paginated(dataset, viewer_client):  # noqa: F811
    spring = m.Campaign.objects.get(name="Spring")
    contact = m.Contact.objects.get(name="A")
    for i in range(60):
        m.Touchpoint.objects.create(
            source=spring.source,
            external_id=f"extra-{i}",
            contact=contact,
            campaign=spring,
            occurred_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
            type="click",
        )
    params = {**MARCH, "group_by": "campaign", "key": "Spring", "show": "touchpoints"}
    html = viewer_client.get(DRILL, params).content.decode()
    assert len(cell_texts(html, "touchpoints")) == 50
    assert "of 62" in html
    assert (
        len(
            cell_texts(
                viewer_client.get(DRILL, {**params, "page": 2}).content.decode(), "touchpoints"
            )
        )
        == 12
    )
    assert len(csv_dicts(export(viewer_client, DRILL, params, "touchpoints"))) == 62


DRILL_STATE = {"group_by": "campaign", "key": "Spring"}
CASES = [
    (URL, {}, None),
    *(
        (URL, {}, table)
        for table in ("campaigns", "channels", "comparison", "cost_missing", "no_roi")
    ),
    (DRILL, DRILL_STATE, None),
    (DRILL, DRILL_STATE, "deals"),
    (DRILL, {**DRILL_STATE, "show": "touchpoints"}, "touchpoints"),
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("url, state, table", CASES)
def test_every_page_and_export_is_403_without_the_role_and_200_with_it(
    dataset,  # noqa: F811
    client,
    no_role_user,
    finance_viewer,
    url,
    state,
    table,
    fmt,
):
    assert_role_needed(client, no_role_user, finance_viewer, url, {**MARCH, **state}, table, fmt)


def test_anonymous_is_sent_to_login(client):
    assert_login_needed(client, URL)


# session, user, permissions (2), channel and campaign options, snapshots, the header's
# alert bell (firing count), the latest ingest batch (the ROI reconciliation's cache key).
PAGE_QUERIES = 9
# session, user, permissions (2), the ROI snapshot, page count, page rows, other tab count,
# the alert bell.
DRILL_QUERIES = 9


@pytest.mark.parametrize("n", [1, 5])
def test_query_count_is_fixed_whatever_the_data_size(
    db, settings, client, finance_viewer, django_assert_num_queries, n
):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    search = make_company(n)["channels"]["Search"]
    client.force_login(finance_viewer)
    client.get(URL, MARCH)  # stores the missing snapshots (as the nightly run would)
    client.get(DRILL, {**MARCH, "group_by": "channel", "key": "Search"})
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(URL, MARCH).status_code == 200
    with django_assert_num_queries(PAGE_QUERIES):  # a whole per-campaign table, one page
        assert client.get(URL, {**MARCH, "list": "comparison", "page": 2}).status_code == 200
    client.get(URL, {**MARCH, "model": "markov"})
    with django_assert_num_queries(PAGE_QUERIES):
        assert (
            client.get(URL, {**MARCH, "model": "markov", "channel": search.pk}).status_code == 200
        )
    for params in (
        {"group_by": "campaign", "key": "Spring"},
        {"group_by": "channel", "key": "Search", "show": "touchpoints"},
    ):
        with django_assert_num_queries(DRILL_QUERIES):
            assert client.get(DRILL, {**MARCH, **params}).status_code == 200
    assert query_count(client, URL, MARCH) <= 15
