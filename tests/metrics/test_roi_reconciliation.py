"""Campaign ROI measurement capability: the pure reconciliation (hand-worked cases)."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics.computations.attribution import Conversion, Touchpoint
from metrics.computations.roi_reconciliation import (
    NO_GL_LINES,
    NOT_TRACKED,
    CampaignInputs,
    campaign_reconciliation,
    roi_reconciliation,
    unmatched_credit,
)

D = Decimal
LOOKBACK = dt.timedelta(days=90)
HALF_LIFE = dt.timedelta(days=7)


def campaign(key="Spring", spend="1000.00", gl="1000.00", lines=1, revenue="500.00", **kw):
    return CampaignInputs(
        key=key,
        spend=D(spend),
        gl_cost=D(gl),
        gl_lines=lines,
        attributed_revenue=None if revenue is None else D(revenue),
        **kw,
    )


@pytest.mark.parametrize(
    "spend, gl, ok",
    [
        ("1000.00", "1000.00", True),
        ("1000.00", "1005.00", True),  # 0.5% of 1,000.00 = 5.00: on the edge, inside
        ("1000.00", "995.00", True),
        ("1000.00", "1005.01", False),
        ("1.00", "1.01", True),  # 0.5% of 1.00 is half a cent: the floor is 1 cent
        ("1.00", "0.99", True),
        ("1.00", "1.02", False),
    ],
)
def test_spend_matches_the_tagged_gl_within_the_sales_tolerance(spend, gl, ok):
    result = campaign_reconciliation(campaign(spend=spend, gl=gl))
    assert result.reconciled is ok
    assert result.gl_cost == D(gl)


def test_a_mismatch_says_by_how_much():
    result = campaign_reconciliation(campaign(spend="1200.00", gl="1150.00"))
    assert result.reasons == ("spend 1,200.00 vs GL 1,150.00 (4.2% off)",)


def test_no_gl_line_tagged_with_the_campaign():
    result = campaign_reconciliation(campaign(gl="0", lines=0))
    assert not result.reconciled
    assert result.reasons == (NO_GL_LINES,)
    assert result.gl_cost is None
    # Lines that net to zero are lines: then the amounts are compared.
    netted = campaign_reconciliation(campaign(gl="0", lines=2))
    assert netted.reasons == ("spend 1,000.00 vs GL 0.00 (100.0% off)",)


def test_revenue_from_unmatched_deals_and_untracked_campaigns_fail():
    unmatched = campaign_reconciliation(campaign(unmatched_revenue=D("450.00"), unmatched_deals=3))
    assert (
        unmatched.why == "attributed revenue from 3 won deals without matching ERP revenue (450.00)"
    )
    one = campaign_reconciliation(campaign(unmatched_revenue=D("1234.5"), unmatched_deals=1))
    assert one.why == "attributed revenue from 1 won deal without matching ERP revenue (1,234.50)"
    untracked = campaign_reconciliation(campaign(revenue=None, gl="0", lines=0))
    assert untracked.reasons == (NO_GL_LINES, NOT_TRACKED)
    # No attributed revenue at all (ROI -100%) is reconciled: nothing unmatched in it.
    assert campaign_reconciliation(campaign(revenue="0")).reconciled


def test_the_capability_counts_campaigns_with_spend_only():
    result = roi_reconciliation(
        [
            campaign("C"),
            campaign("A", gl="0", lines=0),
            campaign("B"),
            campaign("No spend", spend="0", gl="0", lines=0),
            campaign("Credit notes", spend="-20.00", gl="0", lines=0),
        ]
    )
    assert [c.key for c in result.campaigns] == ["A", "B", "C"]
    assert (result.reconciled, result.with_spend) == (2, 3)
    assert result.capability_percent == D("66.67")  # 66.666… half-up
    assert [c.key for c in result.failing] == ["A"]
    assert roi_reconciliation([campaign("A"), campaign("B", lines=0)]).capability_percent == D(
        "50.00"
    )
    assert roi_reconciliation([campaign(spend="0")]).capability_percent is None


# --- which campaigns the unmatched deals credit --------------------------------------------


def at(day, hour=10):
    return dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)


def journeys():
    """Contact 1: Spring then Newsletter, deal 10 (110.00); contact 2: Spring, deal 20 (30.00)."""
    touchpoints = [
        Touchpoint(1, 1, at(1), "Search", "Spring"),
        Touchpoint(2, 1, at(5), "Email", "Newsletter"),
        Touchpoint(3, 2, at(2), "Search", "Spring"),
    ]
    conversions = [
        Conversion(10, 1, at(10), D("110.00")),
        Conversion(20, 2, at(20), D("30.00")),
    ]
    return touchpoints, conversions


@pytest.mark.parametrize(
    "model, expected",
    [
        ("linear", {"Spring": (D("85.00"), 2), "Newsletter": (D("55.00"), 1)}),
        ("first_touch", {"Spring": (D("140.00"), 2)}),
        # Deal 10's last touch is Newsletter: Spring gets nothing from it.
        ("last_touch", {"Spring": (D("30.00"), 1), "Newsletter": (D("110.00"), 1)}),
        # Markov pools every journey: each campaign on an unmatched deal's path counts it whole.
        ("markov", {"Spring": (D("140.00"), 2), "Newsletter": (D("110.00"), 1)}),
    ],
)
def test_unmatched_credit_per_model(model, expected):
    touchpoints, conversions = journeys()
    credit = unmatched_credit(
        touchpoints, conversions, model=model, lookback=LOOKBACK, half_life=HALF_LIFE
    )
    assert {key: (c.revenue, c.deals) for key, c in credit.items()} == expected


def test_a_deal_without_eligible_touchpoint_credits_nothing():
    touchpoints, _ = journeys()
    late = [Conversion(30, 1, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), D("5.00"))]
    credit = unmatched_credit(
        touchpoints, late, model="linear", lookback=LOOKBACK, half_life=HALF_LIFE
    )
    assert credit == {}
