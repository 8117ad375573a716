"""Campaign ROI, ROAS and tracking capability (docs/metrics.md, "Campaign ROI")."""

from decimal import Decimal

from metrics.computations.presentation import format_ratio
from metrics.computations.roi import RoiStatus, campaign_roi, roi_tracking_capability


def test_roi_and_roas():
    result = campaign_roi(key="spring", cost=Decimal("200.00"), revenue=Decimal("500.00"))
    assert result.roi == Decimal("1.5")  # (500 - 200) / 200
    assert result.roas == Decimal("2.5")  # 500 / 200
    assert result.status == RoiStatus.OK


def test_cost_zero_with_revenue_is_cost_missing():
    result = campaign_roi(cost=Decimal("0"), revenue=Decimal("120.00"))
    assert result.status == RoiStatus.COST_MISSING
    assert result.roi is None and result.roas is None
    assert format_ratio(result.roi) == "undefined"


def test_cost_with_zero_revenue_is_minus_100_percent():
    result = campaign_roi(cost=Decimal("80.00"), revenue=Decimal("0.00"))
    assert result.roi == Decimal("-1")
    assert result.roas == Decimal("0")
    assert format_ratio(result.roi, 2) == "-1.00"


def test_no_cost_no_revenue_is_undefined():
    result = campaign_roi(cost=Decimal("0"), revenue=Decimal("0"))
    assert result.status == RoiStatus.NO_ACTIVITY
    assert result.roi is None


def test_tracking_capability():
    rois = [
        campaign_roi(key="a", cost=Decimal("10"), revenue=Decimal("30")),  # spend, ROI
        campaign_roi(key="b", cost=Decimal("10"), revenue=Decimal("0")),  # spend, ROI -100%
        campaign_roi(key="c", cost=Decimal("10"), revenue=None),  # spend, not tracked
        campaign_roi(key="d", cost=Decimal("0"), revenue=Decimal("5")),  # no spend: ignored
    ]
    assert roi_tracking_capability(rois) == Decimal(2) / Decimal(3)
    assert roi_tracking_capability([rois[3]]) is None
