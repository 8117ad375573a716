"""The initiative ROI report on the database, hand-worked (retention_data.py), March 2026.

X: period cost GL-kind 200 + time 500 + other 100 + tagged GL 400 = 1200; benefit 500 x 0.8
= 400; ROI = (400 - 1200) / 1200. Cumulative since Jan: cost 1000 + 1200 = 2200, benefit
(1000 + 500) x 0.8 = 1200: not paid back. March has a GL-kind cost and a tagged GL line:
possible double count.
Y: no cost in March (ROI undefined); benefit 800; cumulative cost 300 (Feb), benefit 800:
paid back in March.
Z: no start date, starts with its first record (3 Mar); cost 200, no benefit: ROI -1.
Development cost = Product / Engineering GL 400 + 1000 + time entries in March 500 + 200 =
2100; assigned to X (ROI defined, has a benefit) 400 + 500 = 900: coverage 42.857… %.
"""

import pytest

from metrics.reports.initiative_roi import initiative_roi_report
from tests import factories as f
from tests.metrics.wiring.retention_data import day, initiatives_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_GROSS_MARGIN = "0.80"
    settings.FINHUB_PRODUCT_DEPARTMENTS = ["Product", "Engineering"]  # a name and a code
    return initiatives_dataset()


def rows(report: dict) -> dict:
    return {row["name"]: row for row in report["initiatives"]}


def test_period_and_cumulative_roi_with_a_double_count_flagged(data):
    x = rows(initiative_roi_report(start=day(3, 1), end=day(3, 31)))["Onboarding"]
    assert x["cost"] == {
        "gl": "200.00",
        "time": "500.00",
        "other": "100.00",
        "tagged_gl": "400.00",
        "total": "1200.00",
    }
    assert (x["benefit"], x["roi"]) == ("400.00", "-0.6666666667")
    assert (x["cumulative_cost"], x["cumulative_benefit"]) == ("2200.00", "1200.00")
    assert x["cumulative_roi"] == "-0.4545454545"
    assert (x["payback_month"], x["payback"]) == (None, "not paid back")
    assert x["double_count_months"] == ["2026-03-01"]
    assert x["flags"] == ["possible double count"]
    assert x["start"] == "2026-01-01"
    assert x["cumulative"] == [
        {"month": "2026-01-01", "cost": "1000.00", "benefit": "0.00"},
        {"month": "2026-02-01", "cost": "1000.00", "benefit": "800.00"},
        {"month": "2026-03-01", "cost": "2200.00", "benefit": "1200.00"},
    ]


def test_undefined_roi_payback_and_start_from_first_record(data):
    named = rows(initiative_roi_report(start=day(3, 1), end=day(3, 31)))
    y, z = named["Billing"], named["Search"]
    assert (y["roi"], y["roi_reason"]) == ("undefined", "no cost in the period")
    assert (y["payback_month"], y["payback"]) == ("2026-03-01", "2026-03")
    assert y["cumulative_roi"] == "1.6666666667"
    assert y["flags"] == []
    assert (z["start"], z["roi"], z["has_benefit"]) == ("2026-03-01", "-1.0000000000", False)


def test_totals_development_cost_and_coverage(data):
    report = initiative_roi_report(start=day(3, 1), end=day(3, 31))
    assert report["totals"]["cost"]["total"] == "1400.00"
    assert report["totals"]["benefit"] == "1200.00"
    assert report["totals"]["roi"] == "-0.1428571429"
    assert report["development_cost"] == {
        "gl": "1400.00",
        "time": "700.00",
        "total": "2100.00",
        "assigned": "1100.00",
    }
    assert report["coverage"] == {
        "development_roi_tracking_coverage": "42.8571428571",
        "covered_cost": "900.00",
        "initiatives_with_roi_and_benefit": [data["x"].pk],
    }
    assert report["cumulative"] == [
        {"month": "2026-03-01", "cost": "2700.00", "benefit": "2000.00"}
    ]


def test_a_benefit_for_z_raises_the_coverage(data):
    f.InitiativeBenefitFactory(
        source=data["source"], initiative=data["z"], date=day(3, 30), amount="10.00"
    )
    report = initiative_roi_report(start=day(3, 1), end=day(3, 31))
    # (900 + 200) / 2100
    assert report["coverage"]["development_roi_tracking_coverage"] == "52.3809523810"


def test_reads_are_bounded(data, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        initiative_roi_report(start=day(3, 1), end=day(3, 31))
    for n in range(4):
        initiative = f.InitiativeFactory(source=data["source"], start_date=day(1, 1))
        f.InitiativeCostFactory(source=data["source"], initiative=initiative, date=day(3, n + 1))
    with django_assert_max_num_queries(9):
        initiative_roi_report(start=day(3, 1), end=day(3, 31))
