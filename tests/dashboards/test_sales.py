"""Sales analytics dashboard: page selectors, the page, the team filter, drill-down, exports,
403s and query counts (hand-worked data: tests/dashboards/sales_data.py)."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from dashboards.pages import sales
from finhub.core.money import CENT
from metrics import selectors
from records import models as m
from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import (
    assert_login_needed,
    assert_role_needed,
    cell_texts,
    csv_dicts,
    export,
    query_count,
)
from tests.dashboards.sales_data import END, START, sales_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return sales_dataset()


def test_all_teams_from_the_snapshot(data):
    page = sales.sales_page(start=START, end=END)
    assert (page.won_deals, page.lost_deals) == (4, 2)
    assert page.win_rate_percent.quantize(CENT) == Decimal("66.67")
    assert page.won_revenue == Decimal("2400.00")
    assert page.average_deal_size == Decimal("600")
    assert (page.cycle_deals, page.cycle_median_days, page.cycle_mean_days) == (
        4,
        Decimal(12),
        Decimal("16.5"),
    )
    assert page.sales_cost == Decimal("1000.00")
    assert page.sales_roi_percent == Decimal(140)
    assert page.consistency_percent == Decimal(50)
    assert page.tolerance_percent == Decimal("0.5")
    assert sorted(row.deal for row in page.mismatches) == sorted(
        [data["bob_won"].external_id, data["cy_won"].external_id]
    )
    stages = {row.stage: row for row in page.pipeline}
    assert (stages["Closed won"].deals, stages["Closed won"].amount) == (3, Decimal("2150.00"))
    assert (stages["Closed lost"].deals, stages["Closed lost"].amount) == (2, Decimal("400.00"))
    assert stages["Proposal"].open_deals == 2
    assert stages["Proposal"].open_amount == Decimal("5700.00")
    assert page.pipeline_totals.deals == 7
    reps = {row.name: row for row in page.reps}
    assert reps["Ann"].attainment_percent == Decimal(120)
    assert reps["Ann"].rep_id == data["ann"].pk
    assert reps["Bob"].attainment_percent == Decimal(40)
    assert reps["Cy"].attainment_percent == Decimal(50)
    teams = {row.name: row for row in page.teams}
    assert teams["North"].won_revenue == Decimal("1400.00")
    assert teams["North"].attainment_percent.quantize(CENT) == Decimal("93.33")
    assert teams["South"].quota == Decimal("2000.00")


def test_won_revenue_equals_the_database(data):
    page = sales.sales_page(start=START, end=END)
    usd = m.Deal.objects.filter(status="won", currency_id="USD").aggregate(t=Sum("amount"))["t"]
    eur = m.Deal.objects.filter(status="won", currency_id="EUR").aggregate(t=Sum("amount"))["t"]
    assert page.won_revenue == usd + eur * Decimal("1.20")


def test_team_filter_is_computed_live_for_the_team(data):
    page = sales.sales_page(start=START, end=END, team_id=data["north"].pk)
    assert page.team == "North"
    assert (page.won_deals, page.lost_deals) == (3, 1)
    assert page.win_rate_percent == Decimal(75)
    assert page.won_revenue == Decimal("1400.00")
    assert [row.name for row in page.reps] == ["Ann", "Bob"]
    assert [row.name for row in page.teams] == ["North"]
    assert [row.deal for row in page.mismatches] == [data["bob_won"].external_id]
    assert page.consistency_percent.quantize(CENT) == Decimal("66.67")
    stages = {row.stage: row for row in page.pipeline}
    assert (stages["Closed won"].deals, stages["Closed won"].amount) == (2, Decimal("1150.00"))
    assert stages["Proposal"].amount == Decimal("700.00")
    # Sales cost has no team: ROI stays the whole department's.
    assert page.sales_roi_percent == Decimal(140)


def test_live_team_figures_add_up_to_the_snapshot(data):
    whole = sales.sales_page(start=START, end=END)
    parts = [
        sales.sales_page(start=START, end=END, team_id=data[team].pk) for team in ("north", "south")
    ]
    assert sum(p.won_deals for p in parts) == whole.won_deals
    assert sum(p.lost_deals for p in parts) == whole.lost_deals
    assert sum(p.won_revenue for p in parts) == whole.won_revenue
    assert sum(len(p.mismatches) for p in parts) == len(whole.mismatches)
    assert sorted((r.name, r.attainment_percent) for p in parts for r in p.reps) == sorted(
        (r.name, r.attainment_percent) for r in whole.reps
    )


def test_drill_rep_stage_and_status(data):
    ann = selectors.closed_deals(start=START, end=END, rep_id=data["ann"].pk)
    assert sorted(row["amount"] for row in ann) == [Decimal("500.00"), Decimal("600.00")]
    proposal = selectors.closed_deals(start=START, end=END, stage="Proposal")
    assert sorted(row["rep_name"] for row in proposal) == ["Ann", "Cy"]
    north = selectors.closed_deals(start=START, end=END, stage="Proposal", team_id=data["north"].pk)
    assert [row["rep_name"] for row in north] == ["Ann"]
    lost = selectors.closed_deals(start=START, end=END, status="lost")
    assert sorted(row["amount"] for row in lost) == [Decimal("100.00"), Decimal("300.00")]
    won = selectors.closed_deals(start=START, end=END, status="won")
    assert len(won) == 4


# --- the page ----------------------------------------------------------------------------

URL = "/dashboards/sales/"
DRILL = "/dashboards/drill/deals/"


def test_urls_are_named():
    assert reverse("dashboards:sales") == URL
    assert reverse("dashboards:sales_deals") == DRILL


def test_page_shows_the_figures(data, viewer_client):
    html = viewer_client.get(URL, MARCH).content.decode()
    won = m.Deal.objects.filter(status="won", currency_id="USD").aggregate(t=Sum("amount"))["t"]
    won += m.Deal.objects.get(status="won", currency_id="EUR").amount * Decimal("1.20")
    assert f"USD {won:,.2f}" == "USD 2,400.00"
    assert 'id="kpi-won-revenue"' in html and "USD 2,400.00" in html
    assert "66.7%" in html  # win rate
    assert "140.0%" in html  # sales ROI
    stages = {row[0]: row for row in cell_texts(html, "pipeline_stages")}
    assert stages["Proposal"] == ["Proposal", "2", "USD 5,700.00", "2", "USD 5,700.00"]
    reps = {row[0]: row for row in cell_texts(html, "reps")}
    assert reps["Ann"][5] == "120.0%"
    assert reps["Bob"][5] == "40.0%"
    teams = {row[0]: row for row in cell_texts(html, "teams")}
    assert teams["North"][4] == "93.3%"
    mismatches = {row[0]: row for row in cell_texts(html, "mismatches")}
    assert set(mismatches) == {data["bob_won"].external_id, data["cy_won"].external_id}
    assert (
        mismatches[data["cy_won"].external_id][5]
        == "no ERP revenue (invoice) recorded for the deal"
    )


def test_team_filter(data, viewer_client):
    html = viewer_client.get(URL, {**MARCH, "team": data["south"].pk}).content.decode()
    assert [row[0] for row in cell_texts(html, "reps")] == ["Cy"]
    assert "USD 1,000.00" in html
    assert "50.0%" in html  # win rate 1 won / 1 lost
    assert "Team South" in html
    assert [row[0] for row in cell_texts(html, "mismatches")] == [data["cy_won"].external_id]


def test_bad_team_is_a_400(data, viewer_client):
    assert viewer_client.get(URL, {**MARCH, "team": "999999"}).status_code == 400


def test_period_change(data, viewer_client):
    html = viewer_client.get(URL, {"period": "month", "month": "2026-01"}).content.decode()
    assert "No deal was opened in this period" in html
    assert "No quota lies within this period" in html


def test_drill_from_a_rep_and_a_stage(data, viewer_client):
    html = viewer_client.get(URL, MARCH).content.decode()
    assert f"drill/deals/?period=month&amp;month=2026-03&amp;rep={data['ann'].pk}" in html
    rows = cell_texts(
        viewer_client.get(DRILL, {**MARCH, "rep": data["ann"].pk}).content.decode(), "deals"
    )
    assert sorted(row[8] for row in rows) == ["500.00", "600.00"]
    html = viewer_client.get(
        DRILL, {**MARCH, "stage": "Proposal", "team": data["north"].pk}
    ).content.decode()
    assert [row[2] for row in cell_texts(html, "deals")] == ["Ann"]
    assert "stage Proposal" in html and "team North" in html
    rows = csv_dicts(export(viewer_client, DRILL, {**MARCH, "status": "won"}, "deals"))
    assert len(rows) == 4
    assert sum(Decimal(row["Amount"]) for row in rows) == Decimal("2300.00")  # own currencies


def test_drill_bad_parameters_are_400(data, viewer_client):
    assert viewer_client.get(DRILL, {**MARCH, "rep": "x"}).status_code == 400
    assert viewer_client.get(DRILL, {**MARCH, "status": "open"}).status_code == 400
    assert viewer_client.get(DRILL, {**MARCH, "rep": "999999"}).status_code == 400


def test_csv_exports(data, viewer_client):
    rows = csv_dicts(export(viewer_client, URL, MARCH, "reps"))
    ann = next(row for row in rows if row["Rep"] == "Ann")
    assert ann["Quota (USD)"] == "1000.00"
    assert ann["Won revenue (USD)"] == "1200.00"
    assert ann["Attainment"] == "120.00"
    stages = csv_dicts(export(viewer_client, URL, MARCH, "pipeline_stages"))
    assert stages[-1] == {
        "Current stage": "Total",
        "Deals opened": "7",
        "Amount opened (USD)": "8250.00",
        "Still open": "2",
        "Open amount (USD)": "5700.00",
    }
    mismatches = csv_dicts(export(viewer_client, URL, MARCH, "mismatches"))
    assert len(mismatches) == 2
    assert export(viewer_client, URL, MARCH, "teams", "xlsx").status_code == 200


CASES = [
    (URL, {}, None),
    *((URL, {}, table) for table in ("pipeline_stages", "reps", "teams", "mismatches")),
    (DRILL, {"stage": "Proposal"}, None),
    (DRILL, {"status": "won"}, "deals"),
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("url, state, table", CASES)
def test_every_page_and_export_is_403_without_the_role_and_200_with_it(
    data, client, no_role_user, finance_viewer, url, state, table, fmt
):
    assert_role_needed(client, no_role_user, finance_viewer, url, {**MARCH, **state}, table, fmt)


def test_anonymous_is_sent_to_login(client):
    assert_login_needed(client, URL)


# session, user, permissions (2), team options, the sales snapshot, rep ids, the header's
# alert bell (firing count).
PAGE_QUERIES = 8
# + the team's sales report, computed live: FX rates, outcomes, won deals, quotas, pipeline,
# the ERP revenue of its won deals (its own consistency check), team name.
TEAM_QUERIES = PAGE_QUERIES + 7
# session, user, permissions (2), team options, count, rows, the alert bell.
DRILL_QUERIES = 8


def bigger(data, n: int) -> None:
    """n more won and open deals for every rep (same team structure)."""
    from tests import factories as f
    from tests.dashboards.sales_data import at

    for rep in (data["ann"], data["bob"], data["cy"]):
        for i in range(n):
            f.DealFactory(
                source=data["src"],
                rep=rep,
                stage="Proposal",
                status="open",
                opened_at=at(3, 2 + i % 20),
                closed_at=None,
            )
            f.DealFactory(
                source=data["src"],
                rep=rep,
                stage="Closed won",
                opened_at=at(3, 1),
                closed_at=at(3, 2 + i % 20),
            )


@pytest.mark.parametrize("n", [0, 10])
def test_query_count_is_fixed_whatever_the_data_size(
    data, viewer_client, django_assert_num_queries, n
):
    bigger(data, n)
    viewer_client.get(URL, MARCH)  # stores the snapshot (as the nightly run would)
    with django_assert_num_queries(PAGE_QUERIES):
        assert viewer_client.get(URL, MARCH).status_code == 200
    with django_assert_num_queries(TEAM_QUERIES):
        assert viewer_client.get(URL, {**MARCH, "team": data["north"].pk}).status_code == 200
    with django_assert_num_queries(DRILL_QUERIES):
        assert viewer_client.get(DRILL, {**MARCH, "stage": "Proposal"}).status_code == 200
    assert query_count(viewer_client, URL, {**MARCH, "team": data["north"].pk}) <= 15


def test_blank_stage_is_listed_and_drillable(data, viewer_client):
    from tests import factories as f
    from tests.dashboards.sales_data import at

    f.DealFactory(
        source=data["src"],
        rep=data["cy"],
        stage="",
        status="open",
        opened_at=at(3, 4),
        closed_at=None,
        amount=Decimal("42.00"),
    )
    html = viewer_client.get(URL, MARCH).content.decode()
    stages = {row[0]: row for row in cell_texts(html, "pipeline_stages")}
    assert stages["(no stage)"][1:3] == ["1", "USD 42.00"]
    rows = cell_texts(
        viewer_client.get(DRILL, {**MARCH, "stage": "(no stage)"}).content.decode(), "deals"
    )
    assert [(row[4], row[8]) for row in rows] == [("(no stage)", "42.00")]
