"""CAC page (issue #18, items 5 and 8): an undefined value shows "—" with its reason on
hover, the headline is the last complete month, each month's LTV:CAC inputs are shown, a
channel without spend has no CAC, a channel with spend but not flagged paid says so, and the
targets show the scorecard's measurement. Data: tests/dashboards/conftest.py (Search: 600 of
spend and 4 customers in March, 2 in February; no customer churns)."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests import factories as f
from tests.dashboards.helpers import cell_texts

pytestmark = pytest.mark.django_db
URL = "/dashboards/cac/"
Q1 = {"period": "quarter", "quarter": "2026-Q1"}


def titled_cell(html: str, table_id: str, row_label: str, column: int) -> tuple[str, str]:
    """(text, title attribute) of a cell of the row whose first cell is ``row_label``."""
    table = re.search(rf'data-table="{table_id}">(.*?)</table>', html, re.S)[1]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", row, re.S)
        if cells and re.sub(r"<[^>]+>", "", cells[0][1]).strip() == row_label:
            attrs, text = cells[column]
            title = re.search(r'title="([^"]*)"', attrs)
            return re.sub(r"<[^>]+>", "", text).strip(), title[1] if title else ""
    raise AssertionError(f"no row {row_label!r} in {table_id}")


def test_undefined_values_show_a_dash_with_the_reason(viewer_client, company):
    html = viewer_client.get(URL, Q1).content.decode()
    assert ">undefined<" not in html
    assert titled_cell(html, "cac_months", "Jan 2026", 3) == (
        "\u2014",
        "No new customers in the month, so no CAC",
    )
    # Nobody churns: the churn rate is 0, so LTV and LTV:CAC are undefined.
    text, title = titled_cell(html, "ltv_cac_months", "Mar 2026", 1)
    assert text == "\u2014"
    assert title == "No customer churned in the month, so the churn rate is 0 and LTV undefined"
    # A defined value has no hover reason.
    assert titled_cell(html, "cac_months", "Mar 2026", 3)[1] == ""


def test_inputs_of_ltv_to_cac_per_month(viewer_client, company):
    html = viewer_client.get(URL, Q1).content.decode()
    rows = {row[0]: row for row in cell_texts(html, "cac_inputs")}
    # March: 4 new customers, none churned, 6 active at 100.00 of MRR each.
    assert rows["Mar 2026"][:6] == ["Mar 2026", "4", "0", "6", "0.0%", "USD 100.00"]
    assert rows["Mar 2026"][6] == "\u2014"  # LTV: no churn


def test_headline_is_the_last_complete_month(viewer_client, company):
    html = viewer_client.get(URL, {"period": "ytd", "year": "2026"}).content.decode()
    assert "Headline figures: Mar 2026, the last complete month" in html
    assert 'id="kpi-blended-cac"' in html
    today = dt.date.today()
    if today.year == 2026:
        assert f"{today:%b %Y} (in progress)" in html


def test_channel_without_spend_has_no_cac_and_spend_not_paid_is_shown(viewer_client, company):
    email = company["channels"]["Email"]
    referral = f.ChannelFactory(source=email.source, name="Referral")
    for channel, day in ((email, 6), (referral, 7)):
        customer = f.CustomerFactory(source=email.source, acquisition_channel=channel)
        f.SubscriptionEventFactory(
            source=email.source,
            customer=customer,
            occurred_on=dt.date(2026, 3, day),
            mrr_after=Decimal("100.00"),
        )
    newsletter = f.CampaignFactory(source=email.source, name="Newsletter", channel=email)
    f.CampaignSpendFactory(
        source=email.source, campaign=newsletter, date=dt.date(2026, 3, 8), amount="80.00"
    )
    html = viewer_client.get(URL, {"period": "month", "month": "2026-03"}).content.decode()
    rows = {row[1]: row for row in cell_texts(html, "channel_cac")}
    assert rows["Referral"][2:] == ["no", "\u2014", "\u2014", "USD 0.00", "1"]
    assert rows["Email"][2:5] == ["no \u2014 has spend", "USD 80.00", "1.00"]
    assert rows["Email"][5:] == ["USD 80.00", "1"]
    assert rows["Search"][2] == "yes"
    assert "No spend in this channel in the month, so no CAC" in html


def test_targets_show_the_scorecard_measurement(viewer_client, company):
    metric = f.SuccessMetricFactory(
        key="blended_cac",
        name="Blended CAC",
        target_value=Decimal("100"),
        unit="count",
        direction="at_most",
    )
    f.MeasurementFactory(metric=metric, value=Decimal("62.5"), period="month 2026-03")
    html = viewer_client.get(URL, Q1).content.decode()
    targets = {row[0]: row for row in cell_texts(html, "targets")}
    assert targets["Blended CAC"][3:] == ["USD 62.50", "Met", "month 2026-03"]
    # Not measured by the scorecard yet: this period's last complete month.
    assert targets["LTV:CAC"][3] == "\u2014"
    assert targets["LTV:CAC"][5] == "Mar 2026"
    assert "Not measured" not in html
