"""Campaign ROI measurement capability: is a campaign's ROI *reconciled*? (docs/metrics.md,
"Campaign ROI measurement capability").

A campaign with spend in the period has a reconciled ROI when

* its spend matches the GL lines tagged with the campaign in the period, within the
  sales-finance tolerance (0.5% of the spend, at least 1 cent: ``amounts_consistent``);
* it has attributed revenue (a touchpoint carries it, so it has an ROI at all), and
* none of that attributed revenue comes from won deals whose amount is not matched to the
  revenue the ERP recorded for them.

**Campaign ROI measurement capability** = reconciled campaigns / campaigns with spend, in
percent (2 places, half-up); undefined (None) when no campaign had spend.

Pure: plain data in, plain data out. :func:`unmatched_credit` says how much of each
campaign's attributed revenue comes from the unmatched deals, under the chosen model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from finhub.core.money import CENT, from_cents
from metrics.computations.attribution import (
    GROUP_BY_CAMPAIGN,
    MARKOV,
    Conversion,
    Touchpoint,
    attribute,
    build_journeys,
)
from metrics.computations.sales import DEFAULT_TOLERANCE, MINIMUM_TOLERANCE, amounts_consistent

TENTH = Decimal("0.1")

NO_GL_LINES = "no GL lines tagged with the campaign"
NOT_TRACKED = "no touchpoint carries the campaign, so it has no attributed revenue (no ROI)"


@dataclass(frozen=True, slots=True)
class CampaignInputs:
    """What reconciling one campaign needs, in the reporting currency.

    ``gl_lines`` = how many GL lines are tagged with it in the period (0: none, ``gl_cost``
    is then meaningless); ``attributed_revenue`` None = not tracked (no touchpoint carries
    it); ``unmatched_revenue`` / ``unmatched_deals`` = the part of its attributed revenue from
    won deals not matched to ERP revenue, and how many such deals credit it.
    """

    key: str
    spend: Decimal
    gl_cost: Decimal
    gl_lines: int
    attributed_revenue: Decimal | None
    unmatched_revenue: Decimal = Decimal(0)
    unmatched_deals: int = 0


@dataclass(frozen=True, slots=True)
class CampaignReconciliation:
    """One campaign with spend: reconciled or not, and why not (one reason per failed rule)."""

    key: str
    spend: Decimal
    gl_cost: Decimal | None  # None: no GL line tagged with it
    attributed_revenue: Decimal | None
    unmatched_revenue: Decimal
    unmatched_deals: int
    reasons: tuple[str, ...]

    @property
    def reconciled(self) -> bool:
        return not self.reasons

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class RoiReconciliation:
    """Every campaign with spend (by key) and the capability over them."""

    campaigns: tuple[CampaignReconciliation, ...]

    @property
    def with_spend(self) -> int:
        return len(self.campaigns)

    @property
    def reconciled(self) -> int:
        return sum(1 for campaign in self.campaigns if campaign.reconciled)

    @property
    def failing(self) -> list[CampaignReconciliation]:
        return [campaign for campaign in self.campaigns if not campaign.reconciled]

    @property
    def capability_percent(self) -> Decimal | None:
        """Reconciled / with spend, in percent, 2 places half-up; None without spend."""
        if not self.campaigns:
            return None
        share = Decimal(self.reconciled) * 100 / Decimal(self.with_spend)
        return share.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def campaign_reconciliation(
    item: CampaignInputs,
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    minimum: Decimal = MINIMUM_TOLERANCE,
) -> CampaignReconciliation:
    """Reconcile one campaign with spend (see the module doc)."""
    reasons = []
    if item.gl_lines <= 0:
        reasons.append(NO_GL_LINES)
    elif not amounts_consistent(item.spend, item.gl_cost, tolerance=tolerance, minimum=minimum):
        off = abs(item.spend - item.gl_cost) * 100 / item.spend
        reasons.append(
            f"spend {_money(item.spend)} vs GL {_money(item.gl_cost)} "
            f"({off.quantize(TENTH, rounding=ROUND_HALF_UP)}% off)"
        )
    if item.attributed_revenue is None:
        reasons.append(NOT_TRACKED)
    elif item.unmatched_revenue > 0:
        deals = _plural(item.unmatched_deals, "won deal")
        reasons.append(
            f"attributed revenue from {deals} without matching ERP revenue "
            f"({_money(item.unmatched_revenue)})"
        )
    return CampaignReconciliation(
        key=item.key,
        spend=item.spend,
        gl_cost=item.gl_cost if item.gl_lines > 0 else None,
        attributed_revenue=item.attributed_revenue,
        unmatched_revenue=item.unmatched_revenue,
        unmatched_deals=item.unmatched_deals,
        reasons=tuple(reasons),
    )


def roi_reconciliation(
    campaigns: Iterable[CampaignInputs],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    minimum: Decimal = MINIMUM_TOLERANCE,
) -> RoiReconciliation:
    """Reconcile every campaign **with spend** (spend > 0; the others are not counted),
    sorted by key."""
    return RoiReconciliation(
        tuple(
            campaign_reconciliation(item, tolerance=tolerance, minimum=minimum)
            for item in sorted(campaigns, key=lambda item: item.key)
            if item.spend > 0
        )
    )


@dataclass(frozen=True, slots=True)
class UnmatchedCredit:
    """Attributed revenue a campaign gets from unmatched deals, and how many credit it."""

    revenue: Decimal
    deals: int


def unmatched_credit(
    touchpoints: Sequence[Touchpoint],
    conversions: Sequence[Conversion],
    *,
    model: str,
    lookback: timedelta,
    half_life: timedelta,
) -> dict[str, UnmatchedCredit]:
    """Per campaign: the attributed revenue it gets from ``conversions`` (the won deals not
    matched to ERP revenue) under ``model``, and how many of them credit it.

    Every model but markov credits each conversion from its own journey alone, so each
    unmatched conversion is attributed on its own: exactly its part of the campaign's
    attributed revenue. Markov credits from the removal effects of all journeys together, so
    no deal's share of a campaign is its own: there a campaign counts every unmatched deal
    whose journey it is in, with that deal's whole amount (an upper bound; the campaign is
    not reconciled either way).

    ``touchpoints`` need only be those of the conversions' contacts.
    """
    journeys = build_journeys(touchpoints, conversions, lookback=lookback)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    deals: dict[str, int] = defaultdict(int)
    for conversion, cents, eligible in journeys.attributed:
        if model == MARKOV:
            credited = {touchpoint.campaign: from_cents(cents) for touchpoint in eligible}
        else:
            one = build_journeys(list(eligible), [conversion], lookback=lookback)
            result = attribute(one, model=model, group_by=GROUP_BY_CAMPAIGN, half_life=half_life)
            credited = {row.key: row.revenue for row in result.groups if row.revenue > 0}
        for key, amount in credited.items():
            revenue[key] += amount
            deals[key] += 1
    return {key: UnmatchedCredit(revenue[key], deals[key]) for key in revenue}
