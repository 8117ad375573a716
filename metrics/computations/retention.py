"""Cohorts, retention and customer-success ROI (docs/metrics.md, "Cohorts and retention" and
"Customer-success ROI").

Built on :mod:`metrics.computations.subscriptions`: a cohort is the customers that are "new"
in a month, and every movement comes from :func:`~metrics.computations.subscriptions.mrr_month`.
``None`` = undefined.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from finhub.core.calendar import add_months, month_of, months_between
from finhub.core.money import from_cents
from metrics.computations.allocation import allocate_amount
from metrics.computations.coverage import percent_of
from metrics.computations.presentation import ratio
from metrics.computations.subscriptions import (
    MrrLedger,
    SubscriptionEvent,
    mrr_months,
)

ZERO = Decimal(0)
DEFAULT_BASELINE_MONTHS = 12
DEFAULT_VALUE_HORIZON_MONTHS = 12

NO_CS_COST = "no customer-success cost in the period"
BASELINE_NOT_IN_HISTORY = "baseline months not all in the history"
NO_BASELINE_MRR = "no MRR at the start of the baseline months"


# --- Cohorts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    """A cohort: the customers whose first month ending with MRR > 0 is ``cohort``.

    ``logo[k]`` and ``revenue[k]`` are the logo and revenue retention at the end of month
    ``cohort + k``, for k = 0 … the months up to the table's last month (``logo[0]`` and
    ``revenue[0]`` are 1). ``start_mrr`` is the members' MRR at the end of ``cohort``.
    """

    cohort: date
    members: frozenset[Hashable]
    start_mrr: Decimal
    logo: list[Decimal | None]
    revenue: list[Decimal | None]


def cohort_table(ledger: MrrLedger, last: date) -> list[CohortRow]:
    """Every cohort from the first month of the history to ``last``'s month, oldest first
    (months without new customers have no row).

    logo retention(c, k) = members with MRR > 0 at the end of c+k / members; revenue
    retention(c, k) = Σ members' MRR at the end of c+k / Σ members' MRR at the end of c. A
    member that churned and came back counts again, with its MRR then.
    """
    last = month_of(last)
    cohorts: dict[date, set[Hashable]] = defaultdict(set)
    for customer in ledger.customers:
        first = ledger.first_active_month(customer)
        if first is not None and first <= last:
            cohorts[first].add(customer)
    # Per month, each cohort's members with MRR > 0 at its end, counted and summed month to
    # month by the ledger (a member is in one cohort: the one of its first active month).
    by_month = {month: ledger.active_summary(month, by="cohort") for month in cohorts}
    rows = []
    for cohort in sorted(cohorts):
        members = cohorts[cohort]
        _count, start_mrr = by_month[cohort][cohort]
        if start_mrr is None:  # the sums could round: sum in the members' order
            return _cohort_table_summing(ledger, cohorts, last)
        logo: list[Decimal | None] = []
        revenue: list[Decimal | None] = []
        for month in months_between(cohort, last):
            if month not in by_month:
                by_month[month] = ledger.active_summary(month, by="cohort")
            count, total = by_month[month][cohort]
            if total is None:
                return _cohort_table_summing(ledger, cohorts, last)
            logo.append(ratio(count, len(members)))
            revenue.append(ratio(total, start_mrr))
        rows.append(CohortRow(cohort, frozenset(members), start_mrr, logo, revenue))
    return rows


def _cohort_table_summing(
    ledger: MrrLedger, cohorts: dict[date, set[Hashable]], last: date
) -> list[CohortRow]:
    """:func:`cohort_table` summing every member's MRR at every month end (when the summed
    MRR has more digits than the Decimal context's precision, so the order of the sums
    matters)."""
    rows = []
    for cohort in sorted(cohorts):
        members = cohorts[cohort]
        start = ledger.month_end_mrr(cohort)
        start_mrr = sum((start[customer] for customer in members), ZERO)
        logo: list[Decimal | None] = []
        revenue: list[Decimal | None] = []
        for month in months_between(cohort, last):
            now = ledger.month_end_mrr(month)
            values = [now.get(customer, ZERO) for customer in members]
            logo.append(ratio(sum(1 for value in values if value > 0), len(members)))
            revenue.append(ratio(sum((v for v in values if v > 0), ZERO), start_mrr))
        rows.append(CohortRow(cohort, frozenset(members), start_mrr, logo, revenue))
    return rows


# --- Customer-success ROI ----------------------------------------------------------------


class MrrMovements(Protocol):
    """What the CS ROI reads of a month's MRR movements: a
    :class:`~metrics.computations.subscriptions.MrrMonth`, or the same figures read back from
    a stored report."""

    @property
    def month(self) -> date: ...

    @property
    def start_mrr(self) -> Decimal: ...

    @property
    def churn(self) -> Decimal: ...

    @property
    def expansion(self) -> Decimal: ...

    @property
    def contraction(self) -> Decimal: ...


def baseline_months(period_first: date, count: int = DEFAULT_BASELINE_MONTHS) -> list[date]:
    """The default baseline: the ``count`` months before the period's first month."""
    first = month_of(period_first)
    return [add_months(first, -offset) for offset in range(count, 0, -1)]


