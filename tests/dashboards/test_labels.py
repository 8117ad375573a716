"""Dashboard labels (issue #18, item 14): a margin's changes are in percentage points, shown
as "pp" (with the words on hover), never as a "%" that reads as a relative change."""

import re

from dashboards.tables import POINTS, POINTS_TITLE, format_value
from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import cell_texts

URL = "/dashboards/executive/"


def test_points_are_formatted_as_pp():
    assert format_value("4.1667", POINTS) == "4.2 pp"
    assert format_value("-0.05", POINTS) == "\u22120.1 pp"


def test_the_margins_changes_and_variance_are_in_percentage_points(viewer_client, company):
    html = viewer_client.get(URL, MARCH).content.decode()
    rows = {row[0]: row for row in cell_texts(html, "summary")}
    margin = rows["Operating margin"]
    # March: revenue 1,200, expenses 800 -> 33.3%; budget 1,200 and 850 -> 29.2%;
    # February and March 2025 have the same lines as March 2026.
    assert margin[1] == "33.3%"
    assert margin[6] == "29.2%"
    assert margin[3] == "0.0 pp"  # vs prior period
    assert margin[5] == "0.0 pp"  # vs last year
    assert margin[7] == "4.2 pp"  # 33.33 - 29.17 points, not 14.3% (4.17 / 29.17)
    row = re.search(r'<tr class="margin">.*?</tr>', html, re.S).group(0)
    assert row.count(f'title="{POINTS_TITLE}"') == 3
