"""The Retention & customer success page and its drill: figures worked out by hand from a
few customers' subscription events, the customers behind every movement, the segment and
channel filters, the cohort heat maps, CS ROI per segment, exports, permissions and bounded
queries.

The customers (USD):

* A (SMB, Search): new 10 Jan 2026 at 100, expands to 150 on 15 Feb;
* B (SMB, Email): new 5 Jan 2026 at 200, cancels 1 Mar;
* C (Enterprise, Search): new 5 Dec 2025 at 500, contracts to 400 on 20 Feb;
* D (Enterprise, no channel): new 3 Nov 2025 at 300, cancels 10 Dec 2025, comes back
  3 Mar 2026 at 250.

Q1 2026, month by month (start = MRR at the end of the month before):

* Jan: start 500 (C), new 300 (A 100 + B 200), end 800;
* Feb: start 800, expansion 50 (A), contraction 100 (C), end 750:
  NRR = (800 + 50 - 100) / 800 = 93.75%, GRR = (800 - 100) / 800 = 87.5%;
* Mar: start 750, churn 200 (B), reactivation 250 (D), end 800, net new 50:
  NRR = GRR = (750 - 200) / 750 = 73.3%, logo churn 1 / 3 = 33.3%, ARPA 800 / 3 = 266.67.

The waterfall of Q1: 500 + 300 + 250 + 50 - 100 - 200 = 800.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests import factories as f
from tests.dashboards.helpers import (
    assert_login_needed,
    cell_texts,
    csv_dicts,
    export,
    query_count,
)

URL = "/dashboards/retention/"
DRILL = "/dashboards/drill/retention-customers/"
Q1 = {"period": "quarter", "quarter": "2026-Q1"}
MINUS = "\u2212"
DASH = "\u2014"


@pytest.fixture
def customers(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_GROSS_MARGIN = Decimal("0.80")
    src = f.ConnectorFactory(name="Billing", kind="billing")
    search = f.ChannelFactory(source=src, name="Search", is_paid=True)
    email = f.ChannelFactory(source=src, name="Email")

    def customer(name, segment, channel, *events):
        record = f.CustomerFactory(
            source=src,
            name=name,
            external_id=f"C-{name}",
            segment=segment,
            acquisition_channel=channel,
        )
        for day, mrr in events:
            f.SubscriptionEventFactory(
                source=src, customer=record, occurred_on=day, mrr_after=Decimal(mrr)
            )
        return record

    found = {
        "A": customer(
            "A", "SMB", search, (dt.date(2026, 1, 10), "100"), (dt.date(2026, 2, 15), "150")
        ),
        "B": customer("B", "SMB", email, (dt.date(2026, 1, 5), "200"), (dt.date(2026, 3, 1), "0")),
        "C": customer(
            "C",
            "Enterprise",
            search,
            (dt.date(2025, 12, 5), "500"),
            (dt.date(2026, 2, 20), "400"),
        ),
        "D": customer(
            "D",
            "Enterprise",
            None,
            (dt.date(2025, 11, 3), "300"),
            (dt.date(2025, 12, 10), "0"),
            (dt.date(2026, 3, 3), "250"),
        ),
    }
    # Customer-success cost: 1,000 a month in Q1 on the Customer Success department.
    cs = f.DepartmentFactory(source=src, name="Customer Success", code="CS")
    account = f.AccountFactory(source=src, code="6300", name="CS salaries")
    for month in (1, 2, 3):
        f.GLLineFactory(
            source=src,
            account=account,
            department=cs,
            posting_date=dt.date(2026, month, 20),
            amount=Decimal("1000.00"),
        )
    return {"customers": found, "channels": {"Search": search, "Email": email}}


@pytest.fixture
def viewer(client, finance_viewer):
    client.force_login(finance_viewer)
    return client


def page(client, params) -> str:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content[:800]
    return response.content.decode()


def rows_by_first_cell(html: str, table: str) -> dict[str, list[str]]:
    return {row[0]: row for row in cell_texts(html, table)}


def kpi(html: str, kpi_id: str) -> str:
    match = re.search(
        rf'<li class="kpi" id="{kpi_id}">.*?<div class="value[^"]*"[^>]*>(.*?)</div>', html, re.S
    )
    assert match, kpi_id
    return re.sub(r"<[^>]+>", "", match[1]).strip()


def test_movements_by_month_and_the_waterfall(viewer, customers):
    html = page(viewer, Q1)
    months = rows_by_first_cell(html, "mrr_movements")
    # month, start, new, reactivation, expansion, contraction, churn, net new, end, active
    assert months["Jan 2026"][1:9] == [
        "USD 500.00",
        "USD 300.00",
        "USD 0.00",
        "USD 0.00",
        "USD 0.00",
        "USD 0.00",
        "USD 300.00",
        "USD 800.00",
    ]
    assert months["Feb 2026"][4:9] == [
        "USD 50.00",
        "USD 100.00",
        "USD 0.00",
        f"{MINUS}USD 50.00",
        "USD 750.00",
    ]
    assert months["Mar 2026"][2:9] == [
        "USD 0.00",
        "USD 250.00",
        "USD 0.00",
        "USD 0.00",
        "USD 200.00",
        "USD 50.00",
        "USD 800.00",
    ]
    waterfall = rows_by_first_cell(html, "mrr_waterfall")
    assert [waterfall[step][1] for step in waterfall] == [
        "USD 500.00",
        "USD 300.00",
        "USD 250.00",
        "USD 50.00",
        f"{MINUS}USD 100.00",
        f"{MINUS}USD 200.00",
        "USD 800.00",
    ]
    assert list(waterfall) == [
        "Starting MRR",
        "New",
        "Reactivation",
        "Expansion",
        "Contraction",
        "Churn",
        "Ending MRR",
    ]
    assert 'id="canvas-waterfall"' in html and 'id="chart-waterfall-data"' in html


def test_headline_is_the_last_complete_month(viewer, customers):
    html = page(viewer, Q1)
    assert "Headline figures: Mar 2026" in html
    assert kpi(html, "kpi-ending-mrr") == "USD 800.00"
    assert kpi(html, "kpi-net-new-mrr") == "USD 50.00"
    assert kpi(html, "kpi-nrr") == "73.3%"
    assert kpi(html, "kpi-logo-churn") == "33.3%"
    assert kpi(html, "kpi-arpa") == "USD 266.67"
    # nobody had MRR in March 2025: no trailing-12-month NRR, never 0
    assert f'<dt>Trailing 12 months</dt><dd class="">{DASH}</dd>' in html
    # every tile says how it is computed
    assert html.count('class="small kpi-doc"><a href="/docs/metrics/#subscriptions-and-mrr"') == 6


def test_nrr_and_grr_by_month(viewer, customers):
    html = page(viewer, Q1)
    rows = rows_by_first_cell(html, "retention_months")
    assert rows["Feb 2026"][1:3] == ["93.8%", "87.5%"]  # 93.75 rounded half-up
    assert rows["Mar 2026"][1:3] == ["73.3%", "73.3%"]
    assert rows["Jan 2026"][3] == DASH
    assert 'title="No customer had MRR 12 months earlier' in html


def test_drill_total_is_the_clicked_figure(viewer, customers):
    html = page(viewer, Q1)
    link = f"{DRILL}?period=quarter&amp;quarter=2026-Q1&amp;movement=new&amp;in_month=2026-01"
    assert link in html  # January's new MRR opens its customers
    drill = viewer.get(DRILL, {**Q1, "movement": "new", "in_month": "2026-01"})
    assert drill.status_code == 200
    text = drill.content.decode()
    rows = cell_texts(text, "movement_customers")
    assert [(row[1], row[3]) for row in rows] == [("C-B", "USD 200.00"), ("C-A", "USD 100.00")]
    assert "New MRR, Jan 2026: USD 300.00" in text
    assert re.search(r'<tr class="totals"><td[^>]*>Total</td>.*USD 300\.00', text, re.S)
    assert 'id="drill-back"' in text and f'href="{URL}?period=quarter&amp;quarter=2026-Q1"' in text
    # the whole period's contraction: C, 100 (the waterfall's -100)
    period = viewer.get(DRILL, {**Q1, "movement": "contraction"}).content.decode()
    assert [row[1:] for row in cell_texts(period, "movement_customers")] == [
        ["C-C", "C", "USD 100.00"]
    ]
    reactivated = viewer.get(DRILL, {**Q1, "movement": "reactivation"}).content.decode()
    assert [row[1] for row in cell_texts(reactivated, "movement_customers")] == ["C-D"]


def test_segment_and_channel_filters(viewer, customers):
    html = page(viewer, {**Q1, "segment": "SMB"})
    months = rows_by_first_cell(html, "mrr_movements")
    assert months["Jan 2026"][1] == "USD 0.00"  # C is Enterprise
    assert months["Feb 2026"][8] == "USD 350.00"
    retention = rows_by_first_cell(html, "retention_months")
    assert retention["Feb 2026"][1] == "116.7%"  # (300 + 50) / 300
    assert retention["Jan 2026"][1] == DASH  # no SMB MRR at the start of January
    assert 'title="No MRR at the start of the month, so no NRR or GRR"' in html
    assert '<option value="SMB" selected>SMB</option>' in html
    search = customers["channels"]["Search"]
    html = page(viewer, {**Q1, "channel": search.pk})
    months = rows_by_first_cell(html, "mrr_movements")
    assert months["Mar 2026"][8] == "USD 550.00"  # A 150 + C 400
    # the drill keeps the filters
    drill = viewer.get(DRILL, {**Q1, "channel": search.pk, "movement": "new"}).content.decode()
    assert [row[1] for row in cell_texts(drill, "movement_customers")] == ["C-A"]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"segment": "Nope"}, "segment: no customer has the segment"),
        ({"channel": "999999"}, "channel: no channel has id 999999"),
        ({"period": "month", "month": "2026-13"}, "month: &#x27;2026-13&#x27; is not a month"),
    ],
)
def test_bad_filter_is_a_400(viewer, customers, params, message):
    response = viewer.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"movement": "bogus"}, "movement: &#x27;bogus&#x27; is not one of"),
        ({"movement": "new", "in_month": "2025-06"}, "in_month: 2025-06 is not a month of"),
        ({"movement": "new", "in_month": "June"}, "in_month: &#x27;June&#x27; is not a month"),
    ],
)
def test_bad_drill_parameter_is_a_400(viewer, customers, params, message):
    response = viewer.get(DRILL, {**Q1, **params})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_cohort_heat_maps(viewer, customers):
    html = page(viewer, Q1)
    logo = rows_by_first_cell(html, "cohort_logo")
    revenue = rows_by_first_cell(html, "cohort_revenue")
    assert list(logo) == ["Jan 2026"]  # C and D started before the quarter
    assert logo["Jan 2026"] == ["Jan 2026", "2", "USD 300.00", "100.0%", "100.0%", "50.0%"]
    assert revenue["Jan 2026"][3:] == ["100.0%", "116.7%", "50.0%"]  # 350 / 300, 150 / 300
    assert 'class="num heat heat-5"' in html and 'class="num heat heat-10"' in html


def test_cs_roi_undefined_without_a_full_baseline(viewer, customers):
    # The default baseline is the 12 months of 2025: the history starts in November.
    html = page(viewer, Q1)
    rows = rows_by_first_cell(html, "cs_roi_segments")
    assert rows["All customers"][1] == DASH  # CS ROI
    assert rows["All customers"][3] == "USD 3,000.00"  # CS cost
    assert 'title="Baseline months not all in the history"' in html
    assert kpi(html, "kpi-cs-roi") == DASH
    assert ">undefined<" not in html


def test_cs_roi_with_a_one_month_baseline(viewer, customers, settings):
    # Baseline December 2025: start MRR 300 (D), churned 300 → b = 100%.
    # Churn avoided: Jan 1 x 500 - 0, Feb 800 - 0, Mar 750 - 200 → 1,850.
    # Retention value = (50 - 100 + 1,850) x 0.80 x 12 = 17,280; ROI = (17,280 - 3,000) / 3,000.
    settings.FINHUB_BASELINE_MONTHS = 1
    html = page(viewer, Q1)
    rows = rows_by_first_cell(html, "cs_roi_segments")
    total = rows["All customers"]
    # ROI, retention value, CS cost, baseline rate, start MRR (Σ months), churned, churn
    # avoided, expansion, contraction
    assert total[1:] == [
        "476.0%",
        "USD 17,280.00",
        "USD 3,000.00",
        "100.0%",
        "USD 2,050.00",
        "USD 200.00",
        "USD 1,850.00",
        "USD 50.00",
        "USD 100.00",
    ]
    assert kpi(html, "kpi-cs-roi") == "476.0%"
    # SMB had no MRR in December: no baseline, so no ROI, with the reason on hover
    assert rows["SMB"][4] == DASH and rows["SMB"][1] == DASH
    assert 'title="No MRR at the start of the baseline months"' in html
    # the cost is shared by start MRR: Enterprise 1,400 and SMB 650 of 2,050
    assert rows["Enterprise"][3] == "USD 2,048.78" and rows["SMB"][3] == "USD 951.22"
    months = rows_by_first_cell(html, "cs_roi_months")
    assert months["Mar 2026"][3] == "USD 550.00"


def test_csv_exports(viewer, customers):
    rows = csv_dicts(export(viewer, URL, Q1, "mrr_movements"))
    assert rows[1]["Expansion (USD)"] == "50.00"
    assert rows[-1]["Month"] == "Period"
    assert rows[-1]["Churn (USD)"] == "200.00"
    cohorts = csv_dicts(export(viewer, URL, Q1, "cohort_revenue"))
    assert cohorts[0]["Month 1"] == "116.67"
    drill = csv_dicts(export(viewer, DRILL, {**Q1, "movement": "new"}, "movement_customers"))
    assert sum(Decimal(row["New MRR (USD)"]) for row in drill[:-1]) == Decimal("300.00")
    response = export(viewer, URL, Q1, "cs_roi_segments", "xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')


def test_permissions(client, customers, no_role_user, finance_viewer):
    assert_login_needed(client, URL)
    assert_login_needed(client, DRILL)
    client.force_login(no_role_user)
    assert client.get(URL, Q1).status_code == 403
    assert client.get(URL, {**Q1, "table": "mrr_movements", "format": "csv"}).status_code == 403
    assert client.get(DRILL, {**Q1, "movement": "new"}).status_code == 403
    client.force_login(finance_viewer)
    assert client.get(URL, Q1).status_code == 200


def test_navigation_and_home_link_the_page(viewer, customers):
    html = page(viewer, Q1)
    assert f'href="{URL}"' in html
    assert 'href="/docs/metrics/#retention-dashboard"' in html
    assert f'href="{URL}"' in viewer.get("/").content.decode()


def test_bounded_queries(viewer, customers):
    page(viewer, Q1)  # stores the snapshots
    page(viewer, {**Q1, "segment": "SMB"})
    # session + user + permissions, 2 filter option lists, ONE snapshot read, data freshness,
    # the header's alert bell
    assert query_count(viewer, URL, Q1) <= 9
    assert query_count(viewer, URL, {**Q1, "segment": "SMB"}) <= 9
    viewer.get(DRILL, {**Q1, "movement": "new"})
    assert query_count(viewer, DRILL, {**Q1, "movement": "new"}) <= 9