def baseline_undefined_reason(months: Sequence[MrrMovements], history_first: date | None) -> str:
    """Why the baseline churn rate over ``months`` is undefined, or ``""`` when it is defined.

    The baseline months must be consecutive calendar months (a gap is a missing month), none
    before ``history_first`` (the first month of the subscription history; ``None``: there is
    no history), and their start MRR must not sum to 0.
    """
    if not months or history_first is None:
        return BASELINE_NOT_IN_HISTORY
    expected = list(months_between(months[0].month, months[-1].month))
    if [month.month for month in months] != expected or months[0].month < month_of(history_first):
        return BASELINE_NOT_IN_HISTORY
    if sum((month.start_mrr for month in months), ZERO) == 0:
        return NO_BASELINE_MRR
    return ""


def baseline_churn_rate(
    months: Sequence[MrrMovements], history_first: date | None
) -> Decimal | None:
    """Baseline MRR churn rate b = Σ churned MRR / Σ start MRR over the baseline ``months``;
    undefined (see :func:`baseline_undefined_reason`) when a baseline month precedes the
    history or is missing, or when their start MRR is 0."""
    if baseline_undefined_reason(months, history_first):
        return None
    return ratio(
        sum((month.churn for month in months), ZERO),
        sum((month.start_mrr for month in months), ZERO),
    )


@dataclass(frozen=True)
class CsRoi:
    """Customer-success ROI of a period (docs/metrics.md, "Customer-success ROI").

    ``churn_avoided_by_month`` is aligned with ``months`` (``None`` when the baseline is
    undefined); ``churn_avoided`` is their sum and is negative when churn was worse than the
    baseline. ``expansion``/``contraction``/``start_mrr`` are summed over the period's months.
    ``reason`` says why ``roi`` is undefined (``""`` when defined).
    """

    months: list[date]
    baseline_rate: Decimal | None
    churn_avoided_by_month: list[Decimal | None]
    start_mrr: Decimal
    expansion: Decimal
    contraction: Decimal
    churned: Decimal
    churn_avoided: Decimal | None
    retention_value: Decimal | None
    cs_cost: Decimal
    roi: Decimal | None
    reason: str


def cs_roi(
    *,
    period_months: Sequence[MrrMovements],
    baseline_rate: Decimal | None,
    cs_cost: Decimal,
    gross_margin: Decimal,
    value_horizon_months: int = DEFAULT_VALUE_HORIZON_MONTHS,
    baseline_reason: str = BASELINE_NOT_IN_HISTORY,
) -> CsRoi:
    """CS ROI = (retention value - CS cost) / CS cost.

    churn avoided_m = b * start MRR_m - churned MRR_m; retention value = Σ_m (expansion_m -
    contraction_m + churn avoided_m) * gross margin * value horizon (months). Undefined when
    the baseline rate b is undefined (``reason`` = ``baseline_reason``, from
    :func:`baseline_undefined_reason`) or the CS cost is 0 (:data:`NO_CS_COST`).
    """
    expansion = sum((month.expansion for month in period_months), ZERO)
    contraction = sum((month.contraction for month in period_months), ZERO)
    churned = sum((month.churn for month in period_months), ZERO)
    avoided_by_month: list[Decimal | None]
    if baseline_rate is None:
        avoided_by_month = [None] * len(period_months)
        avoided = value = roi = None
        reason = baseline_reason or BASELINE_NOT_IN_HISTORY
    else:
        avoided_by_month = [
            baseline_rate * month.start_mrr - month.churn for month in period_months
        ]
        avoided = sum((value for value in avoided_by_month if value is not None), ZERO)
        value = (
            (expansion - contraction + avoided)
            * Decimal(gross_margin)
            * Decimal(value_horizon_months)
        )
        roi = ratio(value - cs_cost, cs_cost)
        reason = "" if roi is not None else NO_CS_COST
    return CsRoi(
        months=[month.month for month in period_months],
        baseline_rate=baseline_rate,
        churn_avoided_by_month=avoided_by_month,
        start_mrr=sum((month.start_mrr for month in period_months), ZERO),
        expansion=expansion,
        contraction=contraction,
        churned=churned,
        churn_avoided=avoided,
        retention_value=value,
        cs_cost=Decimal(cs_cost),
        roi=roi,
        reason=reason,
    )


