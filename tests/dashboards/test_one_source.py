"""The dashboards show the engine's figures, never their own: the team and company sales
pages read the one sales report, both pages that show the period's blended CAC read it from
one function, and no dashboard module reads records or the computations directly."""

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import dashboards
from dashboards.pages import sales
from metrics.params import period_params
from metrics.reports.cac import period_cac
from metrics.reports.sales import sales_report
from metrics.snapshots import snapshot_get_or_compute
from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import csv_dicts, export
from tests.dashboards.sales_data import END, START, sales_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return sales_dataset()


@pytest.mark.parametrize("team", [None, "north", "south"])
def test_sales_page_shows_the_sales_report(data, team):
    team_id = data[team].pk if team else None
    page = sales.sales_page(start=START, end=END, team_id=team_id)
    report = sales_report(start=START, end=END, team_id=team_id)
    company = sales_report(start=START, end=END)
    assert page.won_revenue == Decimal(report["won_revenue"])
    assert (page.won_deals, page.lost_deals) == (report["won_deals"], report["lost_deals"])
    assert [row.deal for row in page.mismatches] == [row["deal"] for row in report["mismatches"]]
    assert page.consistency_percent == Decimal(report["sales_finance_consistency_percent"])
    assert [(row.name, row.won_revenue) for row in page.reps] == [
        (row["rep"], Decimal(row["won_revenue"])) for row in report["quota_attainment"]["reps"]
    ]
    # Sales cost is the department's whatever the team.
    assert page.sales_cost == Decimal(company["sales_cost"]) == Decimal("1000.00")


def test_period_blended_cac_is_one_figure_on_both_pages(company, viewer_client):
    snapshot = snapshot_get_or_compute(
        kind="cac", params=period_params(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
    )
    expected = period_cac(snapshot.result)
    assert expected.blended_cac == Decimal("62.5")  # 250.00 advertising / 4 new customers
    executive = csv_dicts(export(viewer_client, "/dashboards/executive/", MARCH, "unit_economics"))
    months = csv_dicts(export(viewer_client, "/dashboards/cac/", MARCH, "cac_months"))
    on_executive = next(r for r in executive if r["Measure"] == "Blended CAC (period)")[
        "Value (USD)"
    ]
    on_cac = next(r for r in months if r["Month"] == "Period")["Blended CAC (USD)"]
    assert Decimal(on_executive) == Decimal(on_cac) == Decimal("62.50")


#: What a dashboard module may not import: the records (ORM) and the engine's insides — its
#: figures come from metrics.reports / metrics.snapshots, its drill-down rows from
#: metrics.selectors.
FORBIDDEN = ("records", "metrics.computations", "metrics.services", "metrics.models", "django.db")


def test_dashboards_read_reports_snapshots_and_selectors_only():
    root = Path(dashboards.__file__).parent
    offending = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN):
                    offending.append(f"{path.relative_to(root)}: {name}")
                if isinstance(node, ast.ImportFrom) and any(
                    alias.name.startswith("_") for alias in node.names
                ):
                    offending.append(f"{path.relative_to(root)}: private name from {name}")
    assert offending == []
