"""Product development ROI per initiative and its coverage, hand-worked (docs/metrics.md,
"Product development ROI" and "Coverage and improvement metrics")."""

from datetime import date
from decimal import Decimal

import pytest

from metrics.computations.coverage import improvement_pp, percent_of
from metrics.computations.product_roi import (
    BenefitItem,
    CostItem,
    CumulativePoint,
    InitiativeInfo,
    TaggedGl,
    development_roi_coverage,
    initiative_roi,
    initiatives_defined_with_benefit,
    monthly_cumulative,
)

D = Decimal
SEARCH = InitiativeInfo("search", date(2026, 1, 15))
BILLING = InitiativeInfo("billing", date(2026, 2, 1))
IDLE = InitiativeInfo("idle", date(2026, 3, 1))
COSTS = [
    CostItem("search", date(2026, 1, 20), "gl", D("1000")),
    CostItem("search", date(2026, 2, 10), "time", D("500")),
    CostItem("search", date(2026, 3, 5), "gl", D("200")),
    CostItem("search", date(2026, 3, 10), "other", D("100")),
    CostItem("billing", date(2026, 2, 1), "other", D("100")),
]
TAGGED = [
    TaggedGl("search", date(2026, 2, 20), D("50")),  # Feb: no GL-kind cost, no flag
    TaggedGl("search", date(2026, 3, 15), D("300")),  # Mar: with a GL-kind cost, flagged
]
BENEFITS = [
    BenefitItem("search", date(2026, 2, 15), "revenue", D("400")),
    BenefitItem("search", date(2026, 3, 20), "retention", D("250")),
    BenefitItem("search", date(2026, 4, 2), "revenue", D("999")),  # after the period
    BenefitItem("billing", date(2026, 3, 1), "revenue", D("200")),
]


@pytest.fixture
def rows():
    result = initiative_roi(
        initiatives=[SEARCH, BILLING, IDLE],
        costs=COSTS,
        tagged_gl=TAGGED,
        benefits=BENEFITS,
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
        gross_margin=D("0.8"),
    )
    return {row.initiative_id: row for row in result}


def test_period_cost_split_benefit_and_roi(rows):
    search = rows["search"]
    assert (search.gl_cost, search.time_cost, search.other_cost, search.tagged_gl_cost) == (
        D("200"),
        D("0"),
        D("100"),
        D("300"),
    )
    assert search.cost == D("600")
    assert search.benefit == D("200")  # 250 * 0.8
    assert search.roi == D(-400) / D(600)
    assert search.has_benefit


def test_double_count_is_flagged_and_still_summed(rows):
    assert rows["search"].double_count_months == (date(2026, 3, 1),)
    assert rows["billing"].double_count_months == ()


def test_cumulative_from_the_start_and_not_paid_back(rows):
    search = rows["search"]
    # Cost 1000 + 500 + 50 + 200 + 100 + 300; benefit (400 + 250) * 0.8.
    assert search.cumulative_cost == D("2150")
    assert search.cumulative_benefit == D("520")
    assert search.cumulative_roi == D(-1630) / D(2150)
    assert search.payback_month is None
    assert search.start == date(2026, 1, 1)


def test_payback_month_and_undefined_period_roi(rows):
    billing = rows["billing"]
    assert billing.cost == 0 and billing.roi is None  # no cost in March
    assert billing.benefit == D("160") and billing.has_benefit
    # Feb: cost 100, benefit 0; Mar: cost 100, benefit 160 ≥ 100.
    assert billing.payback_month == date(2026, 3, 1)
    assert billing.cumulative_roi == D("0.6")


def test_initiative_with_nothing(rows):
    idle = rows["idle"]
    assert idle.cost == 0 and idle.roi is None and idle.cumulative_roi is None
    assert idle.payback_month is None and not idle.has_benefit


def test_monthly_cumulative_for_the_chart():
    points = monthly_cumulative(
        initiative=SEARCH,
        costs=COSTS,
        tagged_gl=TAGGED,
        benefits=BENEFITS,
        end=date(2026, 3, 31),
        gross_margin=D("0.8"),
    )
    assert points == [
        CumulativePoint(date(2026, 1, 1), D("1000"), D("0")),
        CumulativePoint(date(2026, 2, 1), D("1550"), D("320")),
        CumulativePoint(date(2026, 3, 1), D("2150"), D("520")),
    ]


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown initiative cost kind 'travel'"):
        initiative_roi(
            initiatives=[SEARCH],
            costs=[CostItem("search", date(2026, 3, 1), "travel", D("1"))],
            tagged_gl=[],
            benefits=[],
            start=date(2026, 3, 1),
            end=date(2026, 3, 31),
            gross_margin=D("0.8"),
        )


def test_development_roi_coverage(rows):
    defined = initiatives_defined_with_benefit(rows.values())
    assert defined == {"search"}  # billing: no cost, ROI undefined; idle: no benefit
    coverage = development_roi_coverage(
        development_cost=D("2000"),
        assigned_cost_by_initiative={"search": D("600"), "billing": D("0"), "other": D("400")},
        defined_with_benefit=defined,
    )
    assert coverage == D("30")  # 600 / 2000
    assert (
        development_roi_coverage(
            development_cost=D("0"), assigned_cost_by_initiative={}, defined_with_benefit=defined
        )
        is None
    )


def test_improvement_in_percentage_points():
    assert improvement_pp(D("30"), D("12.5")) == D("17.5")
    assert improvement_pp(D("10"), D("25")) == D("-15")
    assert improvement_pp(None, D("25")) is None
    assert improvement_pp(D("25"), None) is None
    assert percent_of(D("1"), D("8")) == D("12.5")
    assert percent_of(D("1"), D("0")) is None