def cs_roi_for_ledger(
    *,
    ledger: MrrLedger,
    period_first: date,
    period_last: date,
    cs_cost: Decimal,
    gross_margin: Decimal,
    value_horizon_months: int = DEFAULT_VALUE_HORIZON_MONTHS,
    baseline: Sequence[date] | None = None,
    history_first: date | None = None,
) -> CsRoi:
    """:func:`cs_roi` of the months ``period_first``…``period_last`` of ``ledger``.

    ``baseline``: the baseline months (default :func:`baseline_months`, the 12 before the
    period). ``history_first``: the first month of the subscription history (default the
    ledger's; pass the whole company's for a segment's ledger, so a segment without customers
    in the baseline months gets "no MRR at the start" rather than "not in the history").
    """
    history = ledger.first_month if history_first is None else history_first
    chosen = baseline_months(period_first) if baseline is None else list(baseline)
    base = [mrr_months(ledger, month, month)[0] for month in chosen]
    return cs_roi(
        period_months=mrr_months(ledger, period_first, period_last),
        baseline_rate=baseline_churn_rate(base, history),
        cs_cost=cs_cost,
        gross_margin=gross_margin,
        value_horizon_months=value_horizon_months,
        baseline_reason=baseline_undefined_reason(base, history),
    )


def segment_ledgers(
    events: Iterable[SubscriptionEvent], segment_of: Mapping[Hashable, str]
) -> dict[str, MrrLedger]:
    """One :class:`MrrLedger` per customer segment (a customer missing from ``segment_of``
    is in the segment ``""``), so each segment has its own movements and baseline."""
    grouped: dict[str, list[SubscriptionEvent]] = defaultdict(list)
    for event in events:
        grouped[segment_of.get(event.customer_id, "")].append(event)
    return {segment: MrrLedger(grouped[segment]) for segment in sorted(grouped)}


def ledger_segments(ledger: MrrLedger, segment_of: Mapping[Hashable, str]) -> dict[str, MrrLedger]:
    """:func:`segment_ledgers` of the events ``ledger`` was made from, cut from ``ledger``
    (:meth:`MrrLedger.split`) rather than built again."""
    parts = ledger.split({customer: segment_of.get(customer, "") for customer in ledger.customers})
    return {segment: parts[segment] for segment in sorted(parts)}


def cs_cost_by_segment(
    cs_cost: Decimal, start_mrr_sum_by_segment: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """The CS cost allocated to segments in proportion to their start MRR summed over the
    period's months, in cents by largest remainder: the parts sum exactly to ``cs_cost``
    (rounded to cents). Empty when no segment has start MRR (nothing to be proportional to:
    the cost stays unallocated)."""
    weights = {
        segment: Fraction(Decimal(value))
        for segment, value in start_mrr_sum_by_segment.items()
        if value > 0
    }
    total = sum(weights.values(), Fraction(0))
    if total == 0:
        return {}
    parts = allocate_amount(
        Decimal(cs_cost), {segment: weight / total for segment, weight in weights.items()}
    )
    return {
        segment: parts.get(segment, from_cents(0)) for segment in sorted(start_mrr_sum_by_segment)
    }


def retention_roi_coverage(
    *,
    end_mrr_by_customer: Mapping[Hashable, Decimal],
    segment_of: Mapping[Hashable, str],
    segments_with_defined_roi: Collection[str],
) -> Decimal | None:
    """Retention ROI measurement coverage, in %: MRR at the period's end held by customers
    whose segment (``""`` when missing from ``segment_of``) has a defined CS ROI for the
    period / all MRR at its end; undefined when there is no MRR at the end."""
    covered = total = ZERO
    for customer, value in end_mrr_by_customer.items():
        if value <= 0:
            continue
        total += value
        if segment_of.get(customer, "") in segments_with_defined_roi:
            covered += value
    return percent_of(covered, total)
