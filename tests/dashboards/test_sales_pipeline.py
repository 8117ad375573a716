"""Sales page (issue #18, item 10): opens on the year to date, lists the stages in pipeline
order, and labels the won deals closed in the period apart from the pipeline's won rows.
Data: tests/dashboards/sales_data.py (March 2026: 4 won deals closed, 3 of them opened in
March; stages Closed won, Closed lost, Proposal)."""

import pytest

from finhub.core.calendar import YTD
from tests.dashboards.helpers import cell_texts
from tests.dashboards.sales_data import sales_dataset

pytestmark = pytest.mark.django_db
URL = "/dashboards/sales/"
MARCH = {"period": "month", "month": "2026-03"}


@pytest.fixture
def data(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return sales_dataset()


def test_sales_opens_on_the_year_to_date(viewer_client):
    response = viewer_client.get(URL)
    assert response.status_code == 200
    assert response.context["dash"].period.kind == YTD
    assert '<option value="ytd" selected>' in response.content.decode()


def test_stages_in_pipeline_order_and_won_counts_labelled(data, viewer_client):
    html = viewer_client.get(URL, MARCH).content.decode()
    stages = [row[0] for row in cell_texts(html, "pipeline_stages")]
    assert stages == ["Proposal", "Closed won", "Closed lost"]  # not alphabetical
    assert "Pipeline: deals opened in the period, by current stage" in html
    # The header counts the 4 deals closed in March; the pipeline's won row the 3 of them
    # opened in March (Bob's was opened in February): both are on the page, labelled.
    assert '<dt>Won deals closed</dt><dd class="">4</dd>' in html
    assert '<dt>Won of the deals opened in the period</dt><dd class="">3</dd>' in html
    won_row = next(row for row in cell_texts(html, "pipeline_stages") if row[0] == "Closed won")
    assert won_row[1] == "3"
    assert "(won: 3)" in html and "(won: 4)" in html
