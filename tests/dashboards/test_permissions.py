"""Every dashboard page and export needs core.view_dashboards (the finance-viewer role)."""

import pytest

from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import assert_login_needed

PAGES = {
    "/dashboards/executive/": [
        "summary",
        "trend",
        "department_variances",
        "account_variances",
        "outturn",
        "channel_revenue",
        "unit_economics",
    ],
    "/dashboards/cac/": [
        "cac_months",
        "ltv_cac_months",
        "payback_months",
        "channel_cac",
        "targets",
    ],
    "/dashboards/drill/gl-lines/": ["gl_lines"],
    "/dashboards/retention/": ["mrr_movements", "cs_roi_segments"],
    "/dashboards/product/": ["initiatives", "cumulative"],
    "/dashboards/forecast/": ["outturn_company", "outturn_departments", "anomalies"],
}
CASES = [(url, None, None) for url in PAGES] + [
    (url, table, fmt)
    for url, tables in PAGES.items()
    for table in tables
    for fmt in ("csv", "xlsx")
]


@pytest.mark.parametrize("url, table, fmt", CASES)
def test_user_without_the_role_gets_403(nobody_client, company, url, table, fmt):
    params = {**MARCH, **({"table": table, "format": fmt} if table else {})}
    assert nobody_client.get(url, params).status_code == 403


@pytest.mark.parametrize("url, table, fmt", CASES)
def test_finance_viewer_gets_every_page_and_export(viewer_client, company, url, table, fmt):
    params = {**MARCH, **({"table": table, "format": fmt} if table else {})}
    response = viewer_client.get(url, params)
    assert response.status_code == 200
    if table:
        assert "attachment;" in response["Content-Disposition"]


def test_anonymous_is_sent_to_login(client, db):
    assert_login_needed(client, "/dashboards/executive/")


def test_post_is_not_allowed(viewer_client, company):
    assert viewer_client.post("/dashboards/executive/").status_code == 405


def test_navigation_lists_the_dashboards(viewer_client, company):
    html = viewer_client.get("/dashboards/cac/", MARCH).content.decode()
    assert 'href="/dashboards/executive/"' in html
    assert 'href="/dashboards/cac/" aria-current="page"' in html
