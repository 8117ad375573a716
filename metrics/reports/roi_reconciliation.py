"""Campaign ROI reconciliation (docs/metrics.md, "Campaign ROI measurement capability"): for
the campaigns with spend in a period, whether their spend matches the GL lines tagged with
them and whether their attributed revenue comes from won deals matched to ERP revenue.

The spend and attributed revenue per campaign are the campaign ROI report's (a stored
snapshot: its ``rows``); this module reads only what that report does not have, set-based,
in a fixed number of queries whatever the number of campaigns or deals:

1. the GL lines tagged with a campaign in the period, Σ per campaign name, currency and day;
2. the FX rates of the period (one converter for the GL lines and the deals);
3. the won deals closed in the period, and their ERP revenue (one or two queries: see
   ``metrics.reports.erp``);
4. the touchpoints of the contacts of the won deals *not* matched to ERP revenue (none when
   every deal matches), to find which campaigns those deals credit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Sum

from finhub.core.money import Converter
from metrics import selectors
from metrics.computations.attribution import (
    DEFAULT_HALF_LIFE,
    DEFAULT_LOOKBACK,
    Conversion,
    Touchpoint,
)
from metrics.computations.roi_reconciliation import (
    CampaignInputs,
    RoiReconciliation,
    UnmatchedCredit,
    roi_reconciliation,
    unmatched_credit,
)
from metrics.computations.sales import DEFAULT_TOLERANCE
from metrics.reports.erp import erp_checks
from metrics.reports.numbers import to_number
from records import models as m

__all__ = ["campaign_roi_reconciliation", "campaign_roi_reconciliation_cached", "roi_rows_of"]

# Chunk of contact ids per touchpoint query (SQLite caps the parameters of one statement).
_CONTACTS_PER_QUERY = 20_000


def roi_rows_of(rows: Iterable[Mapping]) -> dict[str, tuple[Decimal, Decimal | None]]:
    """Campaign ROI report rows (stored JSON or the dashboard's rows as dicts) as
    ``{campaign: (spend, attributed revenue or None when not tracked)}``."""
    result = {}
    for row in rows:
        cost = to_number(row["cost"])
        revenue = to_number(row["revenue"])
        result[row["key"]] = (
            Decimal(cost or 0),
            None if revenue is None else Decimal(revenue),
        )
    return result


def _tagged_gl(
    *, start: dt.date, end: dt.date, convert: Converter
) -> dict[str, tuple[Decimal, int]]:
    """Σ GL lines tagged with each campaign (by name) in the period, in the reporting
    currency, and how many lines (served by the partial ``m_glline_campaign`` index)."""
    rows = (
        m.GLLine.objects.filter(
            campaign__isnull=False, posting_date__gte=start, posting_date__lte=end
        )
        .values("campaign__name", "currency_id", "posting_date")
        .annotate(total=Sum("amount"), lines=Count("id"))
        .order_by()
        .values_list("campaign__name", "currency_id", "posting_date", "total", "lines")
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    lines: dict[str, int] = defaultdict(int)
    for name, currency, day, total, count in rows:
        lines[name] += count
        value = convert(total, currency, day)
        if value is not None:
            totals[name] += value
    return {name: (totals[name], lines[name]) for name in lines}


def _touchpoints_of(contacts: set[int], *, low: dt.datetime, high: dt.datetime) -> list[Touchpoint]:
    """The contacts' touchpoints from ``low`` to ``high`` (exclusive), grouped by campaign
    name as the attribution report groups them."""
    ids = sorted(contacts)
    touchpoints = []
    for offset in range(0, len(ids), _CONTACTS_PER_QUERY):
        rows = (
            m.Touchpoint.objects.filter(
                contact_id__in=ids[offset : offset + _CONTACTS_PER_QUERY],
                occurred_at__gte=low,
                occurred_at__lt=high,
            )
            .order_by()
            .values_list("id", "contact_id", "occurred_at", "campaign__name")
        )
        touchpoints.extend(
            Touchpoint(pk, contact_id, occurred_at, "", campaign or selectors.NO_CAMPAIGN)
            for pk, contact_id, occurred_at, campaign in rows.iterator(chunk_size=20000)
        )
    return touchpoints


@dataclass(frozen=True)
class ReconciliationSources:
    """What the reconciliation reads for a period and model, whatever campaigns are shown:
    GL lines tagged per campaign ``(Σ, lines)`` and the credit of the unmatched deals."""

    gl: dict[str, tuple[Decimal, int]]
    credit: dict[str, UnmatchedCredit]


def reconciliation_sources(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    lookback_days: int = DEFAULT_LOOKBACK.days,
    half_life_days: str | Decimal = str(DEFAULT_HALF_LIFE.days),
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> ReconciliationSources:
    """Read the tagged GL lines and find the campaigns the unmatched won deals credit (see
    the module doc for the queries)."""
    convert = selectors.converter(start=start, end=end)
    gl = _tagged_gl(start=start, end=end, convert=convert)

    won = selectors.won_deals(start=start, end=end)
    values = {
        pk: convert(amount, currency, selectors.local_date(closed_at), deal=external_id)
        for pk, external_id, _contact, closed_at, amount, currency in won
    }
    checks = erp_checks(
        [(pk, amount, currency, values[pk]) for pk, _e, _c, _t, amount, currency in won],
        start=start,
        end=end,
        tolerance=tolerance,
    )
    # Won deals that count in attribution (a value, a contact) but are not matched: the
    # revenue they bring a campaign is not reconciled to the ERP.
    unmatched: list[Conversion] = []
    contacts: set[int] = set()
    for pk, _e, contact_id, closed_at, _a, _c in won:
        value = values[pk]
        if not checks[pk].ok and value is not None and contact_id is not None:
            unmatched.append(Conversion(pk, contact_id, closed_at, value))
            contacts.add(contact_id)
    credit: dict[str, UnmatchedCredit] = {}
    if unmatched:
        lookback = dt.timedelta(days=lookback_days)
        low, high = selectors.period_bounds(start, end)
        touchpoints = _touchpoints_of(contacts, low=low - lookback, high=high)
        credit = unmatched_credit(
            touchpoints,
            unmatched,
            model=model,
            lookback=lookback,
            half_life=dt.timedelta(days=float(Decimal(half_life_days))),
        )
    return ReconciliationSources(gl, credit)


def reconcile(
    sources: ReconciliationSources,
    roi_rows: Mapping[str, tuple[Decimal, Decimal | None]],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> RoiReconciliation:
    """Reconcile the campaigns of ``roi_rows`` against what was read."""
    inputs = []
    for key, (spend, revenue) in roi_rows.items():
        gl_cost, gl_lines = sources.gl.get(key, (Decimal(0), 0))
        from_unmatched = sources.credit.get(key)
        inputs.append(
            CampaignInputs(
                key=key,
                spend=spend,
                gl_cost=gl_cost,
                gl_lines=gl_lines,
                attributed_revenue=revenue,
                unmatched_revenue=from_unmatched.revenue if from_unmatched else Decimal(0),
                unmatched_deals=from_unmatched.deals if from_unmatched else 0,
            )
        )
    return roi_reconciliation(inputs, tolerance=tolerance)


def campaign_roi_reconciliation(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    roi_rows: Mapping[str, tuple[Decimal, Decimal | None]],
    lookback_days: int = DEFAULT_LOOKBACK.days,
    half_life_days: str | Decimal = str(DEFAULT_HALF_LIFE.days),
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> RoiReconciliation:
    """Reconcile the campaigns with spend of ``roi_rows`` (:func:`roi_rows_of` of the campaign
    ROI report of the same period, model, lookback and half-life) — see the module doc."""
    sources = reconciliation_sources(
        start=start,
        end=end,
        model=model,
        lookback_days=lookback_days,
        half_life_days=half_life_days,
        tolerance=tolerance,
    )
    return reconcile(sources, roi_rows, tolerance=tolerance)


#: How long a page may reuse what it read while no data was written (a safety net: any
#: write through ingestion changes the key).
CACHE_SECONDS = 6 * 3600


def campaign_roi_reconciliation_cached(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    roi_rows: Mapping[str, tuple[Decimal, Decimal | None]],
    computed_at: dt.datetime | None,
) -> RoiReconciliation:
    """:func:`campaign_roi_reconciliation` for a dashboard (default lookback and half-life,
    as its snapshots): what it reads is reused from the cache while nothing was written
    since — the key holds the latest ingest batch (every sync, push, import and admin edit
    records one) and when the page's snapshots were computed — so a page view, whatever its
    filters, costs one small query instead of reading the period's deals again."""
    # The newest batch through the primary key index (no scan of the batch history).
    latest = (
        m.IngestBatch.objects.filter(dry_run=False)
        .order_by("-id")
        .values_list("id", "started_at")
        .first()
    )
    marker = repr((start, end, model, computed_at, latest))
    key = "metrics:roi_reconciliation:" + hashlib.sha256(marker.encode()).hexdigest()
    sources = cache.get(key)
    if sources is None:
        sources = reconciliation_sources(start=start, end=end, model=model)
        cache.set(key, sources, CACHE_SECONDS)
    return reconcile(sources, roi_rows)
