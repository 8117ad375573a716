"""Helpers shared by the dashboard tests (executive, CAC, marketing, sales)."""

from __future__ import annotations

import csv
import io
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def csv_rows(response) -> list[list[str]]:
    """The rows (header first) of a CSV export response; checks it is a CSV attachment."""
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def csv_dicts(response) -> list[dict[str, str]]:
    header, *rows = csv_rows(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def export(client, url: str, params: dict, table: str, fmt: str = "csv"):
    return client.get(url, {**params, "table": table, "format": fmt})


def query_count(client, url: str, params: dict | None = None) -> int:
    """Queries one GET of ``url`` runs (after a first GET has stored any missing snapshot)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def table_ids(html: str) -> list[str]:
    """The ids of the data tables on a rendered dashboard page."""
    return re.findall(r'data-table="([^"]+)"', html)


def cell_texts(html: str, table_id: str) -> list[list[str]]:
    """Text of each body row's cells of table ``table_id`` (tags stripped, whitespace
    collapsed): a quick way to assert a formatted figure is on the page."""
    match = re.search(
        rf'<table class="data" data-table="{re.escape(table_id)}">(.*?)</table>', html, re.S
    )
    assert match, f"no table {table_id!r} on the page"
    body = re.search(r"<tbody>(.*?)</tbody>", match[1], re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body[1] if body else "", re.S)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def assert_role_needed(client, no_role_user, finance_viewer, url: str, params: dict, table, fmt):
    """``url`` (or its ``table`` export as ``fmt``) answers 403 to a user without
    ``core.view_dashboards`` and 200 (an attachment, for an export) to a finance viewer."""
    params = {**params, **({"table": table, "format": fmt} if table else {})}
    client.force_login(no_role_user)
    assert client.get(url, params).status_code == 403
    client.force_login(finance_viewer)
    response = client.get(url, params)
    assert response.status_code == 200
    if table:
        assert response["Content-Disposition"].startswith("attachment;")


def assert_login_needed(client, url: str) -> None:
    """An anonymous visitor of ``url`` is sent to the login page."""
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
