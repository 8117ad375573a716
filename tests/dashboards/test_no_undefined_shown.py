"""No page shows the word "undefined" (issue #18, item 5): an undefined value is "—" with
its reason on hover. The exports and the API keep writing ``undefined``."""

import re

import pytest

pytestmark = pytest.mark.django_db
PAGES = [
    "/dashboards/executive/",
    "/dashboards/cac/",
    "/dashboards/marketing/",
    "/dashboards/sales/",
    "/dashboards/drill/marketing/?group_by=campaign&key=Spring",
    "/dashboards/drill/deals/",
    "/dashboards/retention/",
    "/dashboards/product/",
    "/dashboards/forecast/",
]
PERIODS = [{}, {"period": "month", "month": "2026-01"}, {"period": "quarter", "quarter": "2026-Q1"}]


def shown_text(html: str) -> str:
    """The text a reader sees: no scripts (chart data), no tags, no attributes."""
    html = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("url", PAGES)
def test_no_page_shows_undefined(url, viewer_client, company):
    for params in PERIODS:
        separator = "&" if "?" in url else "?"
        query = "&".join(f"{key}={value}" for key, value in params.items())
        response = viewer_client.get(f"{url}{separator if query else ''}{query}")
        assert response.status_code == 200, (url, params)
        html = response.content.decode()
        assert ">undefined<" not in html, (url, params)
        assert "undefined" not in shown_text(html).lower(), (url, params)
