"""Figures that pages narrow (one team, one department) come from the same report function
as the company's, so the parts agree with the whole (hand-worked data: the sales dataset of
tests/dashboards/sales_data.py and the company of tests/dashboards/conftest.py)."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from metrics.computations.presentation import UNDEFINED
from metrics.reports.budget import budget_report
from metrics.reports.sales import sales_report
from records import models as m
from tests.dashboards.conftest import make_company
from tests.dashboards.sales_data import END, START, sales_dataset

pytestmark = pytest.mark.django_db
#: Sales cost is booked per department, not per team: a team's report has none.
COMPANY_ONLY = {"team", "sales_cost", "sales_roi"}


@pytest.fixture
def sales(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return sales_dataset()


def test_a_team_holding_every_rep_is_the_company(sales):
    m.SalesRep.objects.update(team=sales["north"])
    company = sales_report(start=START, end=END)
    team = sales_report(start=START, end=END, team_id=sales["north"].pk)
    assert team["team"] == "North"
    assert (team["sales_cost"], team["sales_roi"]) == (UNDEFINED, UNDEFINED)
    assert company["sales_cost"] == "1000.00"
    assert {k: v for k, v in team.items() if k not in COMPANY_ONLY} == {
        k: v for k, v in company.items() if k not in COMPANY_ONLY
    }
    # Hand-worked (sales_data.py): 4 won of 6 closed, 2,400.00 won, 2 mismatches of 4.
    assert (team["won_deals"], team["lost_deals"], team["won_revenue"]) == (4, 2, "2400.00")
    assert Decimal(team["sales_finance_consistency_percent"]) == 50


def test_two_teams_add_up_to_the_company(sales):
    company = sales_report(start=START, end=END)
    north = sales_report(start=START, end=END, team_id=sales["north"].pk)
    south = sales_report(start=START, end=END, team_id=sales["south"].pk)
    teams = (north, south)
    for key in ("won_deals", "lost_deals"):
        assert sum(team[key] for team in teams) == company[key]
    assert sum(Decimal(team["won_revenue"]) for team in teams) == Decimal(company["won_revenue"])
    assert (north["won_revenue"], south["won_revenue"]) == ("1400.00", "1000.00")

    def pipeline(*reports):
        totals = defaultdict(lambda: [0, Decimal(0), 0, Decimal(0)])
        for report in reports:
            for row in report["pipeline"]:
                total = totals[row["month"], row["stage"]]
                total[0] += row["deals"]
                total[1] += Decimal(row["amount"])
                total[2] += row["open_deals"]
                total[3] += Decimal(row["open_amount"])
        return dict(totals)

    assert pipeline(north, south) == pipeline(company)
    for part in ("reps", "teams"):
        assert sorted(
            (row["rep"] if part == "reps" else row["team"], row["attainment"])
            for team in teams
            for row in team["quota_attainment"][part]
        ) == sorted(
            (row["rep"] if part == "reps" else row["team"], row["attainment"])
            for row in company["quota_attainment"][part]
        )
    assert sorted(row["deal"] for team in teams for row in team["mismatches"]) == sorted(
        row["deal"] for row in company["mismatches"]
    )
    # Consistency: North 2 of 3 won deals match the ERP, South 0 of 1; the company 2 of 4.
    assert Decimal(north["sales_finance_consistency"]) * 3 == 2
    assert south["sales_finance_consistency"] == "0"
    assert company["sales_finance_consistency"] == "0.5"


@pytest.fixture
def ledger(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return make_company()


def _sums(rows: list[dict], key) -> dict:
    totals: dict = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        for field in ("actual", "budget", "variance", "full_year_budget", "full_year_outturn"):
            totals[key(row), row["account_type"]][field] += Decimal(row[field])
    return {group: dict(values) for group, values in totals.items()}


@pytest.mark.parametrize(
    "start, end", [(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), (dt.date(2026, 1, 1), END)]
)
def test_department_x_account_adds_up_to_each_grouping(ledger, start, end):
    cells = budget_report(start=start, end=end, group_by="department_account")["rows"]
    by_account = budget_report(start=start, end=end, group_by="account")["rows"]
    by_department = budget_report(start=start, end=end, group_by="department")["rows"]
    assert _sums(cells, lambda row: row["key"]) == _sums(by_account, lambda row: row["key"])
    assert _sums(cells, lambda row: row["department"]) == _sums(
        by_department, lambda row: row["key"]
    )


def test_cost_of_sales_is_a_cost_in_every_grouping(ledger):
    # March 2026: Hosting (cost of sales, Engineering) 150.00 actual vs 100.00 budget.
    for group_by, key in (("account", "5000"), ("department_account", "5000")):
        rows = budget_report(start=START, end=END, group_by=group_by)["rows"]
        hosting = next(row for row in rows if row["key"] == key)
        assert (hosting["variance"], hosting["favourable"]) == ("50.00", False)
    rows = budget_report(start=START, end=END, group_by="account_type")["rows"]
    cost_of_sales = next(row for row in rows if row["key"] == "cost_of_sales")
    assert (cost_of_sales["variance"], cost_of_sales["favourable"]) == ("50.00", False)
    cells = budget_report(start=START, end=END, group_by="department_account")["rows"]
    engineering = next(row for row in cells if row["key"] == "5000")
    assert (engineering["department"], engineering["department_label"]) == ("ENG", "Engineering")
