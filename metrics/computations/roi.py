"""Campaign ROI and ROAS (docs/metrics.md, "Campaign ROI").

For a campaign (or channel) and period: cost = its spend in the period; revenue = its
attributed revenue (chosen model) from conversions in the period. ROI = (revenue - cost) /
cost, ROAS = revenue / cost. Ratios are unrounded Decimals (28 significant digits; round at
presentation with :func:`metrics.computations.presentation.format_ratio`); ``None`` means
undefined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from metrics.computations.presentation import ratio


class RoiStatus:
    """Why an ROI is or is not available (docs/metrics.md, "Campaign ROI")."""

    OK = "ok"
    #: cost = 0 with revenue > 0: "cost missing" (no ROI).
    COST_MISSING = "cost_missing"
    #: no cost and no revenue in the period: nothing to measure.
    NO_ACTIVITY = "no_activity"
    #: spend exists but no attributed revenue could be determined for it (no touchpoints
    #: carry the campaign), so its ROI cannot be tracked.
    NOT_TRACKED = "not_tracked"


@dataclass(frozen=True, slots=True)
class Roi:
    """ROI and ROAS of one campaign (or channel) in one period; ``None`` = undefined."""

    key: str
    cost: Decimal
    revenue: Decimal | None
    roi: Decimal | None
    roas: Decimal | None
    status: str

    @property
    def has_spend(self) -> bool:
        return self.cost > 0


def campaign_roi(*, key: str = "", cost: Decimal, revenue: Decimal | None) -> Roi:
    """ROI = (revenue - cost) / cost and ROAS = revenue / cost (docs/metrics.md, "Campaign ROI").

    * cost > 0: both defined; revenue = 0 gives ROI = -1 (-100%) and ROAS = 0.
    * cost = 0 and revenue > 0: status ``cost_missing``, no ROI, no ROAS.
    * cost = 0 and revenue = 0: status ``no_activity``, undefined.
    * ``revenue=None`` (the campaign cannot be tracked to attributed revenue): status
      ``not_tracked``, no ROI; this is what the tracking capability measures.
    A negative cost (net credit notes) has no meaningful ROI and is treated as cost 0.
    """
    cost = Decimal(cost)
    if revenue is None:
        return Roi(key, cost, None, None, None, RoiStatus.NOT_TRACKED)
    revenue = Decimal(revenue)
    if cost <= 0:
        status = RoiStatus.COST_MISSING if revenue > 0 else RoiStatus.NO_ACTIVITY
        return Roi(key, cost, revenue, None, None, status)
    return Roi(
        key=key,
        cost=cost,
        revenue=revenue,
        roi=ratio(revenue - cost, cost),
        roas=ratio(revenue, cost),
        status=RoiStatus.OK,
    )


def roi_tracking_capability(rois: Iterable[Roi]) -> Decimal | None:
    """Campaigns with spend in the period that have an ROI / campaigns with spend
    (docs/metrics.md, "ROI tracking capability"); ``None`` when none had spend."""
    with_spend = [item for item in rois if item.has_spend]
    return ratio(sum(1 for item in with_spend if item.roi is not None), len(with_spend))
