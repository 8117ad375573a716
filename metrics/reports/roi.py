"""Campaign ROI (docs/metrics.md, "Campaign ROI"): cost, attributed revenue, ROI and ROAS per
campaign or channel, the cost-missing list, the campaigns with spend but no ROI and the ROI tracking
capability. Computed from the attribution inputs of the period (``AttributionContext``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from metrics import selectors
from metrics.computations.attribution import GROUP_BY_CAMPAIGN
from metrics.computations.roi import Roi, RoiStatus, campaign_roi, roi_tracking_capability
from metrics.reports.attribution import AttributionContext
from metrics.reports.numbers import money, num, percent

__all__ = ["RoiStatus", "roi_report", "roi_totals"]


def roi_report(
    context: AttributionContext, *, model: str, group_by: str, half_life_days: str
) -> dict:
    """Campaign (or channel) ROI of the attribution result of ``model``."""
    result = context.attribute(model=model, group_by=group_by, half_life_days=half_life_days)
    by_campaign, unlinked, missing = context.spend()
    names, channel_of = selectors.campaign_names_and_channels()
    cost: dict[str, Decimal] = defaultdict(Decimal)
    if group_by == GROUP_BY_CAMPAIGN:
        for campaign_id, amount in by_campaign.items():
            cost[names.get(campaign_id, selectors.NO_CAMPAIGN)] += amount
    else:
        channel_names = selectors.channel_names()
        for campaign_id, amount in by_campaign.items():
            cost[channel_names.get(channel_of.get(campaign_id), selectors.NO_CHANNEL)] += amount
    revenue = {row.key: row.revenue for row in result.groups}
    rois: list[Roi] = [
        campaign_roi(key=key, cost=cost.get(key, Decimal(0)), revenue=revenue.get(key))
        for key in sorted(set(cost) | set(revenue))
    ]
    capability = roi_tracking_capability(rois)
    return {
        "reporting_currency": selectors.reporting_currency(),
        "rows": [
            {
                "key": roi.key,
                "cost": money(roi.cost),
                "revenue": money(roi.revenue),
                "roi": num(roi.roi),
                "roas": num(roi.roas),
                "status": roi.status,
            }
            for roi in rois
        ],
        # Revenue of touchpoints without a campaign (channel) has no cost to find: not listed.
        "cost_missing": [
            roi.key
            for roi in rois
            if roi.status == RoiStatus.COST_MISSING
            and roi.key not in (selectors.NO_CAMPAIGN, selectors.NO_CHANNEL)
        ],
        "lacking_roi": [
            {"key": roi.key, "cost": money(roi.cost), "status": roi.status, "why": _why(roi)}
            for roi in rois
            if roi.has_spend and roi.roi is None
        ],
        "tracking_capability": num(capability),
        "tracking_capability_percent": num(percent(capability)),
        "unlinked_spend": money(unlinked),
        "missing_fx": missing + context.inputs.missing_fx,
    }


def roi_totals(costs: Iterable[Decimal], revenues: Iterable[Decimal | None]) -> Roi:
    """ROI and ROAS of several rows together (Σ cost, Σ attributed revenue), by the same
    rule as one campaign's; a row without revenue counts 0."""
    revenue = sum((value or Decimal(0) for value in revenues), Decimal(0))
    return campaign_roi(cost=sum(costs, Decimal(0)), revenue=revenue)


def _why(roi: Roi) -> str:
    if roi.status == RoiStatus.NOT_TRACKED:
        return "no touchpoint in the period carries it, so no revenue can be attributed to it"
    return roi.status
