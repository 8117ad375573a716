"""Shared fixtures of the report tests: an API client of a finance viewer (to check report
figures against the metrics API) and a helper to build a report as the pages would."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from reports.building import report_build, report_params_from_query

TODAY = dt.date(2026, 7, 1)


@pytest.fixture
def api(finance_viewer):
    client = APIClient()
    client.force_authenticate(finance_viewer)
    return client


@pytest.fixture
def build(finance_viewer):
    def run(key: str, query: dict):
        params = report_params_from_query(key=key, query=query, today=TODAY)
        return report_build(key=key, params=params, user=finance_viewer)

    return run


def rows(report, table_id: str) -> list[dict]:
    """The raw values of each row of a report's table (by id)."""
    table = next(t for t in report.tables if t.id == table_id)
    return [row.values for row in table.rows]


def row_of(report, table_id: str, column: str, value) -> dict:
    return next(row for row in rows(report, table_id) if row[column] == value)
