"""Reconciliation: FinHub's figures for one source against the source's own control totals.

Per entity and month (of the entity's date field, UTC), the count of live records and the
sum of the amount field, compared with ``GET {base}/control-totals?resource=…``. A bucket
matches when both the count and the amount (to the cent) agree; a bucket only one side has
does not match. The run's ``reconciliation_matched_pct`` = matched buckets / all buckets x
100, rounded down to 2 places (so 100.00 means every bucket matched). It is the measured
"data synchronization accuracy" of the roadmap scorecard.

The sandbox mirrors ``RECONCILE_FIELDS`` to compute its totals: they are the contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Count, DateTimeField, Sum
from django.db.models.functions import TruncMonth

from connectors.models import Connector, ReconciliationResult, SyncRun
from connectors.selectors import percent_down
from finhub.core.money import CENT
from records.ingestion.entities import ENTITIES

from .errors import SourceError

# Canonical entity -> (date field, amount field), canonical names (None: none).
RECONCILE_FIELDS: dict[str, tuple[str | None, str | None]] = {
    "gl_lines": ("posting_date", "amount"),
    "invoices": ("issue_date", "amount"),
    "budget_lines": ("month", "amount"),
    "campaign_spend": ("date", "amount"),
    "touchpoints": ("occurred_at", None),
    "deals": ("created_at", "amount"),  # stored as Deal.opened_at
    "subscription_events": ("occurred_on", "mrr_after"),
    "initiative_costs": ("date", "amount"),
    "initiative_benefits": ("date", "amount"),
    "quotas": ("period_start", "amount"),
    "fx_rates": ("date", None),
}

Bucket = tuple[int, Decimal | None]  # (count, amount)


@dataclass(frozen=True)
class EntityReconciliation:
    entity: str
    results: list[ReconciliationResult]

    @property
    def matched(self) -> int:
        return sum(1 for r in self.results if r.matched)


def reconcile_fields(entity: str) -> tuple[str | None, str | None]:
    return RECONCILE_FIELDS.get(entity, (None, None))


def _attr(entity: str, name: str | None) -> str | None:
    """The model attribute of a canonical field (deals' created_at is opened_at)."""
    if name is None:
        return None
    return ENTITIES[entity].field_map[name].attr if name in ENTITIES[entity].field_map else name


def _cents(value, has_amount: bool) -> Decimal | None:
    if not has_amount:
        return None
    return Decimal(value or 0).quantize(CENT)


def _month(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return value.replace(day=1)


def finhub_totals(*, connector: Connector, entity: str) -> dict[dt.date | None, Bucket]:
    """Month -> (count, amount) of the connector's live records of ``entity``."""
    date_name, amount_name = reconcile_fields(entity)
    date_attr, amount_attr = _attr(entity, date_name), _attr(entity, amount_name)
    queryset = ENTITIES[entity].model.objects.filter(source=connector)
    aggregates = {"n": Count("pk")}
    if amount_attr:
        aggregates["amount"] = Sum(amount_attr)
    if date_attr is None:
        row = queryset.aggregate(**aggregates)
        return {None: (row["n"], _cents(row.get("amount"), bool(amount_attr)))}
    totals: dict[dt.date | None, Bucket] = {}
    is_datetime = isinstance(queryset.model._meta.get_field(date_attr), DateTimeField)
    month_of = TruncMonth(date_attr, tzinfo=dt.UTC) if is_datetime else TruncMonth(date_attr)
    rows = queryset.annotate(m=month_of).values("m").annotate(**aggregates).order_by("m")
    for row in rows:
        month = _month(row["m"])
        count, amount = totals.get(month, (0, _cents(0, bool(amount_attr))))
        add = _cents(row.get("amount"), bool(amount_attr))
        totals[month] = (count + row["n"], amount + add if amount is not None else None)
    return totals


def source_totals(*, entity: str, totals: list[dict]) -> dict[dt.date | None, Bucket]:
    """The source's control totals (``[{"month": "2025-01"|null, "count", "amount"}]``)."""
    _, amount_name = reconcile_fields(entity)
    parsed: dict[dt.date | None, Bucket] = {}
    for item in totals:
        raw_month, count, amount = item.get("month"), item.get("count"), item.get("amount")
        try:
            month = dt.date.fromisoformat(f"{raw_month[:7]}-01") if raw_month is not None else None
            count = int(count)
            value = _cents(Decimal(str(amount)) if amount is not None else None, bool(amount_name))
        except (TypeError, ValueError, InvalidOperation):
            raise SourceError(f"control totals of {entity}: unreadable bucket {item!r}.") from None
        old_count, old_amount = parsed.get(month, (0, _cents(0, bool(amount_name))))
        parsed[month] = (old_count + count, old_amount + value if old_amount is not None else None)
    return parsed


def reconcile_entity(
    *, run: SyncRun, connector: Connector, entity: str, control_totals: list[dict]
) -> EntityReconciliation:
    """Compare and store one ReconciliationResult per month bucket of ``entity``."""
    ours = finhub_totals(connector=connector, entity=entity)
    theirs = source_totals(entity=entity, totals=control_totals)
    # An empty FinHub side of an undated entity is a (0, 0) bucket: it matches "0 records".
    months = sorted(set(ours) | set(theirs), key=lambda m: (m is not None, m or dt.date.min))
    _, amount_name = reconcile_fields(entity)
    zero = (0, _cents(0, bool(amount_name)))
    results = []
    for month in months:
        source_count, source_amount = theirs.get(month, zero)
        finhub_count, finhub_amount = ours.get(month, zero)
        if month is not None and source_count == 0 and finhub_count == 0:
            continue
        results.append(
            ReconciliationResult(
                run=run,
                entity=entity,
                month=month,
                source_count=source_count,
                finhub_count=finhub_count,
                source_amount=source_amount,
                finhub_amount=finhub_amount,
                matched=source_count == finhub_count and source_amount == finhub_amount,
            )
        )
    ReconciliationResult.objects.bulk_create(results)
    return EntityReconciliation(entity=entity, results=results)


def matched_pct(reconciliations: list[EntityReconciliation]) -> Decimal | None:
    """Matched buckets / all buckets in percent, rounded down (None: no buckets)."""
    total = sum(len(r.results) for r in reconciliations)
    if total == 0:
        return None
    matched = sum(r.matched for r in reconciliations)
    return percent_down(matched, total)
