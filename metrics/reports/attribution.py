"""Revenue attribution (docs/metrics.md, "Revenue attribution"): attributed conversions and
revenue per channel or campaign for the won deals closed in a period, under one model.

The inputs of a period (won deals, touchpoints, journeys) are read once into an
:class:`AttributionContext`; every model and grouping — and the campaign ROI report
(``metrics.reports.roi``) — is computed from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from finhub.core.money import MissingRate
from metrics import selectors
from metrics.computations.attribution import (
    MARKOV,
    AttributionResult,
    Journeys,
    attribute,
    build_journeys_from_columns,
)
from metrics.reports.numbers import num


@dataclass
class AttributionContext:
    """A period's conversions and touchpoints, read once, and their journeys."""

    start: dt.date
    end: dt.date
    lookback_days: int
    inputs: selectors.AttributionInputs
    journeys: Journeys
    _spend: tuple[dict[int, Decimal], Decimal, list[MissingRate]] | None = field(
        default=None, repr=False
    )

    @classmethod
    def read(
        cls,
        *,
        start: dt.date,
        end: dt.date,
        lookback_days: int,
        models: Collection[str] | None = None,
    ) -> AttributionContext:
        """Read the period's conversions and touchpoints and build the journeys.

        ``models``: the only models the context will serve (``None``: any). Without markov,
        whose chain pools the non-converting journeys, only the converting contacts'
        touchpoints are read (every other model credits a won deal from its own contact's
        touchpoints): the same reports from a fraction of the rows; markov then refuses."""
        lookback = dt.timedelta(days=lookback_days)
        converting_only = models is not None and MARKOV not in models
        inputs = selectors.attribution_inputs(
            start=start, end=end, lookback=lookback, converting_only=converting_only
        )
        low, high = selectors.period_bounds(start, end)
        journeys = build_journeys_from_columns(
            inputs.touchpoints,
            inputs.conversions,
            lookback=lookback,
            window=(low, high - dt.timedelta(microseconds=1)),
            group_keys=inputs.group_keys,
        )
        return cls(start, end, lookback_days, inputs, journeys)

    def attribute(self, *, model: str, group_by: str, half_life_days: str) -> AttributionResult:
        return attribute(
            self.journeys,
            model=model,
            group_by=group_by,
            half_life=dt.timedelta(days=float(Decimal(half_life_days))),
        )

    def spend(self) -> tuple[dict[int, Decimal], Decimal, list[MissingRate]]:
        """Campaign spend of the period (read once): by campaign id, unlinked, missing FX."""
        if self._spend is None:
            self._spend = selectors.spend_by_campaign(start=self.start, end=self.end)
        return self._spend


def attribution_report(
    context: AttributionContext, *, model: str, group_by: str, half_life_days: str
) -> dict:
    """Attributed conversions and revenue per group, the unattributed ones and the won deals
    left out for want of an FX rate."""
    result = context.attribute(model=model, group_by=group_by, half_life_days=half_life_days)
    return {
        "reporting_currency": selectors.reporting_currency(),
        "rows": [
            {"key": row.key, "conversions": num(row.conversions), "revenue": num(row.revenue)}
            for row in result.rows()
        ],
        "attributed_count": result.attributed_count,
        "attributed_revenue": num(result.attributed_revenue),
        "unattributed_count": result.unattributed_count,
        "unattributed_revenue": num(result.unattributed_revenue),
        "missing_fx": context.inputs.missing_fx,
    }
